/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator with a fixed algorithm.
///
/// The hostile mode must give the same sequence for the same seed on every machine and every Swift
/// version, so that a failure found in a run can be replayed. `SystemRandomNumberGenerator` cannot
/// be seeded, and the standard library does not promise how `random(in:using:)` consumes a
/// generator's output; this generator and a plain modulo do not change.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
