import Foundation

@testable import Shared

extension JobSubmission {
    /// `count` small chat jobs of `team` on model group `grp`, one planned call and 10 tokens
    /// each (1 credit reserved under job_based billing): the jobs the store suites submit.
    static func chats(_ count: Int, team: String) -> [JobSubmission] {
        (0..<count).map { i in
            JobSubmission(
                teamID: team,
                jobType: "chat",
                userID: nil,
                metadata: [:],
                modelGroup: "grp",
                work: JobWork(messages: [.object(["role": .string("user"), "content": .string("m\(i)")])]),
                priority: 0,
                expiresAt: Date().addingTimeInterval(3600),
                estimate: Billing.Estimate(totalTokens: 10, maxCostUSD: 0),
                callsPlanned: 1,
                idempotencyKey: nil,
                requestHash: nil
            )
        }
    }
}
