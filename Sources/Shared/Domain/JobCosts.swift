public import Foundation

/// What a job's calls came to, as `complete`, `create-and-call` and `GET /api/jobs/{id}/costs`
/// answer: counts, tokens, cost and credits, with one line per call.
public struct JobCosts: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var callID: UUID
        public var status: String
        public var model: String?
        public var modelUsed: String?
        public var usage: TokenUsage
        public var costUSD: Decimal
        public var latencyMS: Int
        public var credits: Int
        public var error: String?

        public init(
            callID: UUID,
            status: String,
            model: String?,
            modelUsed: String?,
            usage: TokenUsage,
            costUSD: Decimal,
            latencyMS: Int,
            credits: Int,
            error: String?
        ) {
            self.callID = callID
            self.status = status
            self.model = model
            self.modelUsed = modelUsed
            self.usage = usage
            self.costUSD = costUSD
            self.latencyMS = latencyMS
            self.credits = credits
            self.error = error
        }
    }

    public var totalCalls: Int
    public var successfulCalls: Int
    public var failedCalls: Int
    public var totalTokens: Int
    public var totalCostUSD: Decimal
    /// Over the successful calls; 0 when there is none.
    public var avgLatencyMS: Int
    public var creditsCharged: Int
    public var creditsRemaining: Int
    public var breakdown: [Line]

    public init(lines: [Line], successful: (Line) -> Bool, creditsCharged: Int, creditsRemaining: Int) {
        let good = lines.filter(successful)
        totalCalls = lines.count
        successfulCalls = good.count
        failedCalls = lines.count - good.count
        totalTokens = lines.reduce(0) { $0 + $1.usage.totalTokens }
        totalCostUSD = lines.reduce(Decimal(0)) { $0 + $1.costUSD }
        avgLatencyMS = good.isEmpty ? 0 : good.reduce(0) { $0 + $1.latencyMS } / good.count
        self.creditsCharged = creditsCharged
        self.creditsRemaining = creditsRemaining
        breakdown = lines
    }

    /// A step-by-step job's costs: one line per `llm-call` (a call still running counts, as
    /// neither successful nor failed until it ends — `complete` refuses while one runs). A line's
    /// `credits` is what the call was charged once the job ended (`settled`: the job's charge
    /// spread over its calls), and until then what it would cost alone (its due).
    public static func steps(_ calls: [StepCall], settled: Bool, creditsCharged: Int, creditsRemaining: Int) -> JobCosts {
        let lines = calls.map { call in
            Line(
                callID: call.callID,
                status: call.status.rawValue,
                model: call.modelGroup,
                modelUsed: call.modelUsed,
                usage: call.usage ?? .zero,
                costUSD: call.costUSD ?? 0,
                latencyMS: call.latencyMS ?? 0,
                credits: settled ? call.creditsCharged : (call.creditsDue ?? 0),
                error: call.errorMessage
            )
        }
        var costs = JobCosts(
            lines: lines,
            successful: { $0.status == JobStatus.completed.rawValue },
            creditsCharged: creditsCharged,
            creditsRemaining: creditsRemaining
        )
        costs.failedCalls = calls.filter { $0.status.isTerminal && $0.status != .completed }.count
        return costs
    }

    /// A job submitted with its work: one line per upstream call its deliveries made (a call is
    /// successful when the upstream answered it without error).
    public static func upstream(_ calls: [JobCall], modelGroup: String?, creditsCharged: Int, creditsRemaining: Int) -> JobCosts {
        let lines = calls.map { call in
            Line(
                callID: call.callID,
                status: call.error == nil ? "completed" : "failed",
                model: modelGroup,
                modelUsed: call.model,
                usage: call.usage,
                costUSD: call.costUSD,
                latencyMS: call.latencyMS,
                credits: 0,
                error: call.error
            )
        }
        return JobCosts(lines: lines, successful: { $0.error == nil }, creditsCharged: creditsCharged, creditsRemaining: creditsRemaining)
    }
}
