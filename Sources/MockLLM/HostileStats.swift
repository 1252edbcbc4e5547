import Synchronization

/// What the hostile mode did: answers per kind, and the requests that reached
/// `/_mock/redirect-target`.
///
/// The redirect target is a trap: a correct client never follows the hostile mode's redirects
/// (a followed redirect can carry the key to another origin, or turn the POST into a GET), so any
/// hit there is a bug in the client. Reset with the other counters by `POST /_mock/stats/reset`.
final class HostileStats: Sendable {
    struct Snapshot: Sendable, Equatable {
        var byKind: [HostileKind: Int] = [:]
        var redirectTargetHits = 0
    }

    private let state = Mutex(Snapshot())

    func answered(_ kind: HostileKind) {
        self.state.withLock { $0.byKind[kind, default: 0] += 1 }
    }

    func redirectFollowed() {
        self.state.withLock { $0.redirectTargetHits += 1 }
    }

    var snapshot: Snapshot {
        self.state.withLock { $0 }
    }

    func reset() {
        self.state.withLock { $0 = Snapshot() }
    }
}
