import Foundation
import Testing

@testable import Shared

/// The submit's money decisions, without a database: each request's reservation under its
/// team's rates, against the balance the requests before it left, and the ledger it writes.
@Suite("Reservation plan")
struct ReservationPlanTests {
    static let jobBased = BillingSettings(budgetMode: .jobBased)
    static let tokens = BillingSettings(budgetMode: .consumptionTokens, tokensPerCredit: 1_000)
    static let usd = BillingSettings(budgetMode: .consumptionUSD, creditsPerDollar: 100)
    static let plenty = 1_000_000_000

    static func estimate(_ tokens: Int, _ usd: String = "0") -> Billing.Estimate {
        Billing.Estimate(totalTokens: tokens, maxCostUSD: Decimal(string: usd)!)
    }

    static func request(
        _ team: String = "a",
        _ estimate: Billing.Estimate? = Self.estimate(1),
        key: String? = nil,
        hash: [UInt8]? = nil
    ) -> ReservationPlan.Request {
        ReservationPlan.Request(jobID: UUID(), teamID: team, estimate: estimate, idempotencyKey: key, requestHash: hash)
    }

    static func account(_ remaining: Int, _ billing: BillingSettings = jobBased) -> ReservationPlan.Account {
        ReservationPlan.Account(remaining: remaining, billing: billing)
    }

    /// Sequential ids, so that rows can be compared whole.
    static func ids() -> () -> UUID {
        var next = 0
        return {
            next += 1
            return UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", next))!
        }
    }

    struct PriceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var billing: BillingSettings
        var estimate: Billing.Estimate?
        var reserved: Int
        var testDescription: String { name }
    }

    static let prices: [PriceCase] = [
        PriceCase(name: "job_based: 1 whatever the size", billing: jobBased, estimate: estimate(5_000_000, "99"), reserved: 1),
        PriceCase(name: "job_based: 1 for nothing", billing: jobBased, estimate: estimate(0), reserved: 1),
        PriceCase(name: "tokens: exact multiple", billing: tokens, estimate: estimate(3_000), reserved: 3),
        PriceCase(name: "tokens: rounded down", billing: tokens, estimate: estimate(3_999), reserved: 3),
        PriceCase(name: "tokens: under one credit is one", billing: tokens, estimate: estimate(999), reserved: 1),
        PriceCase(name: "tokens: zero tokens is one", billing: tokens, estimate: estimate(0), reserved: 1),
        PriceCase(
            name: "tokens: a zero rate counts every token",
            billing: BillingSettings(budgetMode: .consumptionTokens, tokensPerCredit: 0),
            estimate: estimate(7),
            reserved: 7
        ),
        PriceCase(name: "usd: exact", billing: usd, estimate: estimate(1, "0.25"), reserved: 25),
        PriceCase(name: "usd: rounded down", billing: usd, estimate: estimate(1, "0.259999"), reserved: 25),
        PriceCase(name: "usd: under one credit is one", billing: usd, estimate: estimate(1, "0.0001"), reserved: 1),
        PriceCase(name: "usd: zero cost is one", billing: usd, estimate: estimate(1, "0"), reserved: 1),
        PriceCase(
            name: "usd: fractional rate",
            billing: BillingSettings(budgetMode: .consumptionUSD, creditsPerDollar: Decimal(string: "2.5")!),
            estimate: estimate(1, "3.3"),
            reserved: 8
        ),
        PriceCase(name: "usd: an absurd cost is capped", billing: usd, estimate: estimate(1, "1e30"), reserved: Billing.maxCredits),
        PriceCase(
            name: "usd: a cost whose product leaves Decimal's range (NaN) is capped, never one credit",
            billing: usd,
            estimate: Billing.Estimate(totalTokens: 1, maxCostUSD: .greatestFiniteMagnitude),
            reserved: Billing.maxCredits
        ),
        PriceCase(name: "no estimate (pending): nothing", billing: usd, estimate: nil, reserved: 0),
    ]

    @Test("every budget mode prices the reservation as Billing does", arguments: prices)
    func pricing(_ c: PriceCase) {
        // A balance no real account holds, so that even the cap fits and the price alone is seen.
        let plan = ReservationPlan([Self.request("a", c.estimate)], accounts: ["a": Self.account(Billing.maxCredits, c.billing)])
        #expect(plan.decisions == [.reserve(credits: c.reserved, billing: c.billing)])
        if let estimate = c.estimate { #expect(c.reserved == Billing.reservation(estimate, c.billing)) }
        #expect(plan.accepted.map(\.credits) == [c.reserved])
        // A reservation of nothing writes no ledger row and moves no account.
        #expect(plan.posting.rows.count == (c.reserved > 0 ? 1 : 0))
        #expect(plan.posting.accounts.map(\.reserved) == (c.reserved > 0 ? [c.reserved] : []))
    }

    struct BalanceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var remaining: Int
        var billing: BillingSettings
        /// Each request's estimated tokens (nil: no estimate).
        var requests: [Int?]
        var expected: [ReservationPlan.Decision]
        var testDescription: String { name }
    }

    static let balances: [BalanceCase] = [
        BalanceCase(
            name: "the whole balance may be reserved",
            remaining: 5,
            billing: tokens,
            requests: [5_000],
            expected: [.reserve(credits: 5, billing: tokens)]
        ),
        BalanceCase(
            name: "one credit short is refused",
            remaining: 5,
            billing: tokens,
            requests: [6_000],
            expected: [.insufficientCredits(remaining: 5, needed: 6)]
        ),
        BalanceCase(
            name: "an empty account refuses even one credit",
            remaining: 0,
            billing: jobBased,
            requests: [1],
            expected: [.insufficientCredits(remaining: 0, needed: 1)]
        ),
        BalanceCase(
            name: "an empty account still takes a job that reserves nothing",
            remaining: 0,
            billing: jobBased,
            requests: [nil],
            expected: [.reserve(credits: 0, billing: jobBased)]
        ),
        BalanceCase(
            name: "requests consume the running balance in order",
            remaining: 10,
            billing: tokens,
            requests: [4_000, 4_000, 4_000, 2_000, 1],
            expected: [
                .reserve(credits: 4, billing: tokens), .reserve(credits: 4, billing: tokens),
                .insufficientCredits(remaining: 2, needed: 4), .reserve(credits: 2, billing: tokens),
                .insufficientCredits(remaining: 0, needed: 1),
            ]
        ),
        BalanceCase(
            name: "a capped reservation is refused, not overflowed",
            remaining: Self.plenty,
            billing: BillingSettings(budgetMode: .consumptionTokens, tokensPerCredit: 1),
            requests: [Billing.maxCredits],
            expected: [.insufficientCredits(remaining: Self.plenty, needed: Billing.maxCredits)]
        ),
    ]

    @Test("reservations are decided against the balance the requests before them left", arguments: balances)
    func balance(_ c: BalanceCase) {
        let requests = c.requests.map { Self.request("a", $0.map { Self.estimate($0) }) }
        let plan = ReservationPlan(requests, accounts: ["a": Self.account(c.remaining, c.billing)], newID: Self.ids())
        #expect(plan.decisions == c.expected)
        let reserved = plan.accepted.map(\.credits).reduce(0, +)
        #expect(reserved <= c.remaining)
        // The ledger's rows run the balance down, row by row, to what is left.
        var balance = c.remaining
        for row in plan.posting.rows {
            balance += row.amount
            #expect(row.type == .reservation && row.amount < 0 && row.after == balance && row.after >= 0)
        }
        #expect(balance == c.remaining - reserved)
    }

    @Test("each team's requests draw on their own account; the ledger and account changes follow")
    func teams() {
        let requests = [
            Self.request("b", Self.estimate(2_000)), Self.request("a", Self.estimate(1, "0.07")),
            Self.request("b", Self.estimate(2_000)), Self.request("a", Self.estimate(1, "0.05")), Self.request("gone"),
        ]
        let plan = ReservationPlan(
            requests,
            accounts: ["a": Self.account(10, Self.usd), "b": Self.account(3, Self.tokens)],
            newID: Self.ids()
        )
        #expect(
            plan.decisions == [
                .reserve(credits: 2, billing: Self.tokens), .reserve(credits: 7, billing: Self.usd),
                .insufficientCredits(remaining: 1, needed: 2), .insufficientCredits(remaining: 3, needed: 5), .teamNotFound,
            ]
        )
        #expect(plan.accepted.map(\.index) == [0, 1])
        #expect(
            plan.posting.rows == [
                LedgerPosting.Row(
                    transactionID: UUID(uuidString: "00000000-0000-0000-0000-000000000001")!,
                    teamID: "b",
                    type: .reservation,
                    amount: -2,
                    after: 1,
                    jobID: requests[0].jobID,
                    reservationNumber: 1
                ),
                LedgerPosting.Row(
                    transactionID: UUID(uuidString: "00000000-0000-0000-0000-000000000002")!,
                    teamID: "a",
                    type: .reservation,
                    amount: -7,
                    after: 3,
                    jobID: requests[1].jobID,
                    reservationNumber: 1
                ),
            ]
        )
        #expect(
            plan.posting.accounts == [
                LedgerPosting.AccountChange(teamID: "a", reserved: 7, used: 0), LedgerPosting.AccountChange(teamID: "b", reserved: 2, used: 0),
            ]
        )
    }

    struct KeyCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// (team, key, hash, tokens) per request; the account holds `remaining` under `tokens`.
        var requests: [(String, String?, UInt8, Int)]
        var remaining: Int
        /// An earlier job of team "a" under key "k", with this hash.
        var earlierHash: UInt8?
        var expected: [Expected]
        var testDescription: String { name }
    }

    enum Expected: Sendable, Equatable {
        case reserve(Int)
        case repeatOf(Int)
        case replay, conflict, insufficient
    }

    static let keys: [KeyCase] = [
        KeyCase(
            name: "the same key and body twice in a batch: one job, the second repeats it",
            requests: [("a", "k", 1, 2_000), ("a", "k", 1, 2_000)],
            remaining: 10,
            earlierHash: nil,
            expected: [.reserve(2), .repeatOf(0)]
        ),
        KeyCase(
            name: "the same key with another body in a batch: a conflict",
            requests: [("a", "k", 1, 2_000), ("a", "k", 2, 2_000)],
            remaining: 10,
            earlierHash: nil,
            expected: [.reserve(2), .conflict]
        ),
        KeyCase(
            name: "a repeat reserves nothing more, even on an account it would overdraw",
            requests: [("a", "k", 1, 2_000), ("a", "k", 1, 2_000), ("a", "k", 1, 2_000)],
            remaining: 2,
            earlierHash: nil,
            expected: [.reserve(2), .repeatOf(0), .repeatOf(0)]
        ),
        KeyCase(
            name: "one key of two teams names two jobs",
            requests: [("a", "k", 1, 2_000), ("b", "k", 1, 2_000)],
            remaining: 10,
            earlierHash: nil,
            expected: [.reserve(2), .reserve(2)]
        ),
        KeyCase(
            name: "a refused request is not repeated: the next under its key is decided afresh",
            requests: [("a", "k", 1, 20_000), ("a", "k", 1, 2_000), ("a", "k", 1, 2_000)],
            remaining: 10,
            earlierHash: nil,
            expected: [.insufficient, .reserve(2), .repeatOf(1)]
        ),
        KeyCase(
            name: "requests without keys are never repeats",
            requests: [("a", nil, 1, 2_000), ("a", nil, 1, 2_000)],
            remaining: 10,
            earlierHash: nil,
            expected: [.reserve(2), .reserve(2)]
        ),
        KeyCase(
            name: "an idempotent replay answers the earlier job and reserves nothing",
            requests: [("a", "k", 1, 2_000), ("a", "k", 1, 2_000)],
            remaining: 0,
            earlierHash: 1,
            expected: [.replay, .replay]
        ),
        KeyCase(
            name: "an earlier job under the key with another body: a conflict",
            requests: [("a", "k", 2, 2_000)],
            remaining: 10,
            earlierHash: 1,
            expected: [.conflict]
        ),
        KeyCase(
            name: "another team's earlier job under the same key is no replay",
            requests: [("b", "k", 1, 2_000)],
            remaining: 10,
            earlierHash: 1,
            expected: [.reserve(2)]
        ),
    ]

    @Test("Idempotency-Keys: repeats within a batch, replays of earlier jobs, conflicts", arguments: keys)
    func idempotency(_ c: KeyCase) {
        let requests = c.requests.map { team, key, hash, tokens in Self.request(team, Self.estimate(tokens), key: key, hash: [hash]) }
        let earlierJob = ReservationPlan.EarlierJob(
            jobID: UUID(),
            requestHash: c.earlierHash.map { [$0] },
            status: .completed,
            createdAt: Date(timeIntervalSince1970: 1),
            creditsReserved: 4,
            pending: false
        )
        let earlier = c.earlierHash == nil ? [:] : [ReservationPlan.IdempotencyScope(teamID: "a", key: "k"): earlierJob]
        let plan = ReservationPlan(
            requests,
            accounts: ["a": Self.account(c.remaining, Self.tokens), "b": Self.account(c.remaining, Self.tokens)],
            earlier: earlier
        )
        let got: [Expected] = plan.decisions.map { decision in
            switch decision {
            case .reserve(let credits, _): return .reserve(credits)
            case .repeatOf(let first): return .repeatOf(first)
            case .replay(let job):
                #expect(job == earlierJob)
                return .replay
            case .idempotencyConflict: return .conflict
            case .insufficientCredits: return .insufficient
            case .teamNotFound:
                Issue.record("no team is missing here")
                return .conflict
            }
        }
        #expect(got == c.expected)
        // Only new jobs reserve: one ledger row each.
        #expect(plan.posting.rows.map(\.jobID) == plan.accepted.map { requests[$0.index].jobID })
    }

    @Test("an unknown team comes first: before a replay under its key")
    func unknownTeamFirst() {
        let earlier = ReservationPlan.EarlierJob(
            jobID: UUID(),
            requestHash: [1],
            status: .queued,
            createdAt: Date(),
            creditsReserved: 1,
            pending: false
        )
        let plan = ReservationPlan(
            [Self.request("a", key: "k", hash: [1])],
            accounts: [:],
            earlier: [ReservationPlan.IdempotencyScope(teamID: "a", key: "k"): earlier]
        )
        #expect(plan.decisions == [.teamNotFound])
        #expect(plan.accepted.isEmpty && plan.posting.isEmpty)
    }

    @Test("an empty batch plans nothing")
    func empty() {
        let plan = ReservationPlan([], accounts: ["a": Self.account(5)])
        #expect(plan.decisions.isEmpty && plan.accepted.isEmpty && plan.posting.isEmpty && plan.posting.accounts.isEmpty)
    }
}
