/// Who used the CPU between two ``CPUSnapshot``s: the benchmark's own processes by group (the
/// API, the worker, PostgreSQL's postmaster and backends, …), the load generator (which reports
/// its own CPU time), interrupts, and everything else, whose biggest users are named, so that
/// someone else's build or tests running during a measurement shows in the figures.
struct CPUReport {
    /// Commands never counted as "everything else": the load generators and the tools the bench
    /// scripts themselves run (their cost is the generator's, reported separately).
    static let benchTools: Set<String> = ["wrk", "python3", "psql", "saas-bench"]

    var wall: Double
    var cores: Int
    var busy: Double
    var irq: Double
    var generator: Double
    /// CPU seconds of each named group, in the order given.
    var groups: [(name: String, seconds: Double)]
    /// CPU seconds of the other processes, by command, biggest first.
    var others: [(command: String, seconds: Double)]

    /// Busy CPU seconds not explained by the groups, the generator or interrupts (per-process
    /// times include some interrupt time, hence the floor at zero).
    var rest: Double { max(0, busy - groups.reduce(0) { $0 + $1.seconds } - irq - generator) }

    /// Whether so much CPU went elsewhere that the figures are skewed (over 15 % of the machine).
    var skewed: Bool { rest > 0.15 * wall * Double(cores) }

    init(
        from before: CPUSnapshot,
        to now: CPUSnapshot,
        ticksPerSecond: Int,
        cores: Int,
        generator: Double,
        groups: [(name: String, pids: [Int])]
    ) {
        let hz = Double(ticksPerSecond)
        func used(_ pid: Int) -> Int { (now.processes[pid]?.ticks ?? 0) - (before.processes[pid]?.ticks ?? 0) }
        var seen = Set<Int>()
        self.groups = groups.map { group in
            // A process that exited meanwhile is gone from `now`; its time is lost, as in `ps`.
            let pids = group.pids.filter { now.processes[$0] != nil }
            seen.formUnion(pids)
            return (group.name, Double(pids.reduce(0) { $0 + used($1) }) / hz)
        }
        var others: [String: Double] = [:]
        for (pid, process) in now.processes where !seen.contains(pid) && !Self.benchTools.contains(process.command) {
            let ticks = used(pid)
            if ticks > 0 { others[process.command, default: 0] += Double(ticks) / hz }
        }
        self.others = others.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }
        self.wall = now.wall - before.wall
        self.cores = cores
        self.busy = Double(now.busy - before.busy) / hz
        self.irq = Double(now.irq - before.irq) / hz
        self.generator = generator
    }

    /// Two lines for people: the totals, then the biggest users outside the benchmark.
    var summary: String {
        let capacity = wall * Double(cores)
        let one = { (value: Double) in BenchReport.format(value, places: 1) }
        let percent = capacity > 0 ? BenchReport.format(100 * busy / capacity, places: 0) : "0"
        let parts =
            groups.map { "\($0.name) \(one($0.seconds))" }
            + ["load generator \(one(generator))", "interrupts \(one(irq))", "everything else \(one(rest))"]
        let biggest = others.prefix(6).map { "\($0.command) \(one($0.seconds))" }
        return "wall \(one(wall)) s x \(cores) cores = \(one(capacity)) CPU-s; busy \(one(busy)) (\(percent)%): "
            + parts.joined(separator: ", ") + "\n"
            + "  everything else, biggest: " + (biggest.isEmpty ? "none" : biggest.joined(separator: ", ")) + "\n"
    }

    /// The figures for scripts, one JSON object: each group's CPU seconds, then wall, busy, irq,
    /// generator and rest.
    var json: String {
        let fields =
            groups.map { (key: $0.name, value: $0.seconds) }
            + [("wall", wall), ("busy", busy), ("irq", irq), ("generator", generator), ("rest", rest)].map { (key: $0.0, value: $0.1) }
        return "{" + fields.map { "\(jsonString($0.key)):\(BenchReport.format($0.value, places: 3))" }.joined(separator: ",") + "}"
    }
}
