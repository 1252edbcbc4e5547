public import Foundation

/// One call of a step-by-step job, as `llm-call` and `GET /api/jobs/{id}/calls/{call_id}` answer
/// it. A call is a job of its own (queued, claimed, retried and settled by the workers like any
/// job); this is its view from the job it belongs to.
public struct StepCall: Sendable, Hashable {
    public var callID: UUID
    public var jobID: UUID
    public var status: JobStatus
    /// The model group the call asked for.
    public var modelGroup: String
    public var purpose: String?
    /// Made with `llm-call-stream`: its deltas are in the call's stream.
    public var stream: Bool
    /// `{content, finish_reason, tool_calls?}` once completed.
    public var result: JSONValue?
    public var usage: TokenUsage?
    public var costUSD: Decimal?
    public var errorCode: JobErrorCode?
    public var errorMessage: String?
    public var creditsReserved: Int
    /// What the call will cost once its job is completed (set when the call completes).
    public var creditsDue: Int?
    public var creditsCharged: Int
    /// The model that answered (the group's first model that succeeded), and how long it took.
    public var modelUsed: String?
    public var latencyMS: Int?
    public var createdAt: Date
    public var completedAt: Date?

    public init(
        callID: UUID,
        jobID: UUID,
        status: JobStatus,
        modelGroup: String,
        purpose: String? = nil,
        stream: Bool = false,
        result: JSONValue? = nil,
        usage: TokenUsage? = nil,
        costUSD: Decimal? = nil,
        errorCode: JobErrorCode? = nil,
        errorMessage: String? = nil,
        creditsReserved: Int = 0,
        creditsDue: Int? = nil,
        creditsCharged: Int = 0,
        modelUsed: String? = nil,
        latencyMS: Int? = nil,
        createdAt: Date = Date(),
        completedAt: Date? = nil
    ) {
        self.callID = callID
        self.jobID = jobID
        self.status = status
        self.modelGroup = modelGroup
        self.purpose = purpose
        self.stream = stream
        self.result = result
        self.usage = usage
        self.costUSD = costUSD
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.creditsReserved = creditsReserved
        self.creditsDue = creditsDue
        self.creditsCharged = creditsCharged
        self.modelUsed = modelUsed
        self.latencyMS = latencyMS
        self.createdAt = createdAt
        self.completedAt = completedAt
    }
}

/// An `llm-call` to queue on a step-by-step job, as the API validated it.
public struct CallRequest: Sendable {
    public var callID: UUID
    public var jobID: UUID
    /// The caller's team: a job of another team is refused inside the transaction that locks it.
    public var teamID: String
    public var modelGroup: String
    /// The chat call (`messages` and options; `stream`, `purpose`, `call_metadata` ride along).
    public var work: JobWork
    /// The most the call can use, priced under the job's rates inside the transaction.
    public var estimate: Billing.Estimate

    public init(callID: UUID = UUID.random(), jobID: UUID, teamID: String, modelGroup: String, work: JobWork, estimate: Billing.Estimate) {
        self.callID = callID
        self.jobID = jobID
        self.teamID = teamID
        self.modelGroup = modelGroup
        self.work = work
        self.estimate = estimate
    }
}

/// How a step-by-step job ended through `complete`: the job, its calls and their costs.
public struct StepCompletion: Sendable, Hashable {
    public var job: Job
    public var calls: [StepCall]
    public var costs: JobCosts
    /// False when the job had already been completed: this answer repeats the first, and
    /// nothing was charged.
    public var settledNow: Bool
    /// What this `complete`'s transaction came to (``SettlementMetrics``): the job ended and the
    /// credits charged; empty when it repeats the first answer.
    public var tally: SettlementTally

    public init(job: Job, calls: [StepCall], costs: JobCosts, settledNow: Bool, tally: SettlementTally = SettlementTally()) {
        self.job = job
        self.calls = calls
        self.costs = costs
        self.settledNow = settledNow
        self.tally = tally
    }
}
