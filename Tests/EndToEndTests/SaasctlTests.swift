import Foundation
import HummingbirdTesting
import Testing

/// The built `saasctl` binary against the real API, worker and mock: what an operator and a
/// script see — output, exit codes, files.
extension EndToEnd {
    @Test("saasctl: create an org and a team (key printed once), add credits, --json parses, exit codes 1/3/4, submit a directory")
    func saasctlAdministers() async throws {
        let mock = try await MockUpstream(name: "mock-saasctl")
        let worker = try await ManagedProcess.worker("worker-saasctl")
        let documents = try SaasctlRun.temporaryDirectory("saasctl-docs")
        defer {
            try? FileManager.default.removeItem(at: documents)
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        try await E2E.withAPI { client in
            let ctl = SaasctlRun(url: "http://127.0.0.1:\(try #require(client.port))")
            let org = Fixture.unique("org")
            let provider = Fixture.unique("prov")
            let group = Fixture.unique("grp")
            let team = Fixture.unique("team")

            var run = try await ctl(["orgs", "create", org, "--name", "CLI Org"])
            #expect(run.status == 0, "\(run)")
            run = try await ctl(
                ["providers", "create", provider, "--kind", "openai", "--base-url", mock.baseURL, "--api-key-env", "E2E_PROVIDER_KEY"],
                environment: ["E2E_PROVIDER_KEY": "sk-mock-provider-key"]
            )
            #expect(run.status == 0, "\(run)")
            #expect(!run.stdout.contains("sk-mock-provider-key"))
            run = try await ctl(["model-groups", "create", group, "--model", "mock-model:\(provider):0"])
            #expect(run.status == 0, "\(run)")

            // The team's key: printed once, last, after the team; never again.
            run = try await ctl(["teams", "create", team, "--org", org, "--model-group", group, "--credits", "10"])
            #expect(run.status == 0, "\(run)")
            let key = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
            #expect(key.hasPrefix("sk-") && key.count >= 35, "\(run)")
            #expect(run.stdout.components(separatedBy: key).count == 2, "the key is printed exactly once")
            #expect(run.stdout.contains("shown this once"))
            run = try await ctl(["teams", "show", team])
            #expect(run.status == 0 && run.stdout.contains(team) && !run.stdout.contains(key))
            run = try await ctl(["teams", "show", team, "--json"])
            #expect(!run.stdout.contains(key))

            run = try await ctl(["credits", "add", team, "--credits", "5", "--reason", "cli top-up"])
            #expect(run.status == 0, "\(run)")
            run = try await ctl(["credits", "balance", team, "--json"])
            #expect(run.status == 0)
            let balance = try run.json()
            #expect(balance["credits_allocated"] as? Int == 15)
            #expect(balance["credits_remaining"] as? Int == 15)
            run = try await ctl(["credits", "transactions", team, "--json", "--all"])
            #expect((try run.json()["transactions"] as? [Any])?.count == 2)

            run = try await ctl(["teams", "list", "--json", "--limit", "5"])
            #expect(run.status == 0)
            #expect(try run.json()["teams"] is [Any])
            run = try await ctl(["orgs", "list"])
            #expect(run.status == 0 && run.stdout.hasPrefix("ORGANIZATION"))

            // Refusals (exit 1, the API's detail on stderr), authentication (4), no API (3).
            run = try await ctl(["teams", "show", "no-such-team-\(team)"])
            #expect(run.status == 1)
            #expect(run.stderr.contains("Team 'no-such-team-\(team)' not found"), "\(run)")
            run = try await ctl(["orgs", "create", org, "--name", "again"])
            #expect(run.status == 1 && run.stderr.contains("Organization with ID '\(org)' already exists"))
            run = try await ctl(["teams", "list"], environment: ["SAAS_ADMIN_KEY": "sk-wrong-admin-key-0000000000000000"])
            #expect(run.status == 4)
            #expect(run.stderr.contains("Invalid admin API key"))
            #expect(!run.stderr.contains("sk-wrong-admin-key"))
            run = try await ctl(["teams", "list"], environment: ["SAAS_ADMIN_KEY": ""])
            #expect(run.status == 4)
            run = try await SaasctlRun(url: "http://127.0.0.1:1")(["teams", "list"])
            #expect(run.status == 3)
            #expect(run.stderr.contains("cannot reach the API"))
            run = try await ctl(["jobs", "list", "--limit", "500"])
            #expect(run.status == 2)

            // submit: three small files → three completed jobs, their answers beside them.
            for index in 1...3 {
                try Data("Report \(index): revenue grew \(index * 3) percent; the main risk is churn.".utf8)
                    .write(to: documents.appendingPathComponent("report-\(index).txt"))
            }
            try Data("not a document".utf8).write(to: documents.appendingPathComponent(".hidden"))
            run = try await ctl(
                ["submit", documents.path, "--model", group, "--instructions", "List the key figures.", "--json"],
                environment: ["SAAS_TEAM_KEY": key],
                timeout: .seconds(90)
            )
            #expect(run.status == 0, "\(run)")
            let files = try run.json()["files"] as? [[String: Any]] ?? []
            #expect(files.count == 3)
            var jobIDs: Set<String> = []
            for index in 1...3 {
                let result = documents.appendingPathComponent("report-\(index).txt.result.json")
                let job = try JSONSerialization.jsonObject(with: Data(contentsOf: result)) as? [String: Any] ?? [:]
                #expect(job["status"] as? String == "completed", "\(job)")
                #expect(job["team_id"] as? String == team)
                #expect((job["result"] as? [String: Any])?["content"] is String)
                if let id = job["job_id"] as? String { jobIDs.insert(id) }
            }
            #expect(jobIDs.count == 3)
            #expect(!FileManager.default.fileExists(atPath: documents.appendingPathComponent(".hidden.result.json").path))

            // Run again: the Idempotency-Keys give back the same jobs; nothing is charged twice.
            run = try await ctl(
                ["submit", documents.path, "--model", group, "--instructions", "List the key figures.", "--json"],
                environment: ["SAAS_TEAM_KEY": key]
            )
            #expect(run.status == 0, "\(run)")
            let again = Set((try run.json()["files"] as? [[String: Any]] ?? []).compactMap { $0["job_id"] as? String })
            #expect(again == jobIDs)

            run = try await ctl(["jobs", "list", "--team", team, "--json"])
            #expect(run.status == 0)
            let listed = (try run.json()["jobs"] as? [[String: Any]] ?? []).compactMap { $0["job_id"] as? String }
            #expect(Set(listed) == jobIDs)
            run = try await ctl(["jobs", "show", try #require(listed.first)])
            #expect(run.status == 0 && run.stdout.contains("calls (1):"), "\(run)")
            run = try await ctl(["credits", "balance", team, "--json"])
            #expect(try run.json()["credits_used"] as? Int == 3)

            run = try await ctl(["queue", "--json"])
            #expect(run.status == 0)
            #expect(try run.json()["totals"] is [String: Any])
            run = try await ctl(["workers", "list", "--json"])
            #expect(run.status == 0)
            #expect(try (run.json()["workers"] as? [[String: Any]] ?? []).contains { $0["pid"] as? Int == Int(worker.pid) })

            // A key with a control character (a CRLF file's `\r`) is a usage error naming its
            // source, never its value (the HTTP client's own error would carry the key).
            run = try await ctl(["teams", "list"], environment: ["SAAS_ADMIN_KEY": E2E.adminKey + "\r"])
            #expect(run.status == 2, "\(run)")
            #expect(run.stderr.contains("SAAS_ADMIN_KEY"))
            #expect(!run.stderr.contains(E2E.adminKey) && !run.stdout.contains(E2E.adminKey))

            // A 403 that refuses one request (another team's id) is exit 1; only a suspended
            // team's 403 is about the key: exit 4.
            let foreign = try SaasctlRun.temporaryDirectory("saasctl-foreign")
            defer { try? FileManager.default.removeItem(at: foreign) }
            try Data("Report: revenue grew 3 percent.".utf8).write(to: foreign.appendingPathComponent("r.txt"))
            run = try await ctl(["submit", foreign.path, "--model", group, "--team", "not-\(team)"], environment: ["SAAS_TEAM_KEY": key])
            #expect(run.status == 1, "\(run)")
            let refusal = try Data(contentsOf: foreign.appendingPathComponent("r.txt.result.json"))
            #expect(String(decoding: refusal, as: UTF8.self).contains("does not belong to team"), "\(run)")
            run = try await ctl(["teams", "suspend", team])
            #expect(run.status == 0, "\(run)")
            run = try await ctl(["submit", foreign.path, "--model", group, "--team", team], environment: ["SAAS_TEAM_KEY": key])
            #expect(run.status == 4, "\(run)")
            #expect(run.stdout.contains("suspended") || run.stderr.contains("suspended"), "\(run)")
        }
    }

    @Test("saasctl: workers drain --wait returns once the worker has exited")
    func saasctlDrainWaits() async throws {
        let worker = try await ManagedProcess.worker("worker-saasctl-drain")
        defer { Task { await worker.stop() } }
        try await E2E.withAPI { client in
            let ctl = SaasctlRun(url: "http://127.0.0.1:\(try #require(client.port))")
            let id = try await SaasctlRun.workerID(ctl, pid: worker.pid)
            let run = try await ctl(["workers", "drain", id, "--wait", "--timeout", "30"], timeout: .seconds(45))
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("has exited"))
            #expect(run.stderr.contains("in flight"), "progress lines when stderr is not a terminal")
            #expect(await worker.waitForExit(timeout: .seconds(10)))
            let missing = try await ctl(["workers", "drain", "no-such-worker"])
            #expect(missing.status == 1 && missing.stderr.contains("Worker 'no-such-worker' not found"), "\(missing)")
        }
    }

    @Test("saasctl: queue pause/resume and workers concurrency")
    func saasctlRuntimeControl() async throws {
        let worker = try await ManagedProcess.worker("worker-saasctl-control", concurrency: 4)
        defer { Task { await worker.stop() } }
        try await E2E.withAPI { client in
            let ctl = SaasctlRun(url: "http://127.0.0.1:\(try #require(client.port))")
            var run: SaasctlRun.Outcome
            do {
                run = try await ctl(["queue", "pause", "--json"])
                #expect(run.status == 0, "\(run)")
                #expect(try run.json()["paused"] as? Bool == true)
                run = try await ctl(["queue"])
                #expect(run.stdout.contains("claiming: PAUSED"), "\(run)")
            } catch {
                // A fleet left paused would stall every test after this one.
                _ = try? await ctl(["queue", "resume"])
                throw error
            }
            run = try await ctl(["queue", "resume", "--json"])
            #expect(run.status == 0)
            #expect(try run.json()["paused"] as? Bool == false)
            run = try await ctl(["queue"])
            #expect(run.stdout.contains("claiming: running"), "\(run)")

            let id = try await SaasctlRun.workerID(ctl, pid: worker.pid)
            run = try await ctl(["workers", "concurrency", id, "7", "--json"])
            #expect(run.status == 0, "\(run)")
            #expect(try run.json()["worker_id"] as? String == id)
            let deadline = ContinuousClock.now + .seconds(10)
            var seen = 0
            while ContinuousClock.now < deadline {
                run = try await ctl(["workers", "list", "--json"])
                let workers = try run.json()["workers"] as? [[String: Any]] ?? []
                seen = workers.first { $0["worker_id"] as? String == id }?["concurrency"] as? Int ?? 0
                if seen == 7 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(seen == 7, "the worker's heartbeat shows its new concurrency")
            run = try await ctl(["workers", "concurrency", "no-such-worker", "3"])
            #expect(run.status == 1, "\(run)")
        }
    }
}

/// One run of the built `saasctl` binary, with the admin key and a home of its own (so no
/// operator's config file is read); its output goes through files, so a large one cannot block it.
struct SaasctlRun: CustomStringConvertible {
    let url: String

    struct Outcome: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String

        func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] ?? [:]
        }

        var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    var description: String { "saasctl at \(url)" }

    func callAsFunction(_ arguments: [String], environment extra: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> Outcome {
        let scratch = try Self.temporaryDirectory("saasctl-run")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("stdout")
        let err = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = E2E.binDirectory.appendingPathComponent("saasctl")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SAAS") && $0.key != "XDG_CONFIG_HOME" }
        environment["HOME"] = scratch.path
        environment["SAASCTL_URL"] = url
        environment["SAAS_ADMIN_KEY"] = E2E.adminKey
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw HarnessError.timeout("saasctl \(arguments.joined(separator: " ")) did not finish")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Outcome(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self)
        )
    }

    /// The id of the live worker with this pid, once its heartbeat shows it.
    static func workerID(_ ctl: SaasctlRun, pid: Int32) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let run = try await ctl(["workers", "list", "--json"])
            let workers = try run.json()["workers"] as? [[String: Any]] ?? []
            if let id = workers.first(where: { $0["pid"] as? Int == Int(pid) })?["worker_id"] as? String { return id }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError.timeout("worker \(pid) never showed up")
    }

    static func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
