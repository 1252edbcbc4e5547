import Foundation
import NIOCore

/// What became of one file.
struct FileOutcome: Sendable {
    var file: URL
    var jobID: String?
    /// The job's terminal status, `refused` (the submit was refused) or `unfinished`.
    var status: String
    /// Why it did not complete, when it did not.
    var detail: String?
    /// The exit code this file asks for (``ExitStatus/ok`` when its job completed).
    var exit: ExitStatus
    var resultWritten: Bool
}

/// One file through the API: uploaded as a `document_analysis` job under its derived
/// Idempotency-Key, long-polled until terminal, its answer written beside it. Transient trouble
/// (unreachable, 5xx, 429) is retried — safe, as the key makes a second submit the first one —
/// until the run's deadline.
struct DocumentSubmitter: Sendable {
    static let terminal: Set<String> = ["completed", "failed", "cancelled", "expired"]
    /// The largest file read into memory and uploaded.
    static let maxFileBytes = 64 << 20
    /// Seconds a long poll asks the API to wait (it clamps at 60).
    static let pollWait = 20

    let client: APIClient
    let teamID: String
    let model: String
    let instructions: String?
    let deadline: ContinuousClock.Instant
    /// What the files in flight may hold in memory together; shared by every file this submitter
    /// runs (it is a reference).
    var budget = ByteBudget()

    /// The `job` part of every upload.
    var jobFields: JSONValue {
        var fields: [String: JSONValue] = ["team_id": .string(teamID), "job_type": "document_analysis", "model": .string(model)]
        if let instructions { fields["instructions"] = .string(instructions) }
        return .object(fields)
    }

    /// The bytes one submit holds while its body is built and sent: the file, its copy in the
    /// multipart body, and the body's part headers.
    static func heldBytes(forFileOf size: Int) -> Int {
        2 * size + (64 << 10)
    }

    /// How a submit ended: with the job the API accepted, or already with the file's outcome.
    private enum Submitted {
        case accepted(JSONValue, jobID: String)
        case ended(FileOutcome)
    }

    func run(_ file: URL) async -> FileOutcome {
        let accepted: JSONValue
        let jobID: String
        switch await submitWithinBudget(file) {
        case .ended(let outcome): return outcome
        case .accepted(let json, let id): (accepted, jobID) = (json, id)
        }

        // Poll until the job is terminal.
        var job = accepted
        while !Self.terminal.contains(job[path: "status"]?.stringValue ?? "") {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .seconds(1) else {
                return FileOutcome(
                    file: file,
                    jobID: jobID,
                    status: "unfinished",
                    detail: "not finished before --timeout",
                    exit: .unavailable,
                    resultWritten: false
                )
            }
            let wait = min(Self.pollWait, Int(remaining.components.seconds))
            switch await retrying({ () async throws(CommandFailure) in
                try await client.send(
                    .GET,
                    "/api/jobs/\(BaseURL.encode(jobID))",
                    query: [("wait", String(wait))],
                    as: .team,
                    timeout: .seconds(wait) + client.settings.requestTimeout
                )
            }) {
            case .failure(let failure):
                return unreachable(file, jobID: jobID, failure)
            case .success(let answer):
                do {
                    job = try APIClient.checked(answer)
                } catch {
                    return FileOutcome(
                        file: file,
                        jobID: jobID,
                        status: "unfinished",
                        detail: error.message,
                        exit: error.status,
                        resultWritten: false
                    )
                }
            }
        }
        let status = job[path: "status"]?.stringValue ?? "?"
        let detail = status == "completed" ? nil : (job[path: "error.message"]?.stringValue ?? status)
        return write(
            job,
            for: file,
            outcome: FileOutcome(
                file: file,
                jobID: jobID,
                status: status,
                detail: detail,
                exit: status == "completed" ? .ok : .refused,
                resultWritten: false
            )
        )
    }

    /// The file read, sent and answered while its bytes are reserved in ``budget``: its size is
    /// known (and refused past ``maxFileBytes``) before anything is read, and the reservation is
    /// given back as soon as the submit has an answer, before the long wait for the job.
    private func submitWithinBudget(_ file: URL) async -> Submitted {
        let opened: FileHandle
        let size: Int
        do {
            (opened, size) = try Self.open(file)
        } catch {
            return .ended(record(file, jobID: nil, status: "refused", detail: "\(error)", exit: .refused))
        }
        defer { try? opened.close() }
        let charged: Int
        do {
            charged = try await budget.reserve(Self.heldBytes(forFileOf: size))
        } catch {
            return .ended(unreachable(file, jobID: nil, .unavailable("cancelled before it was sent")))
        }
        defer { budget.release(charged) }
        let bytes: Data
        do {
            bytes = try Self.read(opened, size: size)
        } catch {
            return .ended(record(file, jobID: nil, status: "refused", detail: "\(error)", exit: .refused))
        }
        let key = IdempotencyKey.derive(path: file.standardizedFileURL.path, content: bytes, job: jobFields)
        var form = MultipartForm()
        form.field("job", contentType: "application/json", jobFields.compact)
        form.file("file", fileName: file.lastPathComponent, bytes)
        let body = form.finished()

        // Submit, retrying what may pass.
        switch await retrying({ () async throws(CommandFailure) in
            try await client.send(.POST, "/api/jobs/create", body: (form.contentType, body), headers: [("Idempotency-Key", key)], as: .team)
        }) {
        case .failure(let failure):
            return .ended(unreachable(file, jobID: nil, failure))
        case .success(let answer):
            if let status = answer.exitStatus {
                return .ended(record(file, jobID: nil, status: "refused", detail: answer.detail, exit: status, httpStatus: answer.status))
            }
            guard let json = answer.json else { return .ended(unreachable(file, jobID: nil, .unavailable("the API's answer is not JSON"))) }
            guard let jobID = json[path: "job_id"]?.stringValue else {
                return .ended(unreachable(file, jobID: nil, .unavailable("the API's answer has no job_id")))
            }
            return .accepted(json, jobID: jobID)
        }
    }

    /// Opens a file and tells its size, refusing one past ``maxFileBytes`` or empty before any
    /// of it is read.
    static func open(_ file: URL) throws -> (FileHandle, Int) {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw CommandFailure(.refused, "cannot read the file") }
        do {
            let size = Int(try handle.seekToEnd())
            try handle.seek(toOffset: 0)
            guard size <= maxFileBytes else { throw CommandFailure(.refused, "larger than \(maxFileBytes >> 20) MiB; not sent") }
            guard size > 0 else { throw CommandFailure(.refused, "empty; not sent") }
            return (handle, size)
        } catch {
            try? handle.close()
            throw error
        }
    }

    /// Reads an opened file whole: exactly the `size` bytes reserved for it. A file that grew or
    /// shrank since it was opened is being written; it is not sent half-way.
    static func read(_ handle: FileHandle, size: Int) throws -> Data {
        let data = try handle.read(upToCount: size + 1) ?? Data()
        guard data.count == size else { throw CommandFailure(.refused, "changed while it was read; not sent (run again)") }
        return data
    }

    /// Runs `attempt` until it gives an answer that is not worth retrying (anything but a 429 or
    /// 5xx), or until the deadline; transport failures are retried the same way.
    private func retrying(_ attempt: () async throws(CommandFailure) -> APIClient.Answer) async -> Result<APIClient.Answer, CommandFailure> {
        var delay = 1
        while true {
            let outcome: Result<APIClient.Answer, CommandFailure>
            do {
                outcome = .success(try await attempt())
            } catch {
                outcome = .failure(error)
            }
            let pause: Int
            switch outcome {
            case .success(let answer) where answer.status == 429 || answer.status >= 500:
                pause = answer.retryAfter ?? delay
            case .failure(let failure) where failure.status == .unavailable:
                pause = delay
            default:
                return outcome
            }
            guard ContinuousClock.now + .seconds(pause) < deadline, !Task.isCancelled else { return outcome }
            try? await Task.sleep(for: .seconds(max(pause, 1)))
            delay = min(delay * 2, 30)
        }
    }

    private func unreachable(_ file: URL, jobID: String?, _ failure: CommandFailure) -> FileOutcome {
        FileOutcome(file: file, jobID: jobID, status: "unfinished", detail: failure.message, exit: failure.status, resultWritten: false)
    }

    /// A refusal, written as the file's result.
    private func record(_ file: URL, jobID: String?, status: String, detail: String, exit: ExitStatus, httpStatus: Int? = nil) -> FileOutcome {
        var error: [String: JSONValue] = ["code": "submit_refused", "message": .string(detail)]
        if let httpStatus { error["http_status"] = .integer(httpStatus) }
        let value = JSONValue.object(["file": .string(file.lastPathComponent), "status": .string(status), "error": .object(error)])
        return write(
            value,
            for: file,
            outcome: FileOutcome(file: file, jobID: jobID, status: status, detail: detail, exit: exit, resultWritten: false)
        )
    }

    private func write(_ value: JSONValue, for file: URL, outcome: FileOutcome) -> FileOutcome {
        var outcome = outcome
        do {
            try SubmitFiles.writeResult(value, for: file)
            outcome.resultWritten = true
        } catch {
            outcome.detail = [outcome.detail, "result not written: \(error)"].compactMap { $0 }.joined(separator: "; ")
            if outcome.exit == .ok { outcome.exit = .unavailable }
        }
        return outcome
    }
}
