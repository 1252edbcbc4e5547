import Foundation
import Testing

@testable import Shared

/// The settlement's money decisions, without a database: which deliveries still hold their jobs,
/// each job's final state, `min(actual, reserved)`, the release, billed calls and the ledger.
@Suite("Settlement plan")
struct SettlementPlanTests {
    static let answer = JSONValue.object(["content": .string("ok")])
    static let usage = TokenUsage(promptTokens: 30, completionTokens: 12)

    static func held(_ claim: Claim, team: String = "a", status: JobStatus = .inProgress, reserved: Int, number: Int = 1) -> SettlementPlan.HeldJob {
        SettlementPlan.HeldJob(
            jobID: claim.jobID,
            teamID: team,
            status: status,
            leaseToken: claim.token,
            creditsReserved: reserved,
            reservationNumber: number
        )
    }

    static func call(_ jobID: UUID) -> JobCall {
        JobCall(
            jobID: jobID,
            model: "m",
            provider: "p",
            attempt: 1,
            statusCode: 200,
            errorClass: nil,
            error: nil,
            upstreamRequestID: nil,
            usage: usage,
            costUSD: Decimal(string: "0.01")!,
            latencyMS: 5
        )
    }

    static func settlement(_ claim: Claim, _ outcome: Settlement.Outcome, reached: Bool = true, calls: Int = 1) -> Settlement {
        Settlement(claim: claim, outcome: outcome, calls: (0..<calls).map { _ in call(claim.jobID) }, reachedUpstream: reached)
    }

    static func completed(_ charge: Int) -> Settlement.Outcome {
        .completed(result: answer, usage: usage, costUSD: Decimal(string: "0.42")!, charge: charge)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var held: JobStatus
        var outcome: Settlement.Outcome
        var reserved: Int
        var reached = true
        // Expected:
        var status: JobStatus
        var charged: Int
        var errorCode: String?
        var errorMessage: String?
        var retryDelayMS: Int?
        var attempts: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "completed under its reservation: charged the actual",
            held: .inProgress,
            outcome: completed(3),
            reserved: 5,
            status: .completed,
            charged: 3,
            attempts: 1
        ),
        Case(
            name: "completed at its reservation: charged it all",
            held: .inProgress,
            outcome: completed(5),
            reserved: 5,
            status: .completed,
            charged: 5,
            attempts: 1
        ),
        Case(
            name: "completed over its reservation: charged the reservation, never more",
            held: .inProgress,
            outcome: completed(9),
            reserved: 5,
            status: .completed,
            charged: 5,
            attempts: 1
        ),
        Case(
            name: "a capped charge is held to the reservation",
            held: .inProgress,
            outcome: completed(Billing.maxCredits),
            reserved: 7,
            status: .completed,
            charged: 7,
            attempts: 1
        ),
        Case(
            name: "a job that reserved nothing is charged nothing",
            held: .inProgress,
            outcome: completed(1),
            reserved: 0,
            status: .completed,
            charged: 0,
            attempts: 1
        ),
        Case(
            name: "failed: nothing charged, all released",
            held: .inProgress,
            outcome: .failed(code: .upstreamError, message: "boom"),
            reserved: 5,
            status: .failed,
            charged: 0,
            errorCode: "upstream_error",
            errorMessage: "boom",
            attempts: 1
        ),
        Case(
            name: "failed without reaching the upstream: no attempt counted",
            held: .inProgress,
            outcome: .failed(code: .invalidRequest, message: "bad"),
            reserved: 5,
            reached: false,
            status: .failed,
            charged: 0,
            errorCode: "invalid_request",
            errorMessage: "bad",
            attempts: 0
        ),
        Case(
            name: "a failure's message is cut at 2,000 characters",
            held: .inProgress,
            outcome: .failed(code: .upstreamError, message: String(repeating: "é", count: 2_500)),
            reserved: 5,
            status: .failed,
            charged: 0,
            errorCode: "upstream_error",
            errorMessage: String(repeating: "é", count: 2_000),
            attempts: 1
        ),
        Case(
            name: "expired: nothing charged, all released",
            held: .inProgress,
            outcome: .expired,
            reserved: 5,
            reached: false,
            status: .expired,
            charged: 0,
            errorCode: "expired",
            errorMessage: "The job expired before it could complete",
            attempts: 0
        ),
        Case(
            name: "a retry goes back to the queue: no money moves",
            held: .inProgress,
            outcome: .retry(delay: .milliseconds(1_500), countsAttempt: true, message: "503"),
            reserved: 5,
            status: .queued,
            charged: 0,
            errorMessage: "503",
            retryDelayMS: 1_500,
            attempts: 1
        ),
        Case(
            name: "a 429 retry counts no attempt",
            held: .inProgress,
            outcome: .retry(delay: .seconds(2), countsAttempt: false, message: nil),
            reserved: 5,
            status: .queued,
            charged: 0,
            retryDelayMS: 2_000,
            attempts: 0
        ),
        Case(
            name: "a negative delay is no delay",
            held: .inProgress,
            outcome: .retry(delay: .milliseconds(-5), countsAttempt: true, message: nil),
            reserved: 5,
            status: .queued,
            charged: 0,
            retryDelayMS: 0,
            attempts: 1
        ),
        Case(
            name: "a cancel recorded meanwhile wins over a result",
            held: .cancelling,
            outcome: completed(3),
            reserved: 5,
            status: .cancelled,
            charged: 0,
            errorCode: "cancelled",
            errorMessage: "The job was cancelled",
            attempts: 1
        ),
        Case(
            name: "a cancel recorded meanwhile wins over a retry",
            held: .cancelling,
            outcome: .retry(delay: .seconds(1), countsAttempt: true, message: "503"),
            reserved: 5,
            status: .cancelled,
            charged: 0,
            errorCode: "cancelled",
            errorMessage: "The job was cancelled",
            attempts: 1
        ),
    ]

    @Test("each outcome's final state, charge and release", arguments: cases)
    func outcome(_ c: Case) throws {
        let claim = Claim(jobID: UUID(), token: UUID())
        let plan = SettlementPlan(
            [Self.settlement(claim, c.outcome, reached: c.reached, calls: 2)],
            held: [Self.held(claim, status: c.held, reserved: c.reserved, number: 3)]
        )
        let write = try #require(plan.jobs.first)
        #expect(plan.jobs.count == 1)
        #expect(write.status == c.status)
        #expect(write.creditsCharged == c.charged)
        #expect(write.creditsCharged <= c.reserved)
        #expect(write.errorCode == c.errorCode)
        #expect(write.errorMessage == c.errorMessage)
        #expect(write.retryDelayMS == c.retryDelayMS)
        #expect(write.attemptIncrement == c.attempts)
        #expect(write.calls == 2)
        #expect(write.ended == c.status.isTerminal)
        // Only a completed job keeps its answer, usage and cost.
        #expect(
            (write.result, write.usage, write.costUSD)
                == (c.status == .completed
                    ? (Self.answer, Self.usage, Decimal(string: "0.42")!) : (nil, nil, nil))
        )
        #expect(plan.results == [c.status == .queued ? .requeued : .settled(c.status)])
        // Its calls are billed only when it completed.
        #expect(plan.calls.count == 2)
        #expect(plan.calls.allSatisfy { $0.call.billed == (c.status == .completed) && $0.token == claim.token })
        // An ended job releases its reservation and pays its charge, under its reservation number.
        let expectedMoves =
            c.status.isTerminal
            ? [LedgerPosting.Move(teamID: "a", jobID: claim.jobID, reservationNumber: 3, release: c.reserved, charge: c.charged)] : []
        #expect(plan.moves == expectedMoves)
    }

    struct LostCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// The job as locked (nil: not locked, its token or status did not match).
        var held: @Sendable (Claim) -> SettlementPlan.HeldJob?
        var testDescription: String { name }
    }

    static let lost: [LostCase] = [
        LostCase(name: "not locked") { _ in nil },
        LostCase(name: "another delivery's lease token") { claim in
            SettlementPlan.HeldJob(jobID: claim.jobID, teamID: "a", status: .inProgress, leaseToken: UUID(), creditsReserved: 5, reservationNumber: 1)
        },
        LostCase(name: "no lease token") { claim in
            SettlementPlan.HeldJob(jobID: claim.jobID, teamID: "a", status: .inProgress, leaseToken: nil, creditsReserved: 5, reservationNumber: 1)
        },
        LostCase(name: "already ended") { claim in
            SettlementPlan.HeldJob(
                jobID: claim.jobID,
                teamID: "a",
                status: .completed,
                leaseToken: claim.token,
                creditsReserved: 5,
                reservationNumber: 1
            )
        },
        LostCase(name: "back in the queue") { claim in
            SettlementPlan.HeldJob(
                jobID: claim.jobID,
                teamID: "a",
                status: .queued,
                leaseToken: claim.token,
                creditsReserved: 5,
                reservationNumber: 1
            )
        },
    ]

    @Test("a delivery that no longer holds its job settles nothing: lost, its calls recorded unbilled", arguments: lost)
    func lostDelivery(_ c: LostCase) {
        let claim = Claim(jobID: UUID(), token: UUID())
        let plan = SettlementPlan([Self.settlement(claim, Self.completed(3))], held: c.held(claim).map { [$0] } ?? [])
        #expect(plan.results == [.lost])
        #expect(plan.jobs.isEmpty && plan.moves.isEmpty)
        #expect(plan.calls.count == 1 && plan.calls.allSatisfy { !$0.call.billed })
        #expect(plan.posting(remaining: ["a": 10]).isEmpty)
    }

    @Test("one team's jobs in one batch: releases and charges run the locked balance, in order")
    func oneTeam() {
        let a = Claim(jobID: UUID(), token: UUID())
        let b = Claim(jobID: UUID(), token: UUID())
        let c = Claim(jobID: UUID(), token: UUID())
        let d = Claim(jobID: UUID(), token: UUID())
        let plan = SettlementPlan(
            [
                Self.settlement(a, Self.completed(3)),
                Self.settlement(b, .failed(code: .upstreamError, message: "x")),
                Self.settlement(c, .retry(delay: .zero, countsAttempt: true, message: nil)),
                Self.settlement(d, Self.completed(9)),
            ],
            held: [Self.held(a, reserved: 5), Self.held(b, reserved: 4), Self.held(c, reserved: 6), Self.held(d, team: "b", reserved: 2)]
        )
        #expect(plan.results == [.settled(.completed), .settled(.failed), .requeued, .settled(.completed)])
        var next = 0
        let posting = plan.posting(remaining: ["a": 10, "b": 0]) {
            next += 1
            return UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", next))!
        }
        #expect(
            posting.rows.map { [$0.teamID, $0.type.rawValue, String($0.amount), String($0.after)] } == [
                ["a", "release", "5", "15"], ["a", "charge", "-3", "12"],
                ["a", "release", "4", "16"],
                ["b", "release", "2", "2"], ["b", "charge", "-2", "0"],
            ]
        )
        #expect(posting.rows.map(\.jobID) == [a.jobID, a.jobID, b.jobID, d.jobID, d.jobID])
        #expect(Set(posting.rows.map(\.transactionID)).count == 5)
        #expect(
            posting.accounts == [
                LedgerPosting.AccountChange(teamID: "a", reserved: -9, used: 3), LedgerPosting.AccountChange(teamID: "b", reserved: -2, used: 2),
            ]
        )
    }

    @Test("two deliveries of one job in a batch: the one holding the lease settles it, and both answer as it settled")
    func twoDeliveries() {
        let jobID = UUID()
        let stale = Claim(jobID: jobID, token: UUID())
        let current = Claim(jobID: jobID, token: UUID())
        let plan = SettlementPlan(
            [Self.settlement(stale, .failed(code: .upstreamError, message: "old")), Self.settlement(current, Self.completed(2))],
            held: [Self.held(current, reserved: 4)]
        )
        #expect(plan.jobs.count == 1)
        #expect(plan.jobs.first?.status == .completed && plan.jobs.first?.creditsCharged == 2)
        #expect(plan.results == [.settled(.completed), .settled(.completed)])
        #expect(plan.moves == [LedgerPosting.Move(teamID: "a", jobID: jobID, reservationNumber: 1, release: 4, charge: 2)])
    }

    @Test("an empty batch plans nothing")
    func empty() {
        let plan = SettlementPlan([], held: [])
        #expect(plan.results.isEmpty && plan.jobs.isEmpty && plan.calls.isEmpty && plan.moves.isEmpty)
    }
}
