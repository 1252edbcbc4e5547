import Foundation
import Logging
import Shared

/// Announces this worker (host, concurrency, load) so admins can see it and decide to scale, and
/// learns from the answer whether an admin asked it to drain.
struct Heartbeat: Sendable {
    let registry: WorkerRegistry
    let info: @Sendable () -> WorkerInfo
    let interval: Duration
    let onDrainRequested: @Sendable () -> Void
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            do {
                if try await registry.heartbeat(info()) { onDrainRequested() }
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
