import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Synchronization
import Telemetry

/// Counts failed authentications in memory and writes them to the audit log in the background,
/// aggregated per source, kind and minute: a spray of bad keys costs a counter increment per
/// request and one upsert every few seconds, never a database write per request. Keys are never
/// recorded, only where the attempt came from and what kind it was.
final class FailedAuthRecorder: Service, Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case adminMissing = "auth.admin.missing_key"
        case adminInvalid = "auth.admin.invalid_key"
        case teamMissing = "auth.team.missing_key"
        case teamInvalid = "auth.team.invalid_key"

        /// The `kind` of `saas_auth_failures_total`.
        var metricLabel: String {
            switch self {
            case .adminMissing: "missing_admin_key"
            case .adminInvalid: "invalid_admin_key"
            case .teamMissing: "missing_bearer"
            case .teamInvalid: "invalid_key"
            }
        }
    }

    /// `saas_auth_failures_total{kind}`'s one kind that is not a failed authentication: a
    /// suspended team's key, identified and refused (403). Counted, never written to the audit log.
    static let suspendedLabel = "suspended"

    private struct Key: Hashable {
        var source: String
        var kind: Kind
        var minute: Int
    }

    private let counts = Mutex<[Key: Int]>([:])
    private let audit: any AuditStore
    private let interval: Duration
    private let logger: Logger
    /// `saas_auth_failures_total`, one handle per kind, made once.
    private let counters: [Kind: Counter]

    init(audit: any AuditStore, interval: Duration = .seconds(2), factory: any MetricsFactory = MetricsSystem.factory, logger: Logger) {
        self.audit = audit
        self.interval = interval
        self.logger = logger
        counters = Dictionary(
            uniqueKeysWithValues: Kind.allCases.map { kind in
                (kind, Counter(label: MetricName.authFailures, dimensions: [(MetricLabel.kind, kind.metricLabel)], factory: factory))
            }
        )
    }

    /// A suspended team refused (``ActiveTeamPolicy``): rare, so the handle is asked for each time.
    static func countSuspended() {
        Counter(label: MetricName.authFailures, dimensions: [(MetricLabel.kind, suspendedLabel)]).increment()
    }

    func record(_ kind: Kind, source: String) {
        counters[kind]?.increment()
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
