import ArgumentParser

/// `saas-bench`: load generators that measure our own Redis and PostgreSQL layers
/// (`Sources/Shared`) the way `redis-benchmark` and `pgbench` measure the servers, so
/// `scripts/bench-foundation.sh` can put the two side by side in one run.
///
/// Each subcommand prints exactly one line of JSON on stdout (everything else goes to stderr):
/// `{"bench":"redis","op":"set","clients":50,"pool":4,"ops":…,"seconds":…,"ops_per_sec":…}`.
@main
struct SaasBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saas-bench",
        abstract: "Throughput benchmarks for the Redis and PostgreSQL layers.",
        subcommands: [RedisBench.self, PostgresBench.self]
    )
}
