import Foundation
import Hummingbird
import Shared

/// `POST /api/jobs/estimate`: what a submit of this body would reserve — checked as a submit is,
/// estimated by the same ``ReservationEstimator`` and priced at the team's rates as they are now —
/// and nothing is stored.
struct EstimateController {
    let teams: any TeamStore
    let access: ModelAccessCache
    let estimator: ReservationEstimator

    init(_ dependencies: AppDependencies, estimator: ReservationEstimator) {
        teams = dependencies.teams
        access = dependencies.modelAccess
        self.estimator = estimator
    }

    struct EstimateResponse: ResponseEncodable {
        var creditsReserved: Int
        var callsPlanned: Int
        var promptTokensEstimate: Int
        /// The worst case in USD: every planned call's prompt and `max_tokens` on the priciest model.
        var maxCostUSD: Decimal

        enum CodingKeys: String, CodingKey {
            case creditsReserved = "credits_reserved"
            case callsPlanned = "calls_planned"
            case promptTokensEstimate = "prompt_tokens_estimate"
            case maxCostUSD = "max_cost_usd"
        }
    }

    func addRoutes(team: RouteTable<AppRequestContext>) {
        team.post("/jobs/estimate", use: estimate)
    }

    @Sendable func estimate(_ request: Request, context: AppRequestContext) async throws -> EstimateResponse {
        let identity = try context.requireTeam()
        if UploadSubmission.isMultipart(request) { throw APIError.estimateNotJSON }
        let body = try await request.decode(as: SubmitRequest.self, context: context)
        let work = try body.validated()
        guard body.teamID == identity.teamID else { throw APIError.keyNotForTeam(body.teamID) }
        // A job without work waits `pending` and reserves nothing until its first call.
        guard let model = body.model, let work else {
            return EstimateResponse(creditsReserved: 0, callsPlanned: 0, promptTokensEstimate: 0, maxCostUSD: 0)
        }
        let (estimate, callsPlanned) = try await access.estimate(work, model: model, teamID: identity.teamID, with: estimator)
        let billing = try await teams.get(identity.teamID).billing
        return EstimateResponse(
            creditsReserved: Billing.reservation(estimate, billing),
            callsPlanned: callsPlanned,
            promptTokensEstimate: estimate.promptTokens,
            maxCostUSD: estimate.maxCostUSD
        )
    }
}
