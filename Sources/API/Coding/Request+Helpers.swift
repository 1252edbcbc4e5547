import Foundation
import HTTPTypes
import Hummingbird
import Shared
import UUIDText

/// What handlers read off a request besides its body, written once for every controller: the ids
/// in its path, the caller's right to a team's resources, and the `Idempotency-Key` header.
extension AppRequestContext {
    /// `{team_id}`.
    func teamID() throws -> String { try pathIdentifier("team_id") { .teamNotFound($0) } }
    /// `{org_id}`.
    func organizationID() throws -> String { try pathIdentifier("org_id") { .organizationNotFound($0) } }
    /// `{name}` of `/api/model-groups/{name}`.
    func modelGroupName() throws -> String { try pathIdentifier("name") { .modelGroupNotFound($0) } }
    /// `{name}` of `/api/providers/{name}`.
    func providerName() throws -> String { try pathIdentifier("name") { .providerNotFound($0) } }

    /// `{job_id}`: a job id is a UUID, so anything else names no job.
    func jobID() throws -> UUID {
        guard let id = UUIDText.parse(try parameters.require("job_id")) else { throw APIError.jobNotFound }
        return id
    }

    /// `{worker_id}`: a worker names itself (host and process), so up to 200 bytes.
    func workerID() throws -> String {
        let id = try parameters.require("worker_id")
        guard id.utf8.count <= 200 else { throw APIError.workerNotFound(id.prefix(200)) }
        return id
    }

    /// An identifier in the path. An impossible one cannot name anything, so it is the
    /// resource's 404 — and 10 KB of it is refused here without touching the database.
    private func pathIdentifier(_ name: String, notFound: (Substring) -> APIError) throws -> String {
        let id = try parameters.require(name)
        guard Validate.pathIdentifier(id) else { throw notFound(id.prefix(64)) }
        return id
    }

    /// The team of a team route's key.
    func requireTeam() throws(APIError) -> TeamIdentity {
        guard let team else { throw .invalidAPIKey }
        return team
    }

    /// A team key reaches only its own team's resources; the admin key reaches any.
    func requireOwnTeam(_ teamID: String, for resource: APIError.TeamResource) throws(APIError) {
        if isAdmin { return }
        guard let team, team.teamID == teamID else { throw .foreignTeam(resource) }
    }
}

extension Request {
    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!

    /// The `Idempotency-Key` header, if sent: 1–255 visible ASCII characters.
    func idempotencyKey() throws(APIError) -> String? {
        guard let key = headers[Self.idempotencyKeyHeader] else { return nil }
        return try Self.validIdempotencyKey(key)
    }

    /// `key` when it is 1–255 visible ASCII characters, else 422: the rule of the header, for a
    /// key that arrives another way too (the dashboard's credit form).
    static func validIdempotencyKey(_ key: String) throws(APIError) -> String {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .idempotencyKeyInvalid }
        return key
    }

    /// The path's job on the routes of the original system's flows (steps, calls, streams,
    /// events): the caller's team's own, else 404 `Job not found` / 403 `Job does not belong to
    /// your team`, its sentence on those routes.
    func teamJob(_ jobs: any JobStore, context: AppRequestContext) async throws -> Job {
        let jobID = try context.jobID()
        guard let job = try await jobs.get(jobID) else { throw APIError.jobNotFound }
        guard job.teamID == context.team?.teamID else { throw APIError.jobOfAnotherTeam }
        return job
    }

    /// `?wait=` of the call routes, in seconds: `value` when absent, at most 600 (API.md), 422
    /// when not a number. Read before anything is queued, so a bad one changes nothing.
    func waitSeconds(default value: Double) throws(APIError) -> Double {
        guard let raw = uri.queryParameters["wait"] else { return value }
        guard let seconds = Double(String(raw)), seconds >= 0, seconds.isFinite else { throw .waitInvalid }
        return min(seconds, 600)
    }

    /// `?status=` of the job lists, if given.
    func jobStatusFilter() throws(APIError) -> JobStatus? {
        guard let raw = uri.queryParameters["status"], !raw.isEmpty else { return nil }
        guard let status = JobStatus(rawValue: String(raw)) else { throw .statusUnknown }
        return status
    }
}
