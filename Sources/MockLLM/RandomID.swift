/// Random identifiers, as hex.
///
/// One per request, from two 64-bit draws of the system generator; the ids of the reply and of its
/// tool calls reuse it, since they only need to be unique, not unrelated.
enum RandomID {
    /// 32 lowercase hex digits.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex16(high) + hex16(low)
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return digits.count == 16 ? digits : String(repeating: "0", count: 16 - digits.count) + digits
    }
}
