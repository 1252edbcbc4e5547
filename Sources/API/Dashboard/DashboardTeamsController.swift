import Foundation
import Hummingbird
import Shared

/// `/admin/teams`: the teams, and one team's balance, usage this month, limits and recent ledger;
/// suspend and resume (``TeamController``'s own `setStatus`: PostgreSQL, then the queue parks or
/// releases the team's jobs) and adding credits (the credit store's `add` with the API's rules,
/// under an idempotency key the form carries, so a form sent twice adds once).
struct DashboardTeamsController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let teamsAPI: TeamController
    let credits: any CreditStore

    struct TeamRow {
        var teamID: String
        var href: String
        var alias: String
        var organizationID: String
        var status: String
        var suspended: Bool
        var remaining: String
        var allocated: String
        var groups: String

        init(_ team: TeamController.TeamResponse) {
            teamID = team.teamID
            href = DashboardPath.team(team.teamID)
            alias = DashboardFormat.text(team.teamAlias)
            organizationID = team.organizationID
            status = team.status
            suspended = team.status != TeamStatus.active.rawValue
            remaining = DashboardFormat.number(team.creditsRemaining)
            allocated = DashboardFormat.number(team.creditsAllocated)
            groups = team.modelGroups.isEmpty ? DashboardFormat.none : team.modelGroups.joined(separator: ", ")
        }
    }

    struct ListView {
        var teams: [TeamRow]
        var next: String?
    }

    struct Field {
        var name: String
        var value: String
    }

    struct Entry {
        var when: String
        var type: String
        var amount: String
        var after: String
        var reason: String
        var job: String?
    }

    struct TeamView {
        var team: TeamRow
        var balance: [Field]
        var usage: [Field]
        var limits: [Field]
        var billing: [Field]
        var ledger: [Entry]
        var suspendAction: String
        var resumeAction: String
        var creditsAction: String
        var jobsHref: String
        /// A fresh key per rendering of the form: the same form sent twice adds its credits once.
        var idempotencyKey: String
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/teams", use: gate.page(list))
        dashboard.get("/teams/{team_id}", use: gate.page(show))
        let back: @Sendable (AppRequestContext) -> String = { context in
            DashboardPath.team(context.parameters.get("team_id") ?? "")
        }
        dashboard.post("/teams/{team_id}/suspend", use: gate.action(back: back) { _, context in try await setStatus(context, .suspended) })
        dashboard.post("/teams/{team_id}/resume", use: gate.action(back: back) { _, context in try await setStatus(context, .active) })
        dashboard.post("/teams/{team_id}/credits", use: gate.action(back: back, addCredits))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        let listed = try await teamsAPI.list(request, context: context)
        let view = ListView(
            teams: listed.teams.map(TeamRow.init),
            next: listed.nextCursor.value.map { DashboardPath.query("/admin/teams", [("cursor", $0)]) }
        )
        return templates.page("teams", DashboardPage(.teams, title: "Teams", session: session, body: view))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        let team = try await teamsAPI.get(request, context: context)
        async let usage = teamsAPI.teamUsage(Self.usageRequest(), context: context)
        async let ledger = credits.transactions(teamID: team.teamID, limit: 10, after: nil)
        let (report, entries) = try await (usage, ledger)
        let limits = team.limits.limits
        let view = TeamView(
            team: TeamRow(team),
            balance: [
                Field(name: "Remaining", value: DashboardFormat.number(team.creditsRemaining)),
                Field(name: "Allocated", value: DashboardFormat.number(team.creditsAllocated)),
                Field(name: "Used", value: DashboardFormat.number(team.creditsUsed)),
                Field(name: "Reserved (running jobs)", value: DashboardFormat.number(team.creditsReserved)),
            ],
            usage: [
                Field(name: "Period", value: report.period),
                Field(name: "Jobs", value: DashboardFormat.number(report.jobs.total)),
                Field(name: "Completed", value: DashboardFormat.number(report.jobs.completed)),
                Field(name: "Failed", value: DashboardFormat.number(report.jobs.failed)),
                Field(name: "Credits used", value: DashboardFormat.number(report.creditsUsed)),
                Field(name: "Tokens", value: DashboardFormat.number(report.tokens.total)),
                Field(name: "Cost (USD)", value: "\(report.costUSD)"),
            ],
            limits: [
                Field(name: "Max queued jobs", value: limits.maxQueuedJobs.map { DashboardFormat.number($0) } ?? "no limit"),
                Field(name: "Submits per second", value: limits.submitsPerSecond.map { "\($0)" } ?? "no limit"),
                Field(name: "Max concurrent jobs", value: limits.maxConcurrentJobs.map { DashboardFormat.number($0) } ?? "no limit"),
                Field(name: "Retention", value: limits.retentionDays.map { "\($0) days" } ?? "kept"),
                Field(name: "Low-balance alert below", value: limits.lowBalanceThreshold.map { DashboardFormat.number($0) } ?? "off"),
            ],
            billing: [
                Field(name: "Budget mode", value: team.budgetMode),
                Field(name: "Tokens per credit", value: DashboardFormat.number(team.tokensPerCredit)),
                Field(name: "Credits per dollar", value: "\(team.creditsPerDollar)"),
                Field(name: "Model groups", value: team.modelGroups.isEmpty ? DashboardFormat.none : team.modelGroups.joined(separator: ", ")),
                Field(name: "Key prefix", value: DashboardFormat.text(team.keyPrefix)),
                Field(name: "Created", value: DashboardFormat.time(team.createdAt)),
            ],
            ledger: entries.items.map {
                Entry(
                    when: DashboardFormat.time($0.createdAt),
                    type: $0.type.rawValue,
                    amount: DashboardFormat.number($0.amount),
                    after: DashboardFormat.number($0.after),
                    reason: DashboardFormat.text($0.reason),
                    job: $0.jobID.map(DashboardPath.job)
                )
            },
            suspendAction: "\(DashboardPath.team(team.teamID))/suspend",
            resumeAction: "\(DashboardPath.team(team.teamID))/resume",
            creditsAction: "\(DashboardPath.team(team.teamID))/credits",
            jobsHref: DashboardPath.query("/admin/jobs", [("team_id", team.teamID)]),
            idempotencyKey: "dashboard-\(DashboardToken.random())"
        )
        return templates.page("team", DashboardPage(.teams, title: "Team \(team.teamID)", session: session, body: view))
    }

    func setStatus(_ context: AppRequestContext, _ status: TeamStatus) async throws -> DashboardOutcome {
        let team = try await teamsAPI.setStatus(context, status)
        let done = status == .suspended ? "suspended: its keys are refused and its queued jobs wait" : "resumed"
        return DashboardOutcome(flash: "Team \(team.teamID) \(done).")
    }

    /// `POST /api/credits/teams/{team_id}/add` on the form's fields: the API's own
    /// ``CreditController/add(teamID:credits:reason:idempotencyKey:to:)``, rules, key and all.
    @Sendable func addCredits(_ form: DashboardForm, context: AppRequestContext) async throws -> DashboardOutcome {
        let id = try context.teamID()
        guard let amount = Int(form.text("credits") ?? "") else { throw APIError.dashboardNotAWholeNumber("Credits") }
        let entry = try await CreditController.add(
            teamID: id,
            credits: amount,
            reason: form.text("reason"),
            idempotencyKey: form.text("idempotency_key"),
            to: credits
        )
        return DashboardOutcome(
            flash: "Added \(DashboardFormat.number(entry.amount)) credits to team \(id); balance now \(DashboardFormat.number(entry.after))."
        )
    }

    /// `?period=` this month, for ``TeamController/teamUsage(_:context:)``.
    static func usageRequest(now: Date = Date()) -> Request {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month], from: now)
        let period = String(format: "%04d-%02d", c.year ?? 1970, c.month ?? 1)
        return Request(head: .init(method: .get, scheme: nil, authority: nil, path: "/admin?period=\(period)"), body: .init(buffer: .init()))
    }
}
