public import Metrics
import Telemetry

/// What committed settlements came to, counted once per committed transaction — never per job
/// round trip, never before the commit: `saas_jobs_finished_total{team,status}` and
/// `saas_credits_charged_total{team}` by the transaction's totals per team (teams bounded by
/// ``TeamLabels``), and, for the worker's batches, `saas_settlement_batch_size`.
///
/// Every path that ends jobs or charges credits records here: the worker's settlements, the
/// sweeper's expiries and lease recoveries, a cancel through the API or the dashboard, a step-by-step job's
/// `complete`. Each store method on those paths answers a ``SettlementTally`` of what it
/// committed; its caller records it.
public final class SettlementMetrics: Sendable {
    private struct Finished: Hashable, Sendable {
        var team: String
        var status: JobStatus
    }

    private let finished: MetricCache<Finished, Counter>
    private let charged: MetricCache<String, Counter>
    private let batchSize: Recorder
    private let teams: TeamLabels

    /// Make it after `MetricsBootstrap` ran (`factory` is read here): one made before counts
    /// into swift-metrics' no-op backend.
    public init(factory: any MetricsFactory = MetricsSystem.factory, teams: TeamLabels = .shared) {
        self.teams = teams
        finished = MetricCache { key in
            Counter(
                label: MetricName.jobsFinished,
                dimensions: [(MetricLabel.team, key.team), (MetricLabel.status, key.status.rawValue)],
                factory: factory
            )
        }
        charged = MetricCache { team in
            Counter(label: MetricName.creditsCharged, dimensions: [(MetricLabel.team, team)], factory: factory)
        }
        batchSize = Recorder(label: MetricName.settlementBatchSize, aggregate: true, factory: factory)
    }

    /// One committed batch of `size` settlements and what it came to.
    public func record(batchOf size: Int, _ tally: SettlementTally) {
        batchSize.record(size)
        record(tally)
    }

    /// What one committed transaction came to. Teams past the bound are summed into `other`
    /// before anything is incremented.
    public func record(_ tally: SettlementTally) {
        guard !tally.isEmpty else { return }
        var ended: [Finished: Int] = [:]
        for (key, count) in tally.ended {
            ended[Finished(team: teams.label(for: key.teamID), status: key.status), default: 0] += count
        }
        for (key, count) in ended where count > 0 { finished[key].increment(by: Int64(count)) }
        var credits: [String: Int] = [:]
        for (team, amount) in tally.charged { credits[teams.label(for: team), default: 0] += amount }
        for (team, amount) in credits where amount > 0 { charged[team].increment(by: Int64(amount)) }
    }
}
