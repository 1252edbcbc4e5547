import Foundation
import HTTPTypes
import Hummingbird
import Postgres
import Shared
import Testing

@testable import API

/// The one error channel (issue 9, step 4): every ``DomainError`` becomes an answer with a status
/// and a sentence, and the infrastructure's errors keep their API.md answers.
@Suite("Errors: every refusal maps to a status and a detail, in one place")
struct ErrorCatalogueTests {
    /// One of each case. `expectedStatus` switches without a `default`, so a new case does not
    /// compile until it is listed there — and then belongs here too.
    static let everyDomainError: [DomainError] = [
        .organizationNotFound("o"), .organizationExists("o"), .teamNotFound("t"), .teamExists("t"),
        .modelGroupNotFound("g"), .modelGroupExists("g"), .modelGroupAssigned("g"), .modelGroupHasLiveJobs("g"),
        .providerNotFound("p"), .providerExists("p"), .providerInUse("p"),
        .balanceWouldGoNegative(remaining: 3, change: -5), .insufficientCredits(remaining: 1, needed: 2), .balanceLimitExceeded,
        .idempotencyKeyReused, .callerTeamNotFound, .jobNotFound, .jobAlreadyTerminal(.completed), .jobNotRetryable(.queued),
        .jobOfAnotherTeam, .notStepByStepJob, .callsInFlight, .callNotFound, .metadataTooLarge, .callLimitReached(1000), .stepByStepNotRetryable,
        .jobNotFinished(.inProgress), .jobContentErased,
    ]

    static func expectedStatus(_ error: DomainError) -> Int {
        switch error {
        case .organizationNotFound, .teamNotFound, .modelGroupNotFound, .providerNotFound, .jobNotFound, .callNotFound: return 404
        case .organizationExists, .teamExists, .modelGroupExists, .modelGroupAssigned, .modelGroupHasLiveJobs, .providerExists,
            .providerInUse, .balanceWouldGoNegative, .idempotencyKeyReused, .jobAlreadyTerminal, .jobNotRetryable, .notStepByStepJob,
            .callsInFlight, .callLimitReached, .stepByStepNotRetryable, .jobNotFinished, .jobContentErased:
            return 409
        case .jobOfAnotherTeam: return 403
        case .insufficientCredits: return 402
        case .balanceLimitExceeded, .metadataTooLarge: return 422
        case .callerTeamNotFound: return 401
        }
    }

    @Test("every DomainError case answers with its status and a non-empty sentence")
    func everyDomainErrorMaps() {
        #expect(Set(Self.everyDomainError).count == Self.everyDomainError.count)
        for error in Self.everyDomainError {
            let answer = APIError(answering: error, logger: nil)
            #expect(answer == APIError(error))
            #expect(Int(answer.status.code) == Self.expectedStatus(error), "\(error)")
            #expect(!answer.detail.trimmingCharacters(in: .whitespaces).isEmpty, "\(error)")
            #expect(answer.retryAfter == nil, "\(error)")
        }
    }

    @Test("API.md's sentences, as written")
    func sentences() {
        let cases: [(DomainError, String)] = [
            (.organizationNotFound("acme"), "Organization 'acme' not found"),
            (.organizationExists("acme"), "Organization with ID 'acme' already exists"),
            (.teamNotFound("t1"), "Team 't1' not found"),
            (.teamExists("t1"), "Team 't1' already exists"),
            (.modelGroupNotFound("g"), "Model group 'g' not found"),
            (.modelGroupExists("g"), "Model group 'g' already exists"),
            (.providerNotFound("p"), "Provider 'p' not found"),
            (.providerExists("p"), "Provider 'p' already exists"),
            (.insufficientCredits(remaining: 1, needed: 2), "Insufficient credits: 1 remaining, 2 needed"),
            (.idempotencyKeyReused, "Idempotency-Key reused with a different request"),
            (.callerTeamNotFound, "Invalid API key"),
            (.jobNotFound, "Job not found"),
            (.jobAlreadyTerminal(.completed), "Job is already completed"),
            (.jobNotRetryable(.queued), "Only failed jobs can be retried; this job is queued"),
        ]
        for (error, sentence) in cases {
            #expect(APIError(error).detail == sentence, "\(error)")
        }
    }

    @Test("a submit's refusals travel as DomainError: the outcomes the store names are refusals")
    func submitRefusals() {
        #expect(SubmitOutcome.idempotencyConflict == .refused(.idempotencyKeyReused))
        #expect(SubmitOutcome.insufficientCredits(remaining: 4, needed: 9) == .refused(.insufficientCredits(remaining: 4, needed: 9)))
        #expect(SubmitOutcome.teamNotFound == .refused(.callerTeamNotFound))
    }

    @Test("bounds answer with Retry-After; stores that are down with a 503; the unexpected with a generic 500")
    func infrastructure() {
        func answer(_ error: any Error) -> APIError { APIError(answering: error, logger: nil) }
        let submitQueue = answer(BatcherOverloaded(maxPending: 1))
        #expect(submitQueue.status == .serviceUnavailable && submitQueue.retryAfter == 1)
        #expect(submitQueue.detail == "Too many submissions are waiting; retry after 1 second")
        for refusal in [LongPollRefused.team, .process] {
            #expect(answer(refusal).status == .tooManyRequests && answer(refusal).retryAfter == 1)
        }
        #expect(
            answer(PostgresError.commitOutcomeUnknown("lost")).detail == "The outcome of the request is unknown; retry with the same Idempotency-Key"
        )
        #expect(answer(HTTPError(.notFound)) == .pathNotFound)
        #expect(answer(HTTPError(.contentTooLarge)).detail == "Request body is larger than the limit of \(1 << 20) bytes")
        struct Unexpected: Error {}
        #expect(answer(Unexpected()).status == .internalServerError && answer(Unexpected()).detail == "Internal server error")
        #expect(APIError.methodNotAllowed.detail == "Method not allowed")
    }

    @Test("a foreign team's resource is refused with API.md's sentence for it")
    func foreignTeam() {
        let expected: [(APIError.TeamResource, String)] = [
            (.jobs, "Cannot access jobs for a different team"),
            (.creditBalance, "Cannot access credit balance for a different team"),
            (.creditTransactions, "Cannot access credit transactions for a different team"),
            (.usage, "Cannot access usage data for a different team"),
            (.webhook, "Cannot access webhook for a different team"),
        ]
        for (resource, sentence) in expected {
            #expect(APIError.foreignTeam(resource) == .forbidden(sentence))
        }
    }
}
