import ArgumentParser
import Foundation

/// `saasctl submit DIR --model G`: one `document_analysis` job per file of a directory, with
/// the team key.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Analyse every file of a directory: one document job each, results written beside them.",
        discussion: """
            Uses the team key (SAAS_TEAM_KEY or `team_key`). Each regular file of DIR (not its \
            subdirectories, not hidden files, not *.result.json) is uploaded as a document_analysis \
            job with an Idempotency-Key derived from its path, its content and the job fields, so \
            running the command again does not submit a file twice. When a job ends, its answer \
            (or the refusal of its submit) is written to <file>.result.json. Exit 1 when any job \
            failed or was refused, 3 when some did not finish before --timeout (run it again to \
            pick them up).
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The directory of documents.") var directory: String
    @Option(help: "The model group to run on.") var model: String
    @Option(help: "The team (default: the team key's).") var team: String?
    @Option(help: "What to ask of each document.") var instructions: String?
    @Option(help: "Files in flight at once (1–64); the documents being uploaded share 256 MiB of memory.") var concurrency: Int = 4
    @Option(help: "The most seconds to wait for all jobs (1–86400).") var timeout: Int = 3600

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 86400 seconds") }
    }

    func run() async throws {
        let settings = try connection.resolve()
        _ = try settings.requireTeamKey()
        let files = try SubmitFiles.select(in: URL(fileURLWithPath: directory, isDirectory: true))
        guard !files.isEmpty else { throw CommandFailure.usage("no files to submit in \(directory)") }
        let deadline = ContinuousClock.now + .seconds(timeout)
        let outcomes = try await APIClient.with(settings) { client in
            let teamID: String
            if let team {
                teamID = team
            } else {
                let me = try await client.call(.GET, "/api/me", as: .team)
                guard let id = me[path: "team_id"]?.stringValue else { throw CommandFailure.unavailable("GET /api/me has no team_id") }
                teamID = id
            }
            let submitter = DocumentSubmitter(client: client, teamID: teamID, model: model, instructions: instructions, deadline: deadline)
            return await Self.runAll(files, submitter: submitter, concurrency: concurrency)
        }
        report(outcomes)
        let worst = outcomes.map(\.exit).max { Self.severity($0) < Self.severity($1) } ?? .ok
        if worst != .ok { throw ExitCode(worst.rawValue) }
    }

    /// Which exit code wins when files differ: auth, then unavailable, then refused.
    static func severity(_ status: ExitStatus) -> Int {
        switch status {
        case .ok: 0
        case .refused: 1
        case .usage: 2
        case .unavailable: 3
        case .authFailed: 4
        }
    }

    /// Every file through `submitter`, `concurrency` at a time, with a progress bar.
    static func runAll(_ files: [URL], submitter: DocumentSubmitter, concurrency: Int) async -> [FileOutcome] {
        var bar = ProgressBar()
        var outcomes: [FileOutcome?] = Array(repeating: nil, count: files.count)
        var done = 0
        var failed = 0
        bar.update(done: 0, total: files.count, note: "failed 0", plain: "submitting \(files.count) files")
        await withTaskGroup(of: (Int, FileOutcome).self) { group in
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask { (index, await submitter.run(files[index])) }
            }
            while next < min(concurrency, files.count) { start() }
            for await (index, outcome) in group {
                outcomes[index] = outcome
                done += 1
                if outcome.exit != .ok { failed += 1 }
                let name = Sanitized.text(outcome.file.lastPathComponent, maxWidth: 60)
                bar.update(
                    done: done,
                    total: files.count,
                    note: "failed \(failed)",
                    plain: "\(done)/\(files.count) \(name): \(outcome.status)"
                        + (outcome.detail.map { " (\(Sanitized.text($0, maxWidth: 120)))" } ?? "")
                )
                if next < files.count { start() }
            }
        }
        bar.finish()
        return outcomes.compactMap { $0 }
    }

    func report(_ outcomes: [FileOutcome]) {
        if output.json {
            let rows = outcomes.map { outcome in
                JSONValue.object([
                    "file": .string(outcome.file.path), "job_id": outcome.jobID.map { .string($0) } ?? .null,
                    "status": .string(outcome.status), "detail": outcome.detail.map { .string($0) } ?? .null,
                    "result_file": outcome.resultWritten ? .string(SubmitFiles.resultURL(for: outcome.file).path) : .null,
                ])
            }
            return Terminal.out(JSONValue.object(["files": .array(rows)]).pretty)
        }
        let rows = outcomes.map { outcome in
            [
                outcome.file.lastPathComponent, outcome.jobID ?? "-", outcome.status,
                outcome.detail ?? (outcome.resultWritten ? SubmitFiles.resultURL(for: outcome.file).lastPathComponent : "-"),
            ]
        }
        Terminal.out(
            Table(
                [Table.Column("file"), Table.Column("job", maxWidth: 36), Table.Column("status"), Table.Column("result", maxWidth: 60)],
                rows: rows
            ).render()
        )
    }
}
