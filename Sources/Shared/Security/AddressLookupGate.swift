import Synchronization

/// Bounds the host lookups of a process: at most `limit` run at once, and a caller waits for one
/// at most `timeout`. The system resolver blocks a thread of its own for as long as a nameserver
/// stays silent, and a thread cannot be stopped; so a lookup that timed out keeps its place until
/// it really ends, and a caller past the bound is refused at once rather than given one more
/// thread — a tenant looping webhook PUTs at a silent nameserver costs at most `limit` threads.
public final class AddressLookupGate: Sendable {
    /// What a lookup came to.
    public enum Outcome: Sendable, Equatable {
        /// The resolver's answer (nil: the host does not resolve).
        case addresses([String]?)
        /// Every place was taken; nothing was started.
        case busy
        /// The resolver did not answer within `timeout`; it still holds its place until it does.
        case timedOut
    }

    /// The process's gate: 8 lookups at once, 5 seconds each.
    public static let shared = AddressLookupGate(limit: 8, timeout: .seconds(5))

    public let limit: Int
    public let timeout: Duration
    private let running = Mutex(0)

    public init(limit: Int, timeout: Duration) {
        precondition(limit >= 1, "an address lookup gate admits at least one lookup")
        self.limit = limit
        self.timeout = timeout
    }

    /// Lookups holding a place now (those that timed out included, until they end).
    public var count: Int { running.withLock { $0 } }

    /// `host`'s addresses from `resolver`, within the gate's bounds.
    public func lookUp(_ host: String, with resolver: any HostResolver) async -> Outcome {
        let entered = running.withLock { running in
            guard running < limit else { return false }
            running += 1
            return true
        }
        guard entered else { return .busy }
        let answer = Answer()
        return await withCheckedContinuation { continuation in
            answer.wait(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { answer.give(.timedOut) }
            }
            // Not a child of the caller: after a timeout the caller goes on, and the lookup keeps
            // its place until the resolver returns.
            Task {
                let addresses = await resolver.addresses(of: host)
                running.withLock { $0 -= 1 }
                timer.cancel()
                answer.give(.addresses(addresses))
            }
        }
    }

    /// The first of the lookup's answer and its timeout, given to the waiting caller once.
    private final class Answer: Sendable {
        private let waiting = Mutex<CheckedContinuation<Outcome, Never>?>(nil)

        func wait(_ continuation: CheckedContinuation<Outcome, Never>) {
            waiting.withLock { $0 = continuation }
        }

        func give(_ outcome: Outcome) {
            waiting.withLock { $0.take() }?.resume(returning: outcome)
        }
    }
}
