public import Foundation
import Postgres

extension PostgresJobStore {
    public func steps(_ jobID: UUID, reservationNumber: Int, plan: String) async throws -> [JobStep] {
        let rows = try await postgres.query(
            """
            SELECT s.step, s.level, s.step_index, s.content,
                   c.call_id, c.step AS call_step, c.step_index AS call_index, c.model, c.provider, c.attempt, c.status_code,
                   c.upstream_request_id, c.prompt_tokens, c.completion_tokens, c.cost_usd, c.latency_ms, c.created_at
            FROM job_steps s JOIN job_calls c ON c.call_id = s.call_id
            WHERE s.job_id = $1 AND s.reservation_number = $2 AND s.plan = $3
            ORDER BY s.step, s.level, s.step_index
            """,
            [.uuid(jobID), .int(reservationNumber), .text(plan)]
        )
        return try rows.map { row in
            JobStep(
                plan: plan,
                kind: JobStep.Kind(rawValue: try row.decode("step")) ?? .chunk,
                level: try row.decode("level"),
                index: try row.decode("step_index"),
                content: try row.decode("content"),
                call: JobCall(
                    callID: try row.decode("call_id"),
                    jobID: jobID,
                    step: try row.decode("call_step"),
                    stepIndex: try row.decode("call_index"),
                    model: try row.decode("model"),
                    provider: try row.decode("provider"),
                    attempt: try row.decode("attempt"),
                    statusCode: try row.decodeIfPresent("status_code"),
                    errorClass: nil,
                    error: nil,
                    upstreamRequestID: try row.decodeIfPresent("upstream_request_id"),
                    usage: TokenUsage(promptTokens: try row.decode("prompt_tokens"), completionTokens: try row.decode("completion_tokens")),
                    costUSD: try row.decode("cost_usd"),
                    latencyMS: try row.decode("latency_ms"),
                    createdAt: try row.decode("created_at")
                )
            )
        }
    }

    public func recordStep(_ step: JobStep, claim: Claim, reservationNumber: Int) async throws {
        try await postgres.withTransaction(kind: .step) { tx in
            try await Self.recordCalls([(step.call, claim.token)], tx)
            let live = try await tx.query(Self.countStepStatement(claim: claim, reservationNumber: reservationNumber))
            guard live.affectedRows == 1 else { return }
            try await tx.query(
                """
                INSERT INTO job_steps (job_id, reservation_number, plan, step, level, step_index, content, call_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
                """,
                [
                    .uuid(claim.jobID), .int(reservationNumber), .text(step.plan), .text(step.kind.rawValue), .int(step.level), .int(step.index),
                    .text(step.content.storable), .uuid(step.call.callID),
                ]
            )
        }
    }

    /// Counts one more call done for the job `claim` still holds (running, under the same
    /// reservation). The status is tested inside `CASE`: see ``PostgresJobStore``, "Jobs found by id".
    static func countStepStatement(claim: Claim, reservationNumber: Int) -> PostgresStatement {
        PostgresStatement(
            """
            UPDATE jobs SET calls_done = calls_done + 1, updated_at = now()
            WHERE job_id = $1 AND lease_token = $2 AND reservation_number = $3
              AND CASE WHEN status = 'in_progress' THEN true ELSE false END
            """,
            [.uuid(claim.jobID), .uuid(claim.token), .int(reservationNumber)]
        )
    }
}
