import Foundation
import Hummingbird
import Shared

/// `period=YYYY-MM` or `YYYY-MM-DD`, in UTC: the half-open interval it covers.
struct UsagePeriod {
    var label: String
    var start: Date
    var end: Date

    init(_ request: Request) throws(APIError) {
        guard let raw = request.uri.queryParameters["period"].map(String.init), !raw.isEmpty else {
            throw .periodMissing
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let invalid = APIError.periodInvalid
        // Exactly four, two (and two) digits: 2026-11 or 2026-11-26.
        let digits = raw.utf8.map { $0 >= 48 && $0 <= 57 }
        let shape = raw.utf8.count == 7 || raw.utf8.count == 10
        guard shape, raw.utf8.enumerated().allSatisfy({ i, byte in (i == 4 || i == 7) ? byte == UInt8(ascii: "-") : digits[i] }) else {
            throw invalid
        }
        let parts = raw.split(separator: "-").map { Int($0)! }
        let year = parts[0]
        let month = parts[1]
        guard (1...12).contains(month), (1970...9999).contains(year) else { throw invalid }
        var components = DateComponents(year: year, month: month, day: parts.count == 3 ? parts[2] : 1)
        guard let start = calendar.date(from: components), calendar.component(.day, from: start) == components.day,
            calendar.component(.month, from: start) == month
        else { throw invalid }
        components = parts.count == 3 ? DateComponents(day: 1) : DateComponents(month: 1)
        self.label = raw
        self.start = start
        self.end = calendar.date(byAdding: components, to: start)!
    }
}

/// Usage of an organization (per team and in total) or of one team.
struct UsageReport: ResponseEncodable {
    struct Jobs: Codable {
        var total: Int
        var completed: Int
        var failed: Int
    }

    struct Tokens: Codable {
        var prompt: Int
        var completion: Int
        var total: Int
    }

    struct Line: Codable {
        var teamID: String
        var jobs: Jobs
        var creditsUsed: Int
        var tokens: Tokens
        var costUSD: Decimal

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case jobs
            case creditsUsed = "credits_used"
            case tokens
            case costUSD = "cost_usd"
        }
    }

    var organizationID: String?
    var teamID: String?
    var period: String
    var start: Date
    var end: Date
    var jobs: Jobs
    var creditsUsed: Int
    var tokens: Tokens
    var costUSD: Decimal
    var teams: [Line]

    enum CodingKeys: String, CodingKey {
        case organizationID = "organization_id"
        case teamID = "team_id"
        case period, start, end, jobs
        case creditsUsed = "credits_used"
        case tokens
        case costUSD = "cost_usd"
        case teams
    }

    init(organizationID: String?, teamID: String?, period: UsagePeriod, teams: [TeamUsage]) {
        self.organizationID = organizationID
        self.teamID = teamID
        self.period = period.label
        start = period.start
        end = period.end
        self.teams = teams.map {
            Line(
                teamID: $0.teamID,
                jobs: Jobs(total: $0.jobsTotal, completed: $0.jobsCompleted, failed: $0.jobsFailed),
                creditsUsed: $0.creditsUsed,
                tokens: Tokens(prompt: $0.promptTokens, completion: $0.completionTokens, total: $0.promptTokens + $0.completionTokens),
                costUSD: $0.costUSD
            )
        }
        jobs = Jobs(
            total: self.teams.reduce(0) { $0 + $1.jobs.total },
            completed: self.teams.reduce(0) { $0 + $1.jobs.completed },
            failed: self.teams.reduce(0) { $0 + $1.jobs.failed }
        )
        creditsUsed = self.teams.reduce(0) { $0 + $1.creditsUsed }
        let prompt = self.teams.reduce(0) { $0 + $1.tokens.prompt }
        let completion = self.teams.reduce(0) { $0 + $1.tokens.completion }
        tokens = Tokens(prompt: prompt, completion: completion, total: prompt + completion)
        costUSD = self.teams.reduce(Decimal(0)) { $0 + $1.costUSD }
    }
}
