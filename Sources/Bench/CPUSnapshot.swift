/// The machine's and every process's CPU time at one moment, from `/proc`: two snapshots around
/// a measurement say who used the CPU meanwhile (``CPUReport``).
///
/// Written to a file between the two (`saas-bench cpu snapshot`, later `cpu report --since`) as
/// text: `wall <epoch s>`, `busy <ticks>`, `irq <ticks>`, then `<pid> <ticks> <command>` lines.
struct CPUSnapshot {
    struct Process {
        var command: String
        var ticks: Int
    }

    /// Epoch seconds when it was taken.
    var wall: Double
    /// The machine's non-idle ticks (all CPUs; idle and iowait excluded).
    var busy: Int
    /// Ticks spent in interrupts and softirqs, charged to no process: loopback networking's
    /// softirqs land here.
    var irq: Int
    /// User plus system ticks of each process, by pid.
    var processes: [Int: Process]

    static func take() -> CPUSnapshot {
        var processes: [Int: Process] = [:]
        for pid in ProcFiles.processIDs() {
            if let stat = ProcFiles.contents(of: "/proc/\(pid)/stat"), let process = Self.process(stat: stat) {
                processes[pid] = process
            }
        }
        let (busy, irq) = Self.machine(stat: ProcFiles.contents(of: "/proc/stat") ?? "")
        return CPUSnapshot(wall: ProcessClock.wallSeconds(), busy: busy, irq: irq, processes: processes)
    }

    /// `/proc/<pid>/stat`: the command sits between the first "(" and the last ")" (it may hold
    /// spaces and parentheses); utime and stime are the 12th and 13th fields after it.
    static func process(stat: String) -> Process? {
        guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
        let command = String(stat[stat.index(after: open)..<close])
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return Process(command: command, ticks: user + system)
    }

    /// The first line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal …`.
    static func machine(stat: String) -> (busy: Int, irq: Int) {
        let line = stat.split(separator: "\n", maxSplits: 1).first ?? ""
        let ticks = line.split(separator: " ").dropFirst().map { Int($0) ?? 0 }
        guard ticks.count >= 7 else { return (0, 0) }
        let busy = ticks.enumerated().reduce(0) { $0 + ($1.offset == 3 || $1.offset == 4 ? 0 : $1.element) }
        return (busy, ticks[5] + ticks[6])
    }

    var text: String {
        var lines = ["wall \(BenchReport.format(wall, places: 6))", "busy \(busy)", "irq \(irq)"]
        for (pid, process) in processes.sorted(by: { $0.key < $1.key }) {
            lines.append("\(pid) \(process.ticks) \(process.command)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    init(wall: Double, busy: Int, irq: Int, processes: [Int: Process]) {
        self.wall = wall
        self.busy = busy
        self.irq = irq
        self.processes = processes
    }

    /// Reads back ``text``.
    init?(text: String) {
        var wall: Double?
        var busy: Int?
        var irq: Int?
        var processes: [Int: Process] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2 else { return nil }
            switch parts[0] {
            case "wall": wall = Double(parts[1])
            case "busy": busy = Int(parts[1])
            case "irq": irq = Int(parts[1])
            default:
                guard parts.count == 3, let pid = Int(parts[0]), let ticks = Int(parts[1]) else { return nil }
                processes[pid] = Process(command: String(parts[2]), ticks: ticks)
            }
        }
        guard let wall, let busy, let irq else { return nil }
        self.init(wall: wall, busy: busy, irq: irq, processes: processes)
    }
}
