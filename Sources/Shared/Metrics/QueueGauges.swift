public import Foundation
public import Metrics
import Synchronization
import Telemetry

/// `saas_queue_jobs{team,state}` (`ready`, `scheduled`, `leased`) and
/// `saas_queue_oldest_ready_seconds{team}`, set by the process whose ``Sweeper`` holds the
/// sweeper lock, once per sweep, from the figures `GET /api/admin/queue` shows: one reader for the
/// fleet, not one per process. The counts are the queue's own (``QueueCensus``: a ZCARD per team
/// in Redis) and only each team's oldest queued job comes from PostgreSQL, an index probe per
/// team, so the read costs the teams, not the backlog (``JobStore/queueStats(census:)``).
///
/// A team that left the queue is set to 0 rather than removed: an autoscaler summing an empty
/// set of series gets no number at all, and would hold its scale. A process whose sweeper did not
/// get the lock sets its own gauges to 0, so only the last sweeper's figures stay non-zero (a
/// query should still take `max` across processes: between two sweeps of different processes,
/// both show the queue). Teams are bounded by ``TeamLabels``: past the bound they are summed into
/// `other` (its oldest age is the oldest of them).
public final class QueueGauges: Sendable {
    private struct Figures: Equatable {
        var ready = 0
        var scheduled = 0
        var leased = 0
        var oldestReady: Double = 0
    }

    private struct Handles: Sendable {
        var ready: Gauge
        var scheduled: Gauge
        var leased: Gauge
        var oldestReady: Gauge
    }

    private let handles: MetricCache<String, Handles>
    private let teams: TeamLabels
    /// The labels set non-zero by the last ``record(_:now:)``.
    private let shown = Mutex<Set<String>>([])

    public init(factory: any MetricsFactory = MetricsSystem.factory, teams: TeamLabels = .shared) {
        self.teams = teams
        handles = MetricCache { team in
            func jobs(_ state: String) -> Gauge {
                Gauge(label: MetricName.queueJobs, dimensions: [(MetricLabel.team, team), (MetricLabel.state, state)], factory: factory)
            }
            return Handles(
                ready: jobs(MetricLabel.ready),
                scheduled: jobs(MetricLabel.scheduled),
                leased: jobs(MetricLabel.leased),
                oldestReady: Gauge(label: MetricName.queueOldestReady, dimensions: [(MetricLabel.team, team)], factory: factory)
            )
        }
    }

    /// Gauges for a process whose metrics are on (``MetricsBootstrap`` made a registry); nil
    /// when they are off, so that its sweeps read nothing for them.
    public static func ifMetricsEnabled() -> QueueGauges? {
        MetricsBootstrap.current == nil ? nil : QueueGauges()
    }

    /// The queue as a sweep read it; teams shown before and absent now go to 0.
    public func record(_ stats: [TeamQueueStats], now: Date = Date()) {
        var figures: [String: Figures] = [:]
        for team in stats {
            let label = teams.label(for: team.teamID)
            var entry = figures[label] ?? Figures()
            entry.ready += team.queued
            entry.scheduled += team.scheduled
            entry.leased += team.inProgress
            if let oldest = team.oldestQueuedAt {
                entry.oldestReady = max(entry.oldestReady, max(0, now.timeIntervalSince(oldest)))
            }
            figures[label] = entry
        }
        let gone = shown.withLock { shown in
            let gone = shown.subtracting(figures.keys)
            shown = Set(figures.keys)
            return gone
        }
        for (team, entry) in figures { set(team, entry) }
        for team in gone { set(team, Figures()) }
    }

    /// This process did not read the queue this time (another one's sweeper did): its gauges go
    /// to 0, leaving the reader's figures the only ones.
    public func clear() {
        record([])
    }

    private func set(_ team: String, _ figures: Figures) {
        let gauges = handles[team]
        gauges.ready.record(figures.ready)
        gauges.scheduled.record(figures.scheduled)
        gauges.leased.record(figures.leased)
        gauges.oldestReady.record(figures.oldestReady)
    }
}
