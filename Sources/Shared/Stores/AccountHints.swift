import Foundation

/// What a process last saw of a team's account when it submitted for it: the rates its jobs
/// were priced at and the balance left. Only a guess — another process or a settlement may have
/// moved the balance since, an admin the rates — so it decides nothing about money: it lets a
/// batch that will very likely fit try the one-round-trip submit, whose SQL checks both.
struct AccountHint: Sendable, Hashable {
    var billing: BillingSettings
    var remaining: Int
}

/// The hints, per team. They expire, so that a team's balance is read under its lock (the
/// locking submit) at least that often, and are bounded in number like every cache here.
final class AccountHints: Sendable {
    private let hints: ExpiringCache<String, AccountHint>

    init(timeToLive: Duration = .seconds(30), capacity: Int = 20_000) {
        hints = ExpiringCache(timeToLive: timeToLive, capacity: capacity)
    }

    /// The hints of every team of `submissions`, when the one-round-trip submit may take them:
    /// none carries an Idempotency-Key (an earlier job under it must be read after the lock),
    /// every team has a hint, and each team's reservations take at most half of what it was last
    /// seen to have left (a team near its end is decided job by job, under its lock).
    func oneTrip(_ submissions: [JobSubmission]) -> [String: AccountHint]? {
        var teams: [String: AccountHint] = [:]
        var needed: [String: Int] = [:]
        for submission in submissions {
            guard submission.idempotencyKey == nil else { return nil }
            if teams[submission.teamID] == nil {
                guard case .some(.some(let hint)) = hints.cached(submission.teamID) else { return nil }
                teams[submission.teamID] = hint
            }
            if let estimate = submission.estimate, let hint = teams[submission.teamID] {
                // Each reservation is at most `Billing.maxCredits`: the sum cannot overflow.
                needed[submission.teamID] = min(
                    needed[submission.teamID, default: 0] + Billing.reservation(estimate, hint.billing),
                    Billing.maxCredits
                )
            }
        }
        for (team, credits) in needed {
            guard let hint = teams[team], credits <= hint.remaining / 2 else { return nil }
        }
        return teams
    }

    /// Keeps what a transaction read under the accounts' lock, less what it reserved.
    func keep(_ accounts: [String: ReservationPlan.Account], reserved: [String: Int]) {
        for (team, account) in accounts {
            hints.store(AccountHint(billing: account.billing, remaining: account.remaining - reserved[team, default: 0]), for: team)
        }
    }

    /// Forgets the teams' hints (a one-round-trip submit found them wrong).
    func forget<S: Sequence>(_ teams: S) where S.Element == String {
        for team in teams { hints.remove(team) }
    }
}
