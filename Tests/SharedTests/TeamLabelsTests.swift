import Configuration
import Telemetry
import Testing

@testable import Shared

@Suite("TeamLabels: the team label is bounded")
struct TeamLabelsTests {
    private func load(_ variables: [String: String]) throws -> AppConfiguration {
        try AppConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables)))
    }

    @Test("the first teams keep their id, every later one is other")
    func bound() {
        let labels = TeamLabels(limit: 3)
        #expect(labels.label(for: "team-a") == "team-a")
        #expect(labels.label(for: "team-b") == "team-b")
        #expect(labels.label(for: "team-c") == "team-c")
        #expect(labels.label(for: "team-d") == "other")
        #expect(labels.label(for: "team-e") == "other")
        // a known team stays itself, however many others came after it
        #expect(labels.label(for: "team-a") == "team-a")
        #expect(labels.count == 3)
    }

    @Test("concurrent lookups of many teams never keep more than the bound")
    func concurrent() async {
        let labels = TeamLabels(limit: 50)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for team in 0..<500 { _ = labels.label(for: "team-\((team * 7 + task) % 500)") }
                }
            }
        }
        #expect(labels.count == 50)
        let distinct = Set((0..<500).map { labels.label(for: "team-\($0)") })
        #expect(distinct.count == 51)  // the 50 kept, and other
        #expect(distinct.contains("other"))
    }

    @Test("a lower limit stops new teams and keeps the known ones")
    func lowered() {
        let labels = TeamLabels(limit: 10)
        #expect(labels.label(for: "a") == "a")
        labels.limit = 1
        #expect(labels.label(for: "a") == "a")
        #expect(labels.label(for: "b") == "other")
    }

    @Test("METRICS_MAX_TEAMS, METRICS_ENABLED, LOG_FORMAT and WORKER_METRICS_HOST: defaults and bad values")
    func configuration() throws {
        let defaults = try load([:])
        #expect(defaults.metricsEnabled)
        #expect(defaults.metricsMaxTeams == 1000)
        #expect(defaults.logFormat == .text)
        #expect(defaults.workerMetricsHost == "127.0.0.1")
        let set = try load([
            "METRICS_ENABLED": "false", "METRICS_MAX_TEAMS": "5", "LOG_FORMAT": "JSON", "WORKER_METRICS_HOST": "0.0.0.0",
        ])
        #expect(!set.metricsEnabled)
        #expect(set.metricsMaxTeams == 5)
        #expect(set.logFormat == .json)
        #expect(set.workerMetricsHost == "0.0.0.0")
        for (variable, value) in [("METRICS_ENABLED", "maybe"), ("METRICS_MAX_TEAMS", "0"), ("LOG_FORMAT", "xml")] {
            #expect(throws: ConfigurationError.self) { try load([variable: value]) }
        }
    }
}
