import Foundation

/// How the dashboard writes numbers and times for people: UTC timestamps, ages in the largest
/// useful unit, rates with one decimal. Pages get strings, so a missing value is "—", never "nil".
enum DashboardFormat {
    static let none = "—"

    static func time(_ date: Date?) -> String {
        guard let date else { return none }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// 42 s, 3 min, 5 h, 2 d.
    static func ago(seconds: Double) -> String {
        let s = max(0, seconds)
        switch s {
        case ..<60: return "\(Int(s)) s"
        case ..<3600: return "\(Int(s / 60)) min"
        case ..<172_800: return "\(Int(s / 3600)) h"
        default: return "\(Int(s / 86_400)) d"
        }
    }

    static func age(since date: Date?, now: Date = Date()) -> String {
        guard let date else { return none }
        return ago(seconds: now.timeIntervalSince(date))
    }

    static func rate(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    static func number(_ value: Int?) -> String {
        guard let value else { return none }
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    static func text(_ value: String?) -> String {
        guard let value, !value.isEmpty else { return none }
        return value
    }
}
