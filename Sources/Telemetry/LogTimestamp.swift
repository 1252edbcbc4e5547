import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Log lines' timestamps, written as bytes without a libc formatter on the hot path.
///
/// swift-log's `StreamLogHandler` called `localtime` and `strftime` for every line — the largest
/// part of a logged request's cost after the write itself. Here the date and time are plain
/// arithmetic on the epoch second (a few dozen integer operations), and the one thing that needs
/// the time zone database, the local UTC offset, is asked for once a minute (offsets change only
/// on minute boundaries) and kept in one atomic word: no lock, no allocation per line.
public enum LogTimestamp {
    /// `2026-11-30T05:19:02+0000`: local time with its offset, the shape of `strftime`'s
    /// `%Y-%m-%dT%H:%M:%S%z` (the text format's first field).
    static func appendLocal(epochSecond: Int, to out: inout [UInt8]) {
        appendLocal(epochSecond: epochSecond, offset: UTCOffsetCache.shared.offset(at: epochSecond), to: &out)
    }

    /// The same at an explicit UTC offset in seconds (east positive).
    static func appendLocal(epochSecond: Int, offset: Int, to out: inout [UInt8]) {
        appendDateTime(epochSecond + offset, to: &out)
        out.append(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let minutes = abs(offset) / 60
        appendDigits(minutes / 60, width: 2, to: &out)
        appendDigits(minutes % 60, width: 2, to: &out)
    }

    /// `2026-01-02T03:04:05.678Z`: RFC 3339 in UTC with milliseconds (the JSON format's field,
    /// and the API's timestamps in its hottest answers).
    public static func appendUTC(epochSecond: Int, milliseconds: Int, to out: inout [UInt8]) {
        appendDateTime(epochSecond, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(milliseconds, width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// The wall clock: whole seconds since the epoch and the milliseconds past them.
    static func now() -> (seconds: Int, milliseconds: Int) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (Int(spec.tv_sec), Int(spec.tv_nsec / 1_000_000))
    }

    /// `YYYY-MM-DDTHH:MM:SS` of `seconds` read as UTC (callers shift by an offset first).
    private static func appendDateTime(_ seconds: Int, to out: inout [UInt8]) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(days: days)
        appendDigits(year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, width: 2, to: &out)
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`, exact for every day an `Int` holds that a log line will see).
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `value` in decimal, left-padded with zeros to `width` (longer values are written whole).
    static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt = 1
        var count = 1
        while divisor <= magnitude / 10 {
            divisor *= 10
            count += 1
        }
        for _ in count..<max(count, width) { out.append(UInt8(ascii: "0")) }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude / divisor % 10))
            divisor /= 10
        }
    }
}

/// The local UTC offset, asked of the time zone database once per minute and kept in one atomic
/// word: the minute it is for and the offset, packed. Two threads that both find it stale both
/// ask and store the same answer.
final class UTCOffsetCache: Sendable {
    static let shared = UTCOffsetCache()

    /// `(minute + 1) << 20 | (offset + 2^19)`; 0 before the first line. Offsets are within ±26 h
    /// (±93,600 s < 2^19) and epoch minutes well within 43 bits.
    private let packed = Atomic<Int>(0)
    private static let offsetBits = 20
    private static let offsetBias = 1 << 19

    func offset(at epochSecond: Int) -> Int {
        let minute = epochSecond >= 0 ? epochSecond / 60 : (epochSecond - 59) / 60
        let word = packed.load(ordering: .relaxed)
        if word >> Self.offsetBits == minute + 1 {
            return (word & ((1 << Self.offsetBits) - 1)) - Self.offsetBias
        }
        let offset = Self.localOffset(at: epochSecond)
        packed.store((minute + 1) << Self.offsetBits | (offset + Self.offsetBias), ordering: .relaxed)
        return offset
    }

    /// `localtime_r`'s `tm_gmtoff`: east of UTC in seconds, 0 when the time cannot be converted.
    static func localOffset(at epochSecond: Int) -> Int {
        var time = time_t(epochSecond)
        var parts = tm()
        guard localtime_r(&time, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }
}
