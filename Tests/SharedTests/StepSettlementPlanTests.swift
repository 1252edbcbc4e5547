import Foundation
import Testing

@testable import Shared

/// The step-by-step flow's money, without a database: a completed call of an open job keeps its
/// reservation and records its charge as due; ending the job charges the calls' use together (consumption) or
/// the job's one credit (job_based), once, and releases the rest.
@Suite("Step-by-step settlement plans")
struct StepSettlementPlanTests {
    static let team = "t"

    static func container(reserved: Int) -> StepSettlementPlan.Container {
        .init(jobID: UUID(), teamID: team, creditsReserved: reserved, reservationNumber: 1)
    }

    static let tokens = BillingSettings(budgetMode: .consumptionTokens, tokensPerCredit: 100)
    static let jobBased = BillingSettings(budgetMode: .jobBased)

    static func call(reserved: Int, tokens: Int = 0) -> StepSettlementPlan.CompletedCall {
        .init(
            callID: UUID(),
            creditsReserved: reserved,
            reservationNumber: 1,
            usage: TokenUsage(promptTokens: tokens, completionTokens: 0),
            costUSD: 0
        )
    }

    @Test("Consumption: the calls' tokens are charged together, spread over their rows, whatever the ending")
    func consumption() {
        let job = Self.container(reserved: 0)
        // 1,250 + 1,280 tokens at 100 a credit: 25 credits for the job (not 12 + 12 per call).
        let calls = [Self.call(reserved: 20, tokens: 1_250), Self.call(reserved: 20, tokens: 1_280)]
        for ending in [StepSettlementPlan.Ending.completed, .failed, .cancelled, .expired] {
            let plan = StepSettlementPlan(job, completedCalls: calls, ending: ending, billing: Self.tokens)
            #expect(plan.containerCharge == 0)
            #expect(plan.callCharges == [calls[0].callID: 20, calls[1].callID: 5])
            #expect(plan.moves.count == 2)
            #expect(plan.moves.allSatisfy { $0.release == 20 })
            #expect(plan.moves.map(\.charge).reduce(0, +) == 25)
        }
    }

    @Test("Small calls are one rounding for the job: three calls of 10 tokens cost 1 credit, not 3")
    func oneMinimumPerJob() {
        let calls = [Self.call(reserved: 5, tokens: 10), Self.call(reserved: 5, tokens: 10), Self.call(reserved: 5, tokens: 10)]
        let plan = StepSettlementPlan(Self.container(reserved: 0), completedCalls: calls, ending: .completed, billing: Self.tokens)
        #expect(plan.moves.map(\.charge).reduce(0, +) == 1)
        #expect(plan.moves.map(\.release).reduce(0, +) == 15)
    }

    @Test("A charge above what the calls reserved is capped by it: never more than was held")
    func chargeCapped() {
        let call = Self.call(reserved: 10, tokens: 99_900)
        let plan = StepSettlementPlan(Self.container(reserved: 0), completedCalls: [call], ending: .completed, billing: Self.tokens)
        #expect(plan.callCharges[call.callID] == 10)
        #expect(plan.moves == [LedgerPosting.Move(teamID: Self.team, jobID: call.callID, reservationNumber: 1, release: 10, charge: 10)])
    }

    @Test("job_based: the job's one credit is charged only when it completes with a completed call")
    func jobBased() {
        let job = Self.container(reserved: 1)
        let completed = StepSettlementPlan(job, completedCalls: [Self.call(reserved: 0)], ending: .completed, billing: Self.jobBased)
        #expect(completed.containerCharge == 1)
        #expect(completed.moves == [LedgerPosting.Move(teamID: Self.team, jobID: job.jobID, reservationNumber: 1, release: 1, charge: 1)])

        for ending in [StepSettlementPlan.Ending.failed, .cancelled, .expired] {
            let plan = StepSettlementPlan(job, completedCalls: [Self.call(reserved: 0)], ending: ending, billing: Self.jobBased)
            #expect(plan.containerCharge == 0)
            #expect(plan.moves == [LedgerPosting.Move(teamID: Self.team, jobID: job.jobID, reservationNumber: 1, release: 1)])
        }
        let noCall = StepSettlementPlan(job, completedCalls: [], ending: .completed, billing: Self.jobBased)
        #expect(noCall.containerCharge == 0, "no completed call: nothing to charge")
        #expect(noCall.moves.map(\.release) == [1])
    }

    @Test("A job that never reserved anything writes no ledger rows")
    func nothingReserved() {
        let plan = StepSettlementPlan(Self.container(reserved: 0), completedCalls: [], ending: .completed, billing: Self.tokens)
        #expect(plan.moves.isEmpty)
    }

    @Test("SettlementPlan: a completed call of an open job defers its charge and keeps its reservation")
    func deferredCall() {
        let claim = Claim(jobID: UUID(), token: UUID())
        var held = SettlementPlanTests.held(claim, reserved: 30)
        held.defersCharge = true
        let plan = SettlementPlan([SettlementPlanTests.settlement(claim, SettlementPlanTests.completed(12))], held: [held])
        #expect(plan.results == [.settled(.completed)])
        #expect(plan.jobs.first?.creditsCharged == 0)
        #expect(plan.jobs.first?.creditsDue == 12)
        #expect(plan.jobs.first?.isOpenCall == true)
        #expect(plan.moves.isEmpty, "the reservation stays until the job's complete")
        #expect(plan.calls.allSatisfy { $0.call.billed })
    }

    @Test("SettlementPlan: a failed call of an open job releases at once")
    func failedCallReleases() {
        let claim = Claim(jobID: UUID(), token: UUID())
        var held = SettlementPlanTests.held(claim, reserved: 30)
        held.defersCharge = true
        let plan = SettlementPlan(
            [SettlementPlanTests.settlement(claim, .failed(code: .upstreamError, message: "no"))],
            held: [held]
        )
        #expect(plan.jobs.first?.creditsDue == nil)
        #expect(plan.moves == [LedgerPosting.Move(teamID: "a", jobID: claim.jobID, reservationNumber: 1, release: 30)])
    }

    @Test("SettlementPlan: a cancel recorded on an open job's call wins: released, nothing due")
    func cancelledCall() {
        let claim = Claim(jobID: UUID(), token: UUID())
        var held = SettlementPlanTests.held(claim, status: .cancelling, reserved: 30)
        held.defersCharge = true
        let plan = SettlementPlan([SettlementPlanTests.settlement(claim, SettlementPlanTests.completed(12))], held: [held])
        #expect(plan.results == [.settled(.cancelled)])
        #expect(plan.jobs.first?.creditsDue == nil)
        #expect(plan.moves.map(\.release) == [30])
    }
}
