import Metrics
import Shared
import Telemetry

/// `saas_jobs_submitted_total{team}`, counted where submits commit: once per committed batch —
/// the submission pipeline's transaction or a `POST /api/jobs/batch` —, incremented by the number
/// of jobs it created per team, never once per job. Replays (an Idempotency-Key seen before) and
/// refusals created nothing and count nothing. Teams are bounded by ``TeamLabels``.
final class JobsSubmittedCounter: Sendable {
    private let counters: MetricCache<String, Counter>
    private let teams: TeamLabels

    init(factory: any MetricsFactory = MetricsSystem.factory, teams: TeamLabels = .shared) {
        self.teams = teams
        counters = MetricCache { team in
            Counter(label: MetricName.jobsSubmitted, dimensions: [(MetricLabel.team, team)], factory: factory)
        }
    }

    /// One committed transaction's outcomes, each beside its team.
    func record(_ outcomes: some Sequence<(teamID: String, outcome: SubmitOutcome)>) {
        // A batch is nearly always one team's: count a run of the same team, then add it once.
        var team: String?
        var run = 0
        for (teamID, outcome) in outcomes {
            guard case .created = outcome else { continue }
            if teamID != team {
                flush(team, run)
                team = teamID
                run = 0
            }
            run += 1
        }
        flush(team, run)
    }

    private func flush(_ team: String?, _ count: Int) {
        guard let team, count > 0 else { return }
        counters[teams.label(for: team)].increment(by: Int64(count))
    }
}
