/// The one line of JSON a benchmark prints on stdout; keys in a fixed order so the line can be
/// read by eye as well as by `jq`.
struct BenchReport {
    var bench: String
    var op: String
    var clients: Int
    var pool: Int
    var extra: [(String, Int)] = []
    var result: LoadResult

    var json: String {
        var fields = [
            "\"bench\":\"\(bench)\"",
            "\"op\":\"\(op)\"",
            "\"clients\":\(clients)",
            "\"pool\":\(pool)",
        ]
        for (key, value) in extra { fields.append("\"\(key)\":\(value)") }
        fields.append("\"ops\":\(result.ops)")
        fields.append("\"seconds\":\(Self.format(result.seconds, places: 3))")
        fields.append("\"ops_per_sec\":\(Self.format(result.opsPerSecond, places: 1))")
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
