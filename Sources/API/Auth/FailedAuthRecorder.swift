import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Synchronization

/// Counts failed authentications in memory and writes them to the audit log in the background,
/// aggregated per source, kind and minute: a spray of bad keys costs a counter increment per
/// request and one upsert every few seconds, never a database write per request. Keys are never
/// recorded, only where the attempt came from and what kind it was.
final class FailedAuthRecorder: Service, Sendable {
    enum Kind: String, Sendable {
        case adminMissing = "auth.admin.missing_key"
        case adminInvalid = "auth.admin.invalid_key"
        case teamMissing = "auth.team.missing_key"
        case teamInvalid = "auth.team.invalid_key"
    }

    private struct Key: Hashable {
        var source: String
        var kind: Kind
        var minute: Int
    }

    private let counts = Mutex<[Key: Int]>([:])
    private let audit: any AuditStore
    private let interval: Duration
    private let logger: Logger

    init(audit: any AuditStore, interval: Duration = .seconds(2), logger: Logger) {
        self.audit = audit
        self.interval = interval
        self.logger = logger
    }

    func record(_ kind: Kind, source: String) {
        Counter(label: "auth_failures_total", dimensions: [("kind", kind.rawValue)]).increment()
        let minute = Int(Date().timeIntervalSince1970 / 60)
        counts.withLock { $0[Key(source: String(source.prefix(64)), kind: kind, minute: minute), default: 0] += 1 }
    }

    /// Writes what was counted since the last flush. On failure the counts are put back.
    func flush() async {
        let batch = counts.withLock { counts in
            defer { counts.removeAll(keepingCapacity: true) }
            return counts
        }
        guard !batch.isEmpty else { return }
        let rows = batch.map { key, count in
            FailedAuthenticationCount(
                source: key.source,
                kind: key.kind.rawValue,
                windowStart: Date(timeIntervalSince1970: Double(key.minute * 60)),
                count: count
            )
        }
        do {
            try await audit.recordFailedAuthentications(rows)
        } catch {
            logger.warning("could not write failed authentications", metadata: ["error": "\(error)"])
            counts.withLock { counts in
                for (key, count) in batch { counts[key, default: 0] += count }
            }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }
}
