/// The one line of JSON a benchmark prints on stdout; keys in a fixed order so the line can be
/// read by eye as well as by `jq`.
struct BenchReport {
    var bench: String
    var op: String
    var clients: Int
    var pool: Int
    /// Settings of the run beyond clients and pool (e.g. the pipeline depth), before the figures.
    var extra: [(String, ReportValue)] = []
    var result: LoadResult
    /// Figures beyond the rate (statuses, latencies, …), after `ops_per_sec`.
    var figures: [(String, ReportValue)] = []

    var json: String {
        var fields = [
            "\"bench\":\(jsonString(bench))",
            "\"op\":\(jsonString(op))",
            "\"clients\":\(clients)",
            "\"pool\":\(pool)",
        ]
        for (key, value) in extra { fields.append("\(jsonString(key)):\(value.json)") }
        fields.append("\"ops\":\(result.ops)")
        fields.append("\"seconds\":\(Self.format(result.seconds, places: 3))")
        fields.append("\"ops_per_sec\":\(Self.format(result.opsPerSecond, places: 1))")
        for (key, value) in figures { fields.append("\(jsonString(key)):\(value.json)") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    func print() {
        Swift.print(json)
    }

    /// Fixed-point without Foundation's formatter: `12345.678` with `places` digits.
    static func format(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        let fraction = String(abs(scaled % Int(scale)))
        let padded = String(repeating: "0", count: max(0, places - fraction.count)) + fraction
        return places > 0 ? "\(whole).\(padded)" : "\(whole)"
    }
}
