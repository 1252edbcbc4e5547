import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// Long polls (`GET /api/jobs/{id}?wait=`): a poller waits here until a worker announces the
/// job's completion on Redis pub/sub, or its deadline passes. No sleeping loop.
final class CompletionWaiters: Service, Sendable {
    private let subscription: RedisSubscription
    private let waiters = Mutex<(next: Int, byJob: [UUID: [(id: Int, signal: Signal)]])>((0, [:]))

    init(redis: RedisConfiguration, channel: String, logger: Logger) {
        subscription = RedisSubscription(configuration: redis, channels: [channel], logger: logger)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await message in self.subscription.messages {
                for part in message.payload.split(separator: ",") {
                    if let id = UUID(uuidString: String(part)) { self.wake(id) }
                }
            }
        }
        subscription.stop()
    }

    /// Waits until `jobID` is announced or `timeout` passes. The waiter is registered before
    /// `isDone` is asked, so a completion between the caller's read and the wait is not missed.
    func wait(for jobID: UUID, timeout: Duration, isDone: @Sendable () async throws -> Bool) async throws {
        let signal = Signal()
        let id = waiters.withLock { state in
            state.next += 1
            state.byJob[jobID, default: []].append((state.next, signal))
            return state.next
        }
        defer { remove(jobID, id) }
        if try await isDone() { return }
        _ = await raceDeadline(seconds: Double(timeout.milliseconds) / 1000) { await signal.wait() }
    }

    private func wake(_ jobID: UUID) {
        let woken = waiters.withLock { $0.byJob.removeValue(forKey: jobID) } ?? []
        for waiter in woken { waiter.signal.fire() }
    }

    private func remove(_ jobID: UUID, _ id: Int) {
        let removed = waiters.withLock { state -> Signal? in
            guard let index = state.byJob[jobID]?.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = state.byJob[jobID]!.remove(at: index)
            if state.byJob[jobID]!.isEmpty { state.byJob[jobID] = nil }
            return waiter.signal
        }
        removed?.fire()
    }
}

/// A one-shot wake-up: `wait` returns once `fire` was called (before or after), or when the
/// waiting task is cancelled.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    func fire() {
        let continuation = state.withLock { state in
            state.fired = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let fired = state.withLock { state in
                    if state.fired { return true }
                    state.continuation = continuation
                    return false
                }
                if fired { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }
}
