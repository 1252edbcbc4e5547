import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Knobs of the hostile run, from the environment, so that a failure it finds can be narrowed down
/// (`HOSTILE_KINDS=retry_after_1e308 HOSTILE_JOBS=50`) and replayed (`HOSTILE_SEED`).
struct HostileRunSettings: Sendable {
    var seed: UInt64 = 42
    /// Kind names of the mock's catalogue; empty for all of them.
    var kinds: [String] = []
    var jobs = 2000
    /// One job in `documentEvery` is a small document (map/reduce over a few chunks).
    var documentEvery = 20
    /// Every job expires this long after its submission: a job the workers cannot finish still ends.
    var expiresInSeconds = 60
    var workerLogLevel = "debug"

    static func fromEnvironment() -> HostileRunSettings {
        let environment = ProcessInfo.processInfo.environment
        var settings = HostileRunSettings()
        if let seed = environment["HOSTILE_SEED"].flatMap(UInt64.init) { settings.seed = seed }
        if let kinds = environment["HOSTILE_KINDS"], !kinds.isEmpty {
            settings.kinds = kinds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let jobs = environment["HOSTILE_JOBS"].flatMap(Int.init), jobs > 0 { settings.jobs = jobs }
        if let level = environment["HOSTILE_WORKER_LOG_LEVEL"], !level.isEmpty { settings.workerLogLevel = level }
        return settings
    }

    /// The kinds after which a client honouring the upstream (with the wait clamped, to 10 minutes
    /// say) does not call it again within this run: `Retry-After` of `1e308`, `inf`, 20 digits or
    /// the year 9999, and rate-limit headers saying nothing is left for hours.
    static let longWaitKinds = [
        "retry_after_1e308", "retry_after_inf", "retry_after_20_digits", "retry_after_year_9999", "retry_after_ms_1e308",
        "unavailable_503_retry_after_1e308", "ratelimit_reset_99999999h", "ratelimit_reset_overflow", "anthropic_ratelimit_year_9999",
    ]

    /// The `PUT /_mock/behaviour` body; `steady` leaves out the long waits (unless nothing else is left).
    func behaviour(steady: Bool) -> String {
        let kindList = self.kinds.isEmpty ? "" : #","kinds":[\#(self.kinds.map { "\"\($0)\"" }.joined(separator: ","))]"#
        let keepsSome = self.kinds.isEmpty || self.kinds.contains { !Self.longWaitKinds.contains($0) }
        let exclude = steady && keepsSome ? #","exclude":[\#(Self.longWaitKinds.map { "\"\($0)\"" }.joined(separator: ","))]"# : ""
        return #"{"hostile":{"seed":\#(self.seed)\#(kindList)\#(exclude)}}"#
    }
}

/// The two workers of the run, watched: a worker that exits is recorded (with the end of its log)
/// and replaced, so that one crash does not hide what the rest of the catalogue does.
actor HostileWorkers {
    struct Exit: Sendable {
        var name: String
        var status: Int32
        var signalled: Bool
        /// The log lines that say why (Swift's `Fatal error:`, a stack), else its last lines.
        var lastWords: [String]
    }

    private let environment: [String: String]
    private let concurrency: Int
    private let maximumRestarts: Int
    private var slots: [(base: String, process: ManagedProcess, generation: Int)] = []
    private(set) var exits: [Exit] = []
    /// Every worker started, restarted ones included: the logs to read.
    private(set) var names: [String] = []

    init(environment: [String: String], concurrency: Int, maximumRestarts: Int = 20) {
        self.environment = environment
        self.concurrency = concurrency
        self.maximumRestarts = maximumRestarts
    }

    func start(_ bases: [String]) async throws {
        for base in bases {
            let process = try await ManagedProcess.worker(base, concurrency: self.concurrency, environment: self.environment)
            self.slots.append((base, process, 0))
            self.names.append(base)
        }
    }

    /// Records the workers that exited since the last look, and starts replacements.
    func check() async {
        for index in self.slots.indices where !self.slots[index].process.isRunning {
            let (base, process, generation) = self.slots[index]
            self.exits.append(
                Exit(
                    name: process.name,
                    status: process.process.terminationStatus,
                    signalled: process.process.terminationReason == .uncaughtSignal,
                    lastWords: HostileLogs.lastWords(of: process.name)
                )
            )
            guard self.exits.count <= self.maximumRestarts else { continue }
            let name = "\(base)-r\(generation + 1)"
            guard let replacement = try? await ManagedProcess.worker(name, concurrency: self.concurrency, environment: self.environment) else {
                continue
            }
            self.slots[index] = (base, replacement, generation + 1)
            self.names.append(name)
        }
    }

    func stopAll() async {
        for slot in self.slots { await slot.process.stop(grace: .seconds(5)) }
    }
}

/// The logs `ManagedProcess` writes, `.data/test-logs/<name>.log` under the working directory.
enum HostileLogs {
    static func url(_ name: String) -> URL {
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".data/test-logs/\(name).log")
    }

    static func lines(of name: String) -> [String] {
        guard let data = try? Data(contentsOf: url(name)) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    static func lastWords(of name: String) -> [String] {
        let lines = lines(of: name)
        let fatal = lines.filter { $0.contains("Fatal error") || $0.contains("Crash") || $0.contains("fatal") || $0.hasPrefix("#") }
        return Array((fatal.isEmpty ? lines.suffix(5) : fatal.prefix(12)).map { String($0.prefix(400)) })
    }

    /// `hostile_kind=…` and `request_id=req_…` of the mock's `hostile answer` lines.
    static func kindsByRequestID(mockLog name: String) -> [String: String] {
        var kinds: [String: String] = [:]
        for line in lines(of: name) where line.contains("hostile answer") {
            guard let kind = value(of: "hostile_kind", in: line), let requestID = value(of: "request_id", in: line) else { continue }
            kinds[requestID] = kind
        }
        return kinds
    }

    private static func value(of key: String, in line: String) -> String? {
        guard let range = line.range(of: key + "=") else { return nil }
        return String(line[range.upperBound...].prefix { !$0.isWhitespace })
    }
}

extension EndToEnd {
    /// Two hostile upstreams, both given the distinctive provider key: one answers from the whole
    /// catalogue, one from all of it but the long waits. An upstream that once says "come back in
    /// 1e308 seconds" is (rightly) not called again within the run, so the first one shows what the
    /// long waits do to the jobs behind them, and the second gives every other kind volume.
    @Test("a hostile upstream: 2,000 jobs, two workers; no worker exits, every job ends, the ledger holds, no key leaks, no redirect followed")
    func hostileUpstream() async throws {
        let settings = HostileRunSettings.fromEnvironment()
        let started = ContinuousClock.now
        let whole = try await MockUpstream(name: "mock-hostile-whole")
        let steady = try await MockUpstream(name: "mock-hostile-steady")
        defer {
            Task {
                await whole.stop()
                await steady.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        let providerKey = "sk-hostile-SECRET-\(UUID().uuidString)"
        // what must never reach a tenant or a log: the provider key, and the key-shaped text of 401 bodies
        let secrets = [providerKey, "sk-proj-"]

        let workers = HostileWorkers(
            environment: ["LOG_LEVEL": settings.workerLogLevel, "MAX_ATTEMPTS": "3", "DOCUMENT_CONCURRENCY": "4"],
            concurrency: 48
        )
        try await E2E.withAPI { client in
            let teams = [
                try await hostileTeam(client, mock: whole, providerKey: providerKey, order: ["openai", "anthropic"]),
                try await hostileTeam(client, mock: steady, providerKey: providerKey, order: ["anthropic", "openai"]),
            ]
            try await whole.behave(settings.behaviour(steady: false))
            try await steady.behave(settings.behaviour(steady: true))

            // Submit, 100 at a time, alternating teams; every job expires a minute after its submit.
            // The workers start once all are queued: on two cores they would slow the submits down,
            // and every job's minute would then be spent in part before any worker could take it.
            var submitted: [(team: TestTeam, jobID: String)] = []
            var submitStatuses: [Int: Int] = [:]
            let document = Self.document(kilobytes: 6)
            for batchStart in stride(from: 0, to: settings.jobs, by: 100) {
                let batch = try await withThrowingTaskGroup(of: (TestTeam, Int, String?).self) { group in
                    for index in batchStart..<min(batchStart + 100, settings.jobs) {
                        let team = teams[index % teams.count]
                        group.addTask {
                            let (status, body) =
                                (index / 2) % settings.documentEvery == 0
                                ? try await hostileDocumentJob(client, team, document, expiresIn: settings.expiresInSeconds)
                                : try await hostileChatJob(client, team, index: index, expiresIn: settings.expiresInSeconds)
                            return (team, status.code, body["job_id"] as? String)
                        }
                    }
                    return try await group.reduce(into: [(TestTeam, Int, String?)]()) { $0.append($1) }
                }
                for (team, status, jobID) in batch {
                    submitStatuses[status, default: 0] += 1
                    if let jobID { submitted.append((team, jobID)) }
                }
            }
            let submittedAt = ContinuousClock.now
            print("hostile run: \(submitted.count) jobs submitted in \(submittedAt - started) \(submitStatuses)")
            try await workers.start(["worker-hostile-1", "worker-hostile-2"])
            let watch = Task {
                while !Task.isCancelled {
                    await workers.check()
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }

            // Wait until every job is terminal: expiry (a minute) plus sweeps and settlement bound it.
            let teamIDs = teams.map(\.teamID)
            var byStatus: [String: Int] = [:]
            let deadline = submittedAt + .seconds(settings.expiresInSeconds + 30)
            var lastReport = ContinuousClock.now
            while ContinuousClock.now < deadline {
                byStatus = try await hostileStatuses(postgres, teamIDs)
                if Self.liveStatuses.allSatisfy({ byStatus[$0, default: 0] == 0 }) { break }
                if ContinuousClock.now - lastReport > .seconds(10) {
                    print("hostile run: \(ContinuousClock.now - submittedAt) after submitting: \(byStatus.sorted { $0.key < $1.key })")
                    lastReport = ContinuousClock.now
                }
                try await Task.sleep(for: .seconds(1))
            }
            let ended = ContinuousClock.now
            watch.cancel()
            await workers.check()
            let exits = await workers.exits
            await workers.stopAll()

            // What the run did, before judging it: every figure is printed even when a check fails.
            let wholeStats = try await whole.stats()
            let steadyStats = try await steady.stats()
            let wholeKinds = (wholeStats["hostile"] as? [String: Int]) ?? [:]
            let steadyKinds = (steadyStats["hostile"] as? [String: Int]) ?? [:]
            let redirectHits = (wholeStats["redirect_target_hits"] as? Int ?? -1) + (steadyStats["redirect_target_hits"] as? Int ?? -1)
            let leaks = try await hostileTenantLeaks(client, postgres, submitted, teams: teams, secrets: secrets)
            print("hostile run: tenant-readable fields read in \(ContinuousClock.now - ended)")
            let workerNames = await workers.names
            let logLeaks = workerNames.flatMap { name in
                HostileLogs.lines(of: name).filter { line in secrets.contains { line.contains($0) } }.map { "\(name): \($0.prefix(300))" }
            }
            let outcomes = try await hostileOutcomesByKind(postgres, teamIDs, mockLogs: ["mock-hostile-whole", "mock-hostile-steady"])
            let settlementFailures = workerNames.flatMap(HostileLogs.lines(of:)).filter {
                $0.contains("settlement failed") || $0.contains("settlement abandoned")
            }
            var perTeam: [String] = []
            for (label, team) in zip(["whole", "steady"], teams) {
                let statuses = try await hostileStatuses(postgres, [team.teamID]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                let codes = try await hostileErrorCodes(postgres, [team.teamID]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                // jobs that ended without one recorded call: waiting on a cooled-down provider or an open circuit
                let uncalled = try await count(
                    postgres,
                    """
                    SELECT count(*) AS n FROM jobs j WHERE j.team_id = $1
                    AND NOT EXISTS (SELECT 1 FROM job_calls c WHERE c.job_id = j.job_id)
                    """,
                    [.text(team.teamID)]
                )
                perTeam.append("\(label): [\(statuses.joined(separator: " "))] errors [\(codes.joined(separator: " "))] without_a_call=\(uncalled)")
            }

            print(
                """
                HOSTILE SUMMARY seed=\(settings.seed) jobs=\(submitted.count) submit=\(submitStatuses) wall=\(ended - started) \
                final=\(byStatus.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) \
                worker_exits=\(exits.count) redirect_target_hits=\(redirectHits) tenant_leaks=\(leaks.count) log_leaks=\(logLeaks.count) \
                settlement_failure_lines=\(settlementFailures.count) \
                upstream_calls=whole:\(wholeKinds.values.reduce(0, +)),steady:\(steadyKinds.values.reduce(0, +))
                HOSTILE TEAMS \(perTeam.joined(separator: " | "))
                HOSTILE KINDS whole: \(wholeKinds.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                HOSTILE KINDS steady: \(steadyKinds.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                """
            )
            print("HOSTILE OUTCOMES BY KIND (recorded calls: error_class/status × count)")
            for (kind, line) in outcomes.sorted(by: { $0.key < $1.key }) { print("  \(kind): \(line)") }
            for exit in exits {
                print("HOSTILE WORKER EXIT \(exit.name) status=\(exit.status) signalled=\(exit.signalled)")
                for line in exit.lastWords { print("    \(line)") }
            }
            for line in Set(settlementFailures.map { Self.redacted(String($0.suffix(260)), secrets) }).sorted().prefix(10) {
                print("HOSTILE SETTLEMENT \(line)")
            }
            for leak in leaks.prefix(10) { print("HOSTILE TENANT LEAK \(Self.redacted(leak, secrets))") }
            for leak in logLeaks.prefix(10) { print("HOSTILE LOG LEAK \(Self.redacted(leak, secrets))") }

            #expect(submitStatuses.keys.allSatisfy { $0 == 202 }, "every submit is accepted: \(submitStatuses)")
            #expect(exits.isEmpty, "workers exited: \(exits.map { "\($0.name) (\($0.status)): \($0.lastWords.first ?? "")" })")
            let live = Self.liveStatuses.reduce(0) { $0 + byStatus[$1, default: 0] }
            #expect(live == 0, "jobs not terminal \(settings.expiresInSeconds + 30) s after the last submit: \(byStatus)")
            #expect(leaks.isEmpty, "a key reached a tenant-readable field (\(leaks.count) times)")
            #expect(logLeaks.isEmpty, "a key reached a worker log line (\(logLeaks.count) times)")
            #expect(redirectHits == 0, "a worker followed a redirect")
        }
        await workers.stopAll()
        try await Fixture.checkLedger(postgres)
    }

    static let liveStatuses = ["pending", "queued", "in_progress", "cancelling"]

    /// `text` with every secret replaced, for printing what leaked without leaking it again.
    static func redacted(_ text: String, _ secrets: [String]) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<\($1.hasPrefix("sk-hostile") ? "PROVIDER-KEY" : $1)>") }
    }

    /// A team whose model group has one model per dialect on `mock` (in `order` of priority), both
    /// providers holding the distinctive key.
    func hostileTeam(_ client: any TestClientProtocol, mock: MockUpstream, providerKey: String, order: [String]) async throws -> TestTeam {
        let org = Fixture.unique("org")
        let group = Fixture.unique("grp")
        let teamID = Fixture.unique("team")
        _ = try await Fixture.adminCall(client, .post, "/api/organizations/create", #"{"organization_id":"\#(org)","name":"Hostile"}"#)
        var models: [String] = []
        for (priority, kind) in order.enumerated() {
            let provider = Fixture.unique("hostile-\(kind)")
            let (status, _) = try await Fixture.adminCall(
                client,
                .post,
                "/api/providers/create",
                #"{"name":"\#(provider)","kind":"\#(kind)","base_url":"\#(mock.baseURL)","api_key":"\#(providerKey)","timeout_seconds":5}"#
            )
            #expect(status == .ok)
            models.append(
                #"{"model_name":"hostile-\#(kind)","provider":"\#(provider)","priority":\#(priority),"input_price_per_million":1,"output_price_per_million":2,"context_tokens":2000}"#
            )
        }
        let (created, _) = try await Fixture.adminCall(
            client,
            .post,
            "/api/model-groups/create",
            #"{"group_name":"\#(group)","models":[\#(models.joined(separator: ","))]}"#
        )
        #expect(created == .ok)
        let (status, body) = try await Fixture.adminCall(
            client,
            .post,
            "/api/teams/create",
            #"{"organization_id":"\#(org)","team_id":"\#(teamID)","model_groups":["\#(group)"],"credits_allocated":1000000}"#
        )
        #expect(status == .ok)
        return TestTeam(teamID: teamID, key: body["virtual_key"] as? String ?? "", group: group)
    }

    func hostileChatJob(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        index: Int,
        expiresIn: Int
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        let tools =
            index % 10 == 3
            ? #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#
            : ""
        return try await Fixture.submit(
            client,
            team,
            content: "Hostile job \(index): summarise the quarter.",
            extra: #","max_tokens":64,"expires_in_seconds":\#(expiresIn)\#(tools)"#
        )
    }

    func hostileDocumentJob(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ document: String,
        expiresIn: Int
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        let body: [String: Any] = [
            "team_id": team.teamID, "job_type": "document_analysis", "model": team.group, "document": document,
            "instructions": "List the key figures and risks.", "max_tokens": 200, "expires_in_seconds": expiresIn,
        ]
        let json = try JSONSerialization.data(withJSONObject: body)
        return try await client.execute(
            uri: "/api/jobs/create",
            method: .post,
            headers: [.authorization: "Bearer \(team.key)"],
            body: ByteBuffer(bytes: json)
        ) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    func hostileStatuses(_ postgres: PostgresClient, _ teamIDs: [String]) async throws -> [String: Int] {
        let rows = try await postgres.query(
            "SELECT status, count(*) AS n FROM jobs WHERE team_id = ANY($1::text[]) GROUP BY status",
            [.textArray(teamIDs)]
        )
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode("status", as: String.self)] = try row.decode("n", as: Int.self) }
        return counts
    }

    func hostileErrorCodes(_ postgres: PostgresClient, _ teamIDs: [String]) async throws -> [String: Int] {
        let rows = try await postgres.query(
            """
            SELECT status || ':' || COALESCE(error_code, '-') AS code, count(*) AS n FROM jobs
            WHERE team_id = ANY($1::text[]) AND status IN ('failed', 'expired', 'cancelled') GROUP BY 1
            """,
            [.textArray(teamIDs)]
        )
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode("code", as: String.self)] = try row.decode("n", as: Int.self) }
        return counts
    }

    /// Every recorded call of the run, traced to the kind of answer it got (the mock logs each
    /// kind with the request id the worker records), as `error_class/status × count` per kind.
    func hostileOutcomesByKind(_ postgres: PostgresClient, _ teamIDs: [String], mockLogs: [String]) async throws -> [String: String] {
        let kinds = mockLogs.reduce(into: [String: String]()) { $0.merge(HostileLogs.kindsByRequestID(mockLog: $1)) { $1 } }
        let rows = try await postgres.query(
            """
            SELECT c.upstream_request_id AS rid, COALESCE(c.error_class, 'ok') AS class, COALESCE(c.status_code, 0) AS code
            FROM job_calls c JOIN jobs j ON j.job_id = c.job_id WHERE j.team_id = ANY($1::text[])
            """,
            [.textArray(teamIDs)]
        )
        var outcomes: [String: [String: Int]] = [:]
        for row in rows {
            let requestID = try? row.decode("rid", as: String.self)
            let kind = requestID.flatMap { kinds[$0] } ?? "(no request id)"
            let outcome = "\(try row.decode("class", as: String.self))/\(try row.decode("code", as: Int.self))"
            outcomes[kind, default: [:]][outcome, default: 0] += 1
        }
        return outcomes.mapValues { $0.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ") }
    }

    /// Reads everything a team can read about its jobs — each job, its calls, the team's job list —
    /// and returns where a secret showed up.
    func hostileTenantLeaks(
        _ client: any TestClientProtocol,
        _ postgres: PostgresClient,
        _ jobs: [(team: TestTeam, jobID: String)],
        teams: [TestTeam],
        secrets: [String]
    ) async throws -> [String] {
        // Only a job that reached an upstream can hold upstream text: those are read one by one (the
        // job and its calls); every job's fields are read in the team's job list.
        let called = Set(
            try await postgres.query(
                "SELECT DISTINCT c.job_id::text AS id FROM job_calls c JOIN jobs j ON j.job_id = c.job_id WHERE j.team_id = ANY($1::text[])",
                [.textArray(teams.map(\.teamID))]
            ).map { try $0.decode("id", as: String.self) }
        )
        // The test client has one connection: over several, the reads take half the time.
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        @Sendable func read(_ team: TestTeam, _ uri: String) async throws -> String {
            guard let port = client.port, let url = URL(string: "http://127.0.0.1:\(port)\(uri)") else {
                return try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(team.key)"]) { String(buffer: $0.body) }
            }
            var request = URLRequest(url: url)
            request.setValue("Bearer \(team.key)", forHTTPHeaderField: "Authorization")
            let (data, response) = try await session.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(uri)")
            return String(decoding: data, as: UTF8.self)
        }
        @Sendable func leaks(in text: String, at uri: String) -> [String] {
            var found: [String] = []
            for secret in secrets {
                guard let range = text.range(of: secret) else { continue }
                let start = text.index(range.lowerBound, offsetBy: -80, limitedBy: text.startIndex) ?? text.startIndex
                found.append("\(uri): …\(text[start..<range.upperBound])")
            }
            return found
        }
        var found: [String] = []
        let reached = jobs.filter { called.contains($0.jobID.lowercased()) }
        for batchStart in stride(from: 0, to: reached.count, by: 64) {
            let batch = reached[batchStart..<min(batchStart + 64, reached.count)]
            let batchLeaks = try await withThrowingTaskGroup(of: [String].self) { group in
                for (team, jobID) in batch {
                    group.addTask {
                        var leaked: [String] = []
                        for uri in ["/api/jobs/\(jobID)", "/api/jobs/\(jobID)/calls"] {
                            leaked += leaks(in: try await read(team, uri), at: uri)
                        }
                        return leaked
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            found += batchLeaks
        }
        for team in teams {
            var cursor: String?
            var listed = 0
            repeat {
                let uri =
                    "/api/teams/\(team.teamID)/jobs?limit=100"
                    + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? "")
                let text = try await read(team, uri)
                found += leaks(in: text, at: uri)
                let page = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                cursor = page?["next_cursor"] as? String
                listed += (page?["jobs"] as? [Any])?.count ?? 0
            } while cursor != nil
            let expected = jobs.filter { $0.team.teamID == team.teamID }.count
            #expect(listed == expected, "the team's job list showed \(listed) of its \(expected) jobs: the scan missed some")
        }
        return found
    }
}
