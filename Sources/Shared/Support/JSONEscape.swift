/// JSON's `\uXXXX` escapes read in raw bytes, for the scanners that look at a body before it is
/// decoded: the API's refusal of text PostgreSQL cannot store (tenants), the worker's cleaning of
/// it (upstreams).
public enum JSONEscape {
    /// The UTF-16 unit spelled by the four hex digits at `start`; nil when they are not four hex
    /// digits (or the bytes end first).
    public static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> UInt16? {
        guard start >= 0, start + 4 <= bytes.count else { return nil }
        var value: UInt16 = 0
        for byte in bytes[start..<(start + 4)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Whether a unit cannot stand alone in text PostgreSQL stores: U+0000, or half a surrogate
    /// pair (a whole pair is checked by the caller, which sees both halves).
    public static func isUnstorable(_ unit: UInt16) -> Bool {
        unit == 0 || (0xD800...0xDFFF).contains(unit)
    }
}
