import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// A job store whose submits all end with the connection lost during `COMMIT`: PostgreSQL may or
/// may not have created the jobs. Everything else is the real store.
private struct CommitLostJobStore: JobStore {
    let base: PostgresJobStore

    func submit(_ submissions: [JobSubmission]) async throws -> [Result<SubmitOutcome, any Error>] {
        throw PostgresError.commitOutcomeUnknown("connection lost during COMMIT")
    }
    func submit(batch: JobBatch) async throws -> JobBatchOutcome {
        throw PostgresError.commitOutcomeUnknown("connection lost during COMMIT")
    }
    func markInProgress(_ claims: [Claim], workerID: String, lease: Duration) async throws -> ([ClaimedJob], MarkRejections) {
        try await base.markInProgress(claims, workerID: workerID, lease: lease)
    }
    func settle(_ settlements: [Settlement]) async throws -> [SettleResult] { try await base.settle(settlements) }
    func renewLeases(_ claims: [Claim], lease: Duration) async throws -> Set<UUID> { try await base.renewLeases(claims, lease: lease) }
    func steps(_ jobID: UUID, reservationNumber: Int, plan: String) async throws -> [JobStep] {
        try await base.steps(jobID, reservationNumber: reservationNumber, plan: plan)
    }
    func recordStep(_ step: JobStep, claim: Claim, reservationNumber: Int) async throws {
        try await base.recordStep(step, claim: claim, reservationNumber: reservationNumber)
    }
    func get(_ jobID: UUID) async throws -> Job? { try await base.get(jobID) }
    func list(teamID: String?, status: JobStatus?, limit: Int, after cursor: String?) async throws -> Page<Job> {
        try await base.list(teamID: teamID, status: status, limit: limit, after: cursor)
    }
    func calls(_ jobID: UUID) async throws -> [JobCall] { try await base.calls(jobID) }
    func cancel(_ jobID: UUID) async throws -> Job { try await base.cancel(jobID) }
    func retry(_ jobID: UUID) async throws -> (Job, QueuedJob) { try await base.retry(jobID) }
    func queueStats() async throws -> [TeamQueueStats] { try await base.queueStats() }
    func expireOverdue(limit: Int) async throws -> [UUID] { try await base.expireOverdue(limit: limit) }
    func recoverExpiredLeases(
        limit: Int,
        poisonAfter: Int,
        aliveWorkers: [String: Date]
    ) async throws -> (leases: [ExpiredLease], tally: SettlementTally) {
        try await base.recoverExpiredLeases(limit: limit, poisonAfter: poisonAfter, aliveWorkers: aliveWorkers)
    }
    func queuedJobs(after: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?) {
        try await base.queuedJobs(after: after, limit: limit)
    }
    func queuedJobs(changedSince: Date, before: Date, after: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?) {
        try await base.queuedJobs(changedSince: changedSince, before: before, after: after, limit: limit)
    }
    func databaseClock() async throws -> DatabaseClock { try await base.databaseClock() }
    func suspendedTeams() async throws -> [String] { try await base.suspendedTeams() }
    func queueStates(_ jobIDs: [UUID]) async throws -> [UUID: JobQueueState] { try await base.queueStates(jobIDs) }
    func withSweeperLock<T: Sendable>(_ body: () async throws -> T) async throws -> T? { try await base.withSweeperLock(body) }
}

@Suite("Submit: an unknown commit outcome")
struct SubmitUnknownOutcomeTests {
    @Test("is a 503 that says whether a retry is safe — never a 402, a 500 or a guess (API.md, Submitting work)")
    func unknownOutcome() async throws {
        try await TestApp.test(
            jobStore: { CommitLostJobStore(base: PostgresJobStore(postgres: $0)) },
            { client in
                let api = Caller(client: client)
                let group = try await api.createModelGroup()
                let team = try await api.createTeam(groups: [group], credits: 5)
                let body = #"{"team_id": "\#(team.id)", "job_type": "chat", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#
                let keyed = try await api.team(team.key, .post, "/api/jobs/create", body, headers: [.idempotencyKey: "retry-me"])
                #expect(keyed.status == .serviceUnavailable)
                #expect(keyed.detail == "The outcome of the request is unknown; retry with the same Idempotency-Key")
                let bare = try await api.team(team.key, .post, "/api/jobs/create", body)
                #expect(bare.status == .serviceUnavailable)
                #expect(bare.detail == APIError.submitOutcomeUnknown.detail)
                #expect(bare.detail?.contains("check the team's jobs") == true)
            }
        )
    }
}
