import HTTPTypes

extension HTTPField.Name {
    /// On a stream's answer: the job it belongs to, and the call (for `llm-call-stream`), so a
    /// client can resume it with `GET /api/jobs/{job_id}[/calls/{call_id}]/stream`.
    static let jobID = HTTPField.Name("X-Job-Id")!
    static let callID = HTTPField.Name("X-Call-Id")!
}
