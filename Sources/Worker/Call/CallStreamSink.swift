import Foundation
import Logging
import Shared
import Synchronization

/// The ``DeltaSink`` of one streaming call: its deltas go to the call's stream in
/// ``CallStreams``, without ever holding the call up on Redis.
///
/// `delta` and `reset` only add to a buffer and return. One writer task at a time drains it: it
/// appends everything that piled up while its previous append was in flight, so a fast upstream
/// costs one round trip per Redis latency, not per delta. Past `maxPending` events waiting, new
/// text is joined to the last waiting delta (the text stays whole; only the numbering is
/// coarser). An append that fails is logged and dropped: the live view may miss text, the call
/// and its billing never fail for it (the result is settled from the upstream's answer anyway).
final class CallStreamSink: DeltaSink {
    private struct State {
        var pending: [CallStreamEvent] = []
        var writing = false
        var drained: [CheckedContinuation<Void, Never>] = []
        var failures = 0
    }

    private let streams: any CallStreams
    private let streamID: UUID
    private let maxPending: Int
    private let logger: Logger
    private let state = Mutex(State())

    init(streams: any CallStreams, streamID: UUID, maxPending: Int = 1_000, logger: Logger) {
        self.streams = streams
        self.streamID = streamID
        self.maxPending = max(1, maxPending)
        self.logger = logger
    }

    func delta(_ text: String) async {
        guard !text.isEmpty else { return }
        enqueue(.delta(text))
    }

    func reset() async {
        enqueue(.reset)
    }

    /// Returns once everything handed to the sink so far was appended (or dropped after a
    /// failure): call it before the call's result is settled, so a reader that sees the job end
    /// finds every delta in the stream.
    func finish() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state in
                if !state.writing && state.pending.isEmpty { return true }
                state.drained.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Appends that failed (their events were dropped).
    var failures: Int { state.withLock { $0.failures } }

    private func enqueue(_ event: CallStreamEvent) {
        let startWriter = state.withLock { state in
            if state.pending.count >= maxPending, case .delta(let text) = event, case .delta(let last) = state.pending.last {
                state.pending[state.pending.count - 1] = .delta(last + text)
            } else {
                state.pending.append(event)
            }
            if state.writing { return false }
            state.writing = true
            return true
        }
        if startWriter {
            Task { await self.drain() }
        }
    }

    /// The one writer: appends what is waiting until nothing is, then wakes `finish`.
    private func drain() async {
        while true {
            let batch: [CallStreamEvent] = state.withLock { state in
                defer { state.pending = [] }
                return state.pending
            }
            if batch.isEmpty {
                let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                    // Something may have arrived since the batch was taken: keep writing then.
                    guard state.pending.isEmpty else { return nil }
                    state.writing = false
                    defer { state.drained = [] }
                    return state.drained
                }
                guard let waiters else { continue }
                for waiter in waiters { waiter.resume() }
                return
            }
            do {
                try await streams.append(streamID, batch)
            } catch {
                let first = state.withLock { state in
                    state.failures += 1
                    return state.failures == 1
                }
                // One line per call, not per batch: a Redis that is down fails every append.
                if first {
                    logger.warning(
                        "call stream append failed; its live view misses text",
                        metadata: ["job_id": "\(streamID)", "error": "\(error)"]
                    )
                }
            }
        }
    }
}
