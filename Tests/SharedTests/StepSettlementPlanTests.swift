import Foundation
import Testing

@testable import Shared

/// The step-by-step flow's money, without a database: a completed call of an open job keeps its
/// reservation and records its charge as due; ending the job charges the dues (consumption) or
/// the job's one credit (job_based), once, and releases the rest.
@Suite("Step-by-step settlement plans")
struct StepSettlementPlanTests {
    static let team = "t"

    static func container(reserved: Int) -> StepSettlementPlan.Container {
        .init(jobID: UUID(), teamID: team, creditsReserved: reserved, reservationNumber: 1)
    }

    static func call(reserved: Int, due: Int) -> StepSettlementPlan.CompletedCall {
        .init(callID: UUID(), creditsReserved: reserved, creditsDue: due, reservationNumber: 1)
    }

    @Test("Consumption: each completed call is charged its due and released, whatever the ending")
    func consumption() {
        let job = Self.container(reserved: 0)
        let calls = [Self.call(reserved: 40, due: 12), Self.call(reserved: 40, due: 40)]
        for ending in [StepSettlementPlan.Ending.completed, .failed, .cancelled, .expired] {
            let plan = StepSettlementPlan(job, completedCalls: calls, ending: ending)
            #expect(plan.containerCharge == 0)
            #expect(plan.callCharges == [calls[0].callID: 12, calls[1].callID: 40])
            #expect(plan.moves.count == 2)
            #expect(plan.moves.allSatisfy { $0.release == 40 })
            #expect(plan.moves.map(\.charge).reduce(0, +) == 52)
        }
    }

    @Test("A due above the reservation is charged the reservation: never more than was held")
    func dueCapped() {
        let call = Self.call(reserved: 10, due: 99)
        let plan = StepSettlementPlan(Self.container(reserved: 0), completedCalls: [call], ending: .completed)
        #expect(plan.callCharges[call.callID] == 10)
        #expect(plan.moves == [LedgerPosting.Move(teamID: Self.team, jobID: call.callID, reservationNumber: 1, release: 10, charge: 10)])
    }

    @Test("job_based: the job's one credit is charged only when it completes with a completed call")
    func jobBased() {
        let job = Self.container(reserved: 1)
        let completed = StepSettlementPlan(job, completedCalls: [Self.call(reserved: 0, due: 0)], ending: .completed)
        #expect(completed.containerCharge == 1)
        #expect(completed.moves == [LedgerPosting.Move(teamID: Self.team, jobID: job.jobID, reservationNumber: 1, release: 1, charge: 1)])

        for ending in [StepSettlementPlan.Ending.failed, .cancelled, .expired] {
            let plan = StepSettlementPlan(job, completedCalls: [Self.call(reserved: 0, due: 0)], ending: ending)
            #expect(plan.containerCharge == 0)
            #expect(plan.moves == [LedgerPosting.Move(teamID: Self.team, jobID: job.jobID, reservationNumber: 1, release: 1)])
        }
        let noCall = StepSettlementPlan(job, completedCalls: [], ending: .completed)
        #expect(noCall.containerCharge == 0, "no completed call: nothing to charge")
        #expect(noCall.moves.map(\.release) == [1])
    }

    @Test("A job that never reserved anything writes no ledger rows")
    func nothingReserved() {
        let plan = StepSettlementPlan(Self.container(reserved: 0), completedCalls: [], ending: .completed)
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
