import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saas-bench cpu snapshot|report`: CPU accounting of a measured stretch for the bench scripts.
/// `snapshot` before it, `report` after it: who used the machine's CPU meanwhile (``CPUReport``).
struct CPUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "CPU used by each process between two moments, from /proc.",
        subcommands: [Snapshot.self, Report.self]
    )

    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the machine's and every process's CPU time to a file.")

        @Option(help: "The file to write.")
        var out: String

        func run() throws {
            try CPUCommand.save(CPUSnapshot.take().text, to: out)
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who used the CPU since a snapshot: two lines on stdout, the figures as JSON in a file."
        )

        @Option(help: "The snapshot taken before (by `cpu snapshot`).")
        var since: String

        @Option(help: "What was measured (named in the warning).")
        var label: String

        @Option(parsing: .singleValue, help: "A group of processes: NAME=pid,pid,… (repeatable; kept in this order).")
        var group: [String] = []

        @Option(help: "CPU seconds the load generator used meanwhile (it reports them itself).")
        var generatorCPU: Double = 0

        @Option(help: "Cores of the machine (nproc).")
        var cores: Int

        @Option(help: "Where to write the figures as one JSON object.")
        var json: String

        @Option(help: "A file to append a line to when the CPU went mostly elsewhere.")
        var warnings: String

        func run() throws {
            let now = CPUSnapshot.take()
            guard let text = ProcFiles.contents(of: since), let before = CPUSnapshot(text: text) else {
                throw ValidationError("\(since) is not a snapshot written by `saas-bench cpu snapshot`")
            }
            let groups = group.map { spec in
                let (name, pids) = spec.firstIndex(of: "=").map { (spec[..<$0], spec[spec.index(after: $0)...]) } ?? (spec[...], "")
                return (name: String(name), pids: pids.split(separator: ",").compactMap { Int($0) })
            }
            let report = CPUReport(
                from: before,
                to: now,
                ticksPerSecond: sysconf(Int32(_SC_CLK_TCK)),
                cores: cores,
                generator: generatorCPU,
                groups: groups
            )
            try CPUCommand.save(report.json + "\n", to: json)
            if report.skewed {
                let share = BenchReport.format(100 * report.rest / (report.wall * Double(report.cores)), places: 0)
                try CPUCommand.save("\(label): \(share)% of the CPU went to processes outside the benchmark\n", to: warnings, append: true)
            }
            print(report.summary, terminator: "")
        }
    }

    static func save(_ text: String, to path: String, append: Bool = false) throws {
        let fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        guard fd >= 0 else { throw BenchError.unexpected("cannot open \(path) for writing") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchError.unexpected("cannot write \(path)") }
            written += n
        }
    }
}
