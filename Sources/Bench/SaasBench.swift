import ArgumentParser

/// `saas-bench`: the load generators and measuring tools of `scripts/bench-*.sh`.
///
/// `redis` and `postgres` measure our own Redis and PostgreSQL layers (`Sources/Shared`) the way
/// `redis-benchmark` and `pgbench` measure the servers, so `scripts/bench-foundation.sh` can put
/// the two side by side in one run; `jobs` submits jobs to a running API for
/// `scripts/bench-jobs.sh`, `streams` opens create-and-call streams for `scripts/bench-calls.sh`,
/// `cpu` accounts for the CPU each process used meanwhile, `fixture` writes the generated
/// documents `scripts/bench-uploads.sh` uploads, and `webhook-receiver` is the receiving end of
/// `scripts/bench-webhooks.sh`; `codecs` times the worker's per-job text handling through
/// Foundation and through the direct paths that replaced it.
///
/// Each benchmark prints exactly one line of JSON on stdout (everything else goes to stderr):
/// `{"bench":"redis","op":"set","clients":50,"pool":4,"ops":…,"seconds":…,"ops_per_sec":…}`.
@main
struct SaasBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saas-bench",
        abstract: "Load generators and CPU accounting for the benchmark scripts.",
        subcommands: [
            RedisBench.self, PostgresBench.self, JobsBench.self, StreamsBench.self, CPUCommand.self, FixtureCommand.self, BacklogBench.self,
            WebhookReceiverCommand.self, CodecsBench.self,
        ]
    )
}
