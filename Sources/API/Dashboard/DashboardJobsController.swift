import Foundation
import Hummingbird
import Shared

/// `/admin/jobs`: any team's jobs, newest first, filtered by team and status, a page at a time
/// (``AdminJobController``'s list and its cursor); one job with its upstream calls and the API's
/// admin answer for it; cancel and retry through ``AdminJobController``.
struct DashboardJobsController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let adminJobs: AdminJobController

    struct Row {
        var jobID: String
        var href: String
        var teamID: String
        var teamHref: String
        var jobType: String
        var status: String
        var statusClass: String
        var created: String
        var modelGroup: String
        var credits: String
    }

    struct Option {
        var value: String
        var label: String
        var selected: Bool
    }

    struct ListView {
        var jobs: [Row]
        var teamID: String
        var statuses: [Option]
        var filtered: Bool
        var next: String?
    }

    struct Field {
        var name: String
        var value: String
    }

    struct Call {
        var step: String
        var model: String
        var provider: String
        var attempt: String
        var status: String
        var error: String
        var tokens: String
        var latency: String
        var billed: String
    }

    struct JobView {
        var jobID: String
        var status: String
        var statusClass: String
        var fields: [Field]
        var error: String?
        var calls: [Call]
        var canCancel: Bool
        var canRetry: Bool
        var cancelAction: String
        var retryAction: String
        /// `GET /api/admin/jobs/{id}`'s answer, pretty-printed (shown escaped).
        var json: String
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/jobs", use: gate.page(list))
        dashboard.get("/jobs/{job_id}", use: gate.page(show))
        let back: @Sendable (AppRequestContext) -> String = { context in
            "/admin/jobs/\(DashboardPath.segment(context.parameters.get("job_id") ?? ""))"
        }
        dashboard.post("/jobs/{job_id}/cancel", use: gate.action(back: back, cancel))
        dashboard.post("/jobs/{job_id}/retry", use: gate.action(back: back, retry))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        let query = request.uri.queryParameters
        let team = query["team_id"].map(String.init) ?? ""
        let status = query["status"].map(String.init) ?? ""
        // The filter form sends empty fields for "any": the same page without them, so the API's
        // list reads only the filters that are set.
        if query.contains(where: { $0.value.isEmpty }) {
            return DashboardGate.redirect(
                to: DashboardPath.query("/admin/jobs", [("team_id", team), ("status", status), ("cursor", query["cursor"].map(String.init))])
            )
        }
        let page = try await adminJobs.list(request, context: context)
        let view = ListView(
            jobs: page.jobs.map { Self.row($0.job) },
            teamID: team,
            statuses: [Option(value: "", label: "any status", selected: status.isEmpty)]
                + JobStatus.allCases.map {
                    Option(value: $0.rawValue, label: $0.rawValue.replacingOccurrences(of: "_", with: " "), selected: $0.rawValue == status)
                },
            filtered: !team.isEmpty || !status.isEmpty,
            next: page.nextCursor.value.map { DashboardPath.query("/admin/jobs", [("team_id", team), ("status", status), ("cursor", $0)]) }
        )
        return templates.page("jobs", DashboardPage(.jobs, title: "Jobs", session: session, body: view))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext, session: DashboardSession) async throws -> Response {
        let answer = try await adminJobs.get(request, context: context)
        let job = answer.job.job
        let calls = try await adminJobs.jobs.calls(job.jobID)
        let encoder = JSONCoding.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? String(decoding: encoder.encode(answer), as: UTF8.self)) ?? ""
        var fields = [
            Field(name: "Team", value: job.teamID),
            Field(name: "Type", value: job.jobType),
            Field(name: "Model group", value: DashboardFormat.text(job.modelGroup)),
            Field(name: "Priority", value: String(job.priority)),
            Field(name: "Created", value: DashboardFormat.time(job.createdAt)),
            Field(name: "Started", value: DashboardFormat.time(job.startedAt)),
            Field(name: "Ended", value: DashboardFormat.time(job.completedAt)),
            Field(name: "Expires", value: DashboardFormat.time(job.expiresAt)),
            Field(name: "Attempts", value: String(job.attempts)),
            Field(name: "Calls", value: "\(job.callsDone) of \(job.callsPlanned)"),
            Field(name: "Credits reserved", value: DashboardFormat.number(job.creditsReserved)),
            Field(name: "Credits charged", value: DashboardFormat.number(job.creditsCharged)),
        ]
        if let user = job.userID { fields.append(Field(name: "User", value: user)) }
        let error = job.errorCode.map { code in [code.rawValue, job.errorMessage].compactMap { $0 }.joined(separator: ": ") }
        let path = DashboardPath.job(job.jobID)
        let view = JobView(
            jobID: job.jobID.uuidString.lowercased(),
            status: job.status.rawValue.replacingOccurrences(of: "_", with: " "),
            statusClass: Self.statusClass(job.status),
            fields: fields,
            error: error,
            calls: calls.map {
                Call(
                    step: "\($0.step) \($0.stepIndex)",
                    model: $0.model,
                    provider: $0.provider,
                    attempt: String($0.attempt),
                    status: $0.statusCode.map(String.init) ?? DashboardFormat.none,
                    error: DashboardFormat.text([$0.errorClass, $0.error].compactMap { $0 }.joined(separator: ": ")),
                    tokens: "\(DashboardFormat.number($0.usage.promptTokens)) in, \(DashboardFormat.number($0.usage.completionTokens)) out",
                    latency: "\(DashboardFormat.number($0.latencyMS)) ms",
                    billed: $0.billed ? "yes" : "no"
                )
            },
            canCancel: !job.status.isTerminal && job.status != .cancelling,
            canRetry: Self.canRetry(job),
            cancelAction: "\(path)/cancel",
            retryAction: "\(path)/retry",
            json: json
        )
        return templates.page("job", DashboardPage(.jobs, title: "Job \(view.jobID)", session: session, body: view))
    }

    @Sendable func cancel(_ form: DashboardForm, context: AppRequestContext) async throws -> DashboardOutcome {
        let answer = try await adminJobs.cancel(Request.dashboardAction, context: context)
        return DashboardOutcome(
            flash: "Job \(answer.job.jobID.uuidString.lowercased()) is \(answer.job.status.rawValue.replacingOccurrences(of: "_", with: " "))."
        )
    }

    @Sendable func retry(_ form: DashboardForm, context: AppRequestContext) async throws -> DashboardOutcome {
        let answer = try await adminJobs.retry(Request.dashboardAction, context: context)
        return DashboardOutcome(flash: "Job \(answer.job.jobID.uuidString.lowercased()) is queued again.")
    }

    static func row(_ job: Job) -> Row {
        Row(
            jobID: job.jobID.uuidString.lowercased(),
            href: DashboardPath.job(job.jobID),
            teamID: job.teamID,
            teamHref: DashboardPath.team(job.teamID),
            jobType: job.jobType,
            status: job.status.rawValue.replacingOccurrences(of: "_", with: " "),
            statusClass: statusClass(job.status),
            created: DashboardFormat.time(job.createdAt),
            modelGroup: DashboardFormat.text(job.modelGroup),
            credits: DashboardFormat.number(job.status.isTerminal ? job.creditsCharged : job.creditsReserved)
        )
    }

    /// Whether the store's `retry` would take the job: a failed job submitted with its work whose
    /// content is still there. A step-by-step job (no model group: its calls settle together
    /// through `complete`) and a cancelled or expired job are refused (409), so no button is
    /// offered for them.
    static func canRetry(_ job: Job) -> Bool {
        job.status == .failed && job.modelGroup != nil && job.contentErasedAt == nil
    }

    /// `ok` (completed), `bad` (failed, expired), `warn` (cancelled, cancelling), `live` (the rest).
    static func statusClass(_ status: JobStatus) -> String {
        switch status {
        case .completed: return "ok"
        case .failed, .expired: return "bad"
        case .cancelled, .cancelling: return "warn"
        default: return "live"
        }
    }
}
