public import Foundation

/// Whether the fleet claims: an admin's pause stops every worker's claims at once (the claim
/// script itself looks), while jobs stay queued, submits go on being accepted and running jobs
/// renew, settle and are swept as ever. One hash in Redis (``QueueKeys/pause``) holds it for the
/// claim script, so it outlives every process; PostgreSQL records it too (``FleetPauseStore``),
/// and the sweeper sets Redis from that record when Redis lost its data.
public struct QueuePause: Sendable, Hashable {
    /// True while no claim leases anything.
    public var paused: Bool
    /// When claiming was last paused or resumed; nil when it never was.
    public var since: Date?
    /// Whether the call that answered this changed the state (false: it already was so, and
    /// `since` is the earlier change).
    public var changed: Bool

    public init(paused: Bool, since: Date?, changed: Bool = false) {
        self.paused = paused
        self.since = since
        self.changed = changed
    }
}
