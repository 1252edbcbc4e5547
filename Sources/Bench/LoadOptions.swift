import ArgumentParser

/// The options every benchmark shares: how many concurrent callers, for how long.
struct LoadOptions: ParsableArguments {
    @Option(help: "Concurrent callers (tasks), each looping the operation.")
    var clients: Int

    @Option(help: "Seconds to measure, after the warm-up.")
    var seconds: Double = 10

    @Option(help: "Seconds of warm-up before measuring (not counted).")
    var warmup: Double = 1

    func validate() throws {
        guard clients >= 1 else { throw ValidationError("--clients must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
    }
}
