import Synchronization
import Telemetry

/// The `team` label of a metric, bounded: the first `METRICS_MAX_TEAMS` distinct teams a process
/// sees keep their id, every later one is `other`. A Prometheus series per team is fine for a
/// thousand teams and a hazard for a million; the bound keeps a scrape's size — and the
/// registry's memory — fixed whatever the tenants do.
///
/// A lookup is a lock and a set probe, and a known team's label is its own id string (no
/// allocation), cheap enough for every submit and settlement.
public final class TeamLabels: Sendable {
    /// The process's labels, bounded by `METRICS_MAX_TEAMS` once `MetricsBootstrap` has run.
    public static let shared = TeamLabels(limit: 1000)

    private struct State {
        var limit: Int
        var known: Set<String> = []
    }

    private let state: Mutex<State>

    public init(limit: Int) {
        state = Mutex(State(limit: max(0, limit)))
    }

    /// The bound: teams already labelled keep their label; a lower bound only stops new ones.
    public var limit: Int {
        get { state.withLock { $0.limit } }
        set { state.withLock { $0.limit = max(0, newValue) } }
    }

    /// `teamID` while it is among the first `limit` teams seen, else `other`.
    public func label(for teamID: String) -> String {
        state.withLock { state in
            if state.known.contains(teamID) { return teamID }
            guard state.known.count < state.limit else { return MetricLabel.otherTeam }
            state.known.insert(teamID)
            return teamID
        }
    }

    /// How many teams keep their own label.
    public var count: Int { state.withLock { $0.known.count } }
}
