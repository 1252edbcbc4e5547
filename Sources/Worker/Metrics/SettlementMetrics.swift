import Metrics
import Shared
import Telemetry

/// What settled batches came to, counted once per committed batch — never per job round trip:
/// `saas_jobs_finished_total{team,status}` and `saas_credits_charged_total{team}` by the batch's
/// totals per team (teams bounded by ``TeamLabels``), and `saas_settlement_batch_size`.
final class SettlementMetrics: Sendable {
    private struct Finished: Hashable, Sendable {
        var team: String
        var status: JobStatus
    }

    private let finished: MetricCache<Finished, Counter>
    private let charged: MetricCache<String, Counter>
    private let batchSize: Recorder
    private let teams: TeamLabels

    init(factory: any MetricsFactory = MetricsSystem.factory, teams: TeamLabels = .shared) {
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

    /// One committed batch of `size` settlements and what it came to. Teams past the bound are
    /// summed into `other` before anything is incremented.
    func record(batchOf size: Int, _ tally: SettlementTally) {
        batchSize.record(size)
        var ended: [Finished: Int] = [:]
        for (key, count) in tally.ended {
            ended[Finished(team: teams.label(for: key.teamID), status: key.status), default: 0] += count
        }
        for (key, count) in ended { finished[key].increment(by: Int64(count)) }
        var credits: [String: Int] = [:]
        for (team, amount) in tally.charged { credits[teams.label(for: team), default: 0] += amount }
        for (team, amount) in credits { charged[team].increment(by: Int64(amount)) }
    }
}
