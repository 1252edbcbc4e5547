import CLibPQ
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells suspended callers when their PostgreSQL socket can be read or written: one thread per
/// process, waiting in `epoll_wait` for every pooled connection's socket at once.
///
/// Why: libpq in non-blocking mode never waits by itself, so a statement is sent and its answer
/// read by the task that holds the connection, on the Swift pool, without a hand-off to a thread
/// of its own. The only thing that would block — waiting for the server — is this reactor's job,
/// and it does nothing else: it never touches libpq, it only resumes the one task waiting on a
/// socket, which then reads the answer itself. A wakeup of the reactor serves every socket that
/// became ready meanwhile, so concurrent statements share wakeups instead of each paying a thread
/// switch.
///
/// Each wait arms the socket once (`EPOLLONESHOT`, level-triggered): data that arrived before the
/// wait was armed is reported at once, and a socket nobody waits on never wakes the thread.
final class PostgresReactor: Sendable {
    /// The process's reactor, started on first use and never stopped (its thread sleeps in
    /// `epoll_wait` when no statement is in flight).
    static let shared = PostgresReactor()

    struct Readiness: OptionSet, Sendable {
        let rawValue: UInt32
        static let readable = Readiness(rawValue: EPOLLIN.rawValue)
        static let writable = Readiness(rawValue: EPOLLOUT.rawValue)
        /// Reported whether asked for or not: the caller's next libpq call finds out what broke.
        static let failed = Readiness(rawValue: EPOLLERR.rawValue | EPOLLHUP.rawValue)
    }

    private let epoll: Int32
    /// The task waiting on each socket: at most one, since a connection is leased to one task.
    private let waiters = Mutex<[Int32: CheckedContinuation<Readiness, Never>]>([:])

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        let thread = Thread { [self] in loop() }
        thread.name = "postgres-reactor"
        thread.start()
    }

    /// Suspends until `socket` is ready for `interest` (or has failed: then both are reported, so
    /// that the caller's next libpq call sees the error).
    func wait(socket: Int32, for interest: Readiness) async -> Readiness {
        await withCheckedContinuation { (continuation: CheckedContinuation<Readiness, Never>) in
            waiters.withLock { $0[socket] = continuation }
            var event = epoll_event()
            event.events = interest.rawValue | EPOLLONESHOT.rawValue
            event.data.fd = socket
            if epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0 { return }
            if errno == ENOENT, epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0 { return }
            // Not a socket we can watch (closed under us): let libpq report what it finds.
            let waiting = waiters.withLock { $0.removeValue(forKey: socket) }
            waiting?.resume(returning: [.readable, .writable, .failed])
        }
    }

    /// Stops watching `socket`; called before libpq closes it, so that a new socket given the same
    /// number starts clean.
    func forget(socket: Int32) {
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, socket, nil)
    }

    private func loop() {
        let capacity: Int32 = 256
        var events = [epoll_event](repeating: epoll_event(), count: Int(capacity))
        while true {
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, capacity, -1) }
            if count < 0 {
                // EINTR (a signal) is the only error epoll_wait can have here.
                continue
            }
            for index in 0..<Int(count) {
                let socket = events[index].data.fd
                let readiness = Readiness(rawValue: events[index].events)
                let waiting = waiters.withLock { $0.removeValue(forKey: socket) }
                waiting?.resume(returning: readiness)
            }
        }
    }
}
