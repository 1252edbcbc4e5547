import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Testing

/// What ``UploadTests`` share: one mock, optionally one worker and the in-process API, stopped
/// when the test ends however it ends.
struct UploadStack: Sendable {
    let client: any TestClientProtocol
    let mock: MockUpstream
    let postgres: PostgresClient

    /// Starts a mock and a worker (`worker`: its extra environment; nil: no worker), serves the
    /// API (`api`: its extra configuration) and runs `body`; then stops them all.
    static func run(
        _ name: String,
        worker: [String: String]? = [:],
        api: [String: String] = [:],
        _ body: @escaping @Sendable (UploadStack, ManagedProcess?) async throws -> Void
    ) async throws {
        let mock = try await MockUpstream(name: "mock-\(name)")
        let postgres = E2E.postgres()
        var process: ManagedProcess?
        do {
            if let worker { process = try await ManagedProcess.worker("worker-\(name)", environment: worker) }
            let started = process
            try await E2E.withAPI(environment: api) { client in
                try await body(UploadStack(client: client, mock: mock, postgres: postgres), started)
            }
        } catch {
            await process?.stop()
            await mock.stop()
            postgres.shutdown()
            throw error
        }
        await process?.stop()
        await mock.stop()
        try await Fixture.checkLedger(postgres)
        postgres.shutdown()
    }
}

/// Uploading documents and reading what they left behind, for ``UploadTests``.
enum Upload {
    /// The `job` part of an upload: the submit's JSON fields for `team`, plus `extra`.
    static func jobJSON(_ team: TestTeam, _ extra: [String: Any] = [:]) throws -> String {
        var fields: [String: Any] = [
            "team_id": team.teamID, "job_type": "document_analysis", "model": team.group,
            "instructions": "List the key figures and risks.", "max_tokens": 200,
        ]
        fields.merge(extra) { $1 }
        return String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    /// `POST /api/jobs/create` with a multipart body of `job` (when given) and `file` (when given).
    static func submit(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        job: String?,
        file: [UInt8]?,
        fileName: String? = "document.bin",
        idempotencyKey: String? = nil
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        var body = MultipartBody()
        if let job { body.field("job", job) }
        if let file { body.file(fileName: fileName, file) }
        var headers: HTTPFields = [.authorization: "Bearer \(team.key)", .contentType: body.contentType]
        if let idempotencyKey { headers[Fixture.idempotency] = idempotencyKey }
        return try await client.execute(uri: "/api/jobs/create", method: .post, headers: headers, body: body.buffer) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    /// Uploads `file` as `team`'s document job (with `extra` job fields); expects a 202 and
    /// returns the job's id and the credits reserved.
    static func accepted(
        _ client: any TestClientProtocol,
        _ team: TestTeam,
        _ file: [UInt8],
        fileName: String,
        _ extra: [String: Any] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (jobID: String, reserved: Int) {
        let (status, body) = try await submit(client, team, job: try jobJSON(team, extra), file: file, fileName: fileName)
        #expect(status == .accepted, "upload of \(fileName): \(status) \(body)", sourceLocation: sourceLocation)
        let jobID = try #require(body["job_id"] as? String, sourceLocation: sourceLocation)
        return (jobID, body["credits_reserved"] as? Int ?? -1)
    }

    /// Waits until the job is terminal. One that does not end in time is ended by hand before
    /// the timeout is thrown (``endUnfinished(_:_:)``): the failure is the test's, not the next
    /// test's.
    static func finish(
        _ stack: UploadStack,
        _ team: TestTeam,
        _ jobID: String,
        timeout: Duration = .seconds(20)
    ) async throws -> [String: Any] {
        do {
            return try await Fixture.waitForTerminal(stack.client, team, jobID, timeout: timeout)
        } catch {
            try await endUnfinished(stack.postgres, jobID)
            throw error
        }
    }

    /// Fails a job that did not finish, its reservation given back to the team as an adjustment
    /// (the ledger still adds up). A job the service cannot settle — its settlement refused by
    /// PostgreSQL every time — would otherwise stay live in the shared database, and the sweeper,
    /// failing on it each second, would recover no lease for the tests that follow.
    static func endUnfinished(_ postgres: PostgresClient, _ jobID: String) async throws {
        try await postgres.withTransaction { tx in
            let binds: [PostgresBind] = [.text(jobID)]
            guard
                let job = try await tx.query(
                    "SELECT team_id, credits_reserved FROM jobs WHERE job_id = $1::uuid AND completed_at IS NULL FOR UPDATE",
                    binds
                ).first
            else { return }
            let teamID: String = try job.decode("team_id")
            let reserved: Int = try job.decode("credits_reserved")
            let remaining = try await tx.query(
                """
                UPDATE credit_accounts SET credits_reserved = credits_reserved - $2 WHERE team_id = $1
                RETURNING credits_allocated - credits_used - credits_reserved AS n
                """,
                [.text(teamID), .int(reserved)]
            ).first!.decode("n", as: Int.self)
            try await tx.query(
                """
                INSERT INTO credit_ledger (transaction_id, team_id, transaction_type, credits_amount, credits_after, reason)
                VALUES (gen_random_uuid(), $1, 'adjustment', $2, $3, 'e2e: a job that did not finish, ended by its test')
                """,
                [.text(teamID), .int(reserved), .int(remaining)]
            )
            try await tx.query(
                """
                UPDATE jobs SET status = 'failed', error_code = 'invalid_request', error_message = 'ended by its test',
                    completed_at = now(), lease_token = NULL, lease_expires_at = NULL, updated_at = now()
                WHERE job_id = $1::uuid
                """,
                binds
            )
        }
    }

    static func delete(_ client: any TestClientProtocol, _ team: TestTeam, _ jobID: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "/api/jobs/\(jobID)", method: .delete, headers: [.authorization: "Bearer \(team.key)"]) { response in
            (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
        }
    }

    static func balance(_ client: any TestClientProtocol, _ team: TestTeam) async throws -> [String: Any] {
        try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance").1
    }

    /// The calls of a job, as its team reads them.
    static func calls(_ client: any TestClientProtocol, _ team: TestTeam, _ jobID: String) async throws -> [[String: Any]] {
        try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls").1["calls"] as? [[String: Any]] ?? []
    }

    /// The extracted text's pages (`GET /api/jobs/{id}/document`), joined.
    static func documentText(_ document: [String: Any]) -> String {
        ((document["pages"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }.joined(separator: "\n")
    }

    static func count(_ postgres: PostgresClient, _ sql: String, _ binds: [PostgresBind] = []) async throws -> Int {
        try await postgres.query(sql, binds).first!.decode("n", as: Int.self)
    }

    /// What PostgreSQL holds of a job's document: its `documents` row, parts and extracted text.
    static func storedRows(_ postgres: PostgresClient, _ jobID: String) async throws -> (documents: Int, parts: Int, texts: Int) {
        let binds: [PostgresBind] = [.text(jobID)]
        return (
            try await count(postgres, "SELECT count(*) AS n FROM documents WHERE document_id = $1::uuid", binds),
            try await count(postgres, "SELECT count(*) AS n FROM document_parts WHERE document_id = $1::uuid", binds),
            try await count(postgres, "SELECT count(*) AS n FROM document_texts WHERE job_id = $1::uuid", binds)
        )
    }

    /// A job's ledger rows, oldest first.
    static func ledger(_ postgres: PostgresClient, _ jobID: String) async throws -> [(type: String, amount: Int)] {
        try await postgres.query(
            "SELECT transaction_type, credits_amount FROM credit_ledger WHERE job_id = $1::uuid ORDER BY sequence",
            [.text(jobID)]
        ).map { (try $0.decode("transaction_type", as: String.self), try $0.decode("credits_amount", as: Int.self)) }
    }

    /// Polls `condition` every 50 ms until it holds, or throws after `timeout`.
    static func waitUntil(
        _ what: String,
        timeout: Duration = .seconds(20),
        _ condition: @Sendable () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw HarnessError.timeout(what) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A fresh directory for a test's scripts and files.
    static func temporaryDirectory(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Writes an executable shell script.
    static func script(_ directory: URL, _ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url.path
    }

    /// The pids of live processes whose command line holds `marker` (from /proc).
    static func processes(containing marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return line.contains(marker) ? pid : nil
        }
    }
}

/// Documents the upload tests send, with words each one's extracted text must hold.
enum UploadDocuments {
    /// A page of `lines` lines of about 76 bytes, each naming its page (pdftotext keeps them).
    static func page(_ number: Int, lines: Int) -> String {
        (1...lines).map { "Page \(number) line \($0) records figure \(number)-\($0) for the annual review. " }.joined(separator: "\n")
    }

    static let html = Array(
        """
        <!DOCTYPE html><html><head><title>Report</title></head>
        <body><h1>Quarterly report</h1><p>The harbour expansion in Rotterdam finished early.</p></body></html>
        """.utf8
    )
    static let markdown = Array("# Quarterly notes\n\n- Lighthouse repairs cost forty thousand.\n- The fjord survey is late.\n".utf8)
    static let text = Array("Plain notes about the zeppelin hangar.\nA second line about quokka sightings.\n".utf8)
    /// A PNG's signature and the start of its header chunk: an image, not a document.
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8) + [UInt8](repeating: 7, count: 64)
}
