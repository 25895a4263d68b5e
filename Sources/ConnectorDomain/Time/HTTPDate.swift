public import Foundation

/// HTTP dates (RFC 9110 IMF-fixdate), `Thu, 27 Aug 2020 18:19:24 GMT`: Okta's `Date` header, which
/// rate-limit waits are computed from (shared/okta README).
public enum HTTPDate {
    static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats an instant, truncated to the second; instants beyond the years 1–9999 are clamped to them.
    public static func format(_ date: Date) -> String {
        let seconds = min(
            253_402_300_799, max(-62_135_596_800, Int64(saturating: date.timeIntervalSince1970.rounded(.down))))
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let civil = CivilDate(daysSinceEpoch: days)
        let second = Int(secondOfDay)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        // IMF-fixdate has a four-digit year: years before 1000 are zero-padded (found by fuzzing:
        // `0147` formatted as `147` did not parse back).
        let year = String(repeating: "0", count: max(0, 4 - String(civil.year).count)) + String(civil.year)
        return "\(weekdays[civil.isoWeekday - 1]), \(two(civil.day)) \(months[civil.month - 1]) \(year) "
            + "\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60)) GMT"
    }

    /// Parses an IMF-fixdate; `nil` for anything else, including dates outside the years 1–9999
    /// and out-of-range fields (text from outside must never reach date arithmetic unchecked).
    public static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", parts[1].count == 2, parts[3].count == 4,
            let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]),
            (1...9999).contains(year), (1...CivilDate.daysInMonth(year: year, month: month + 1)).contains(day)
        else { return nil }
        let time = parts[4].split(separator: ":", omittingEmptySubsequences: false)
            .compactMap { $0.count == 2 ? Int($0) : nil }
        guard time.count == 3, (0..<24).contains(time[0]), (0..<60).contains(time[1]), (0...60).contains(time[2])
        else { return nil }
        let days = CivilDate(year: year, month: month + 1, day: day).daysSinceEpoch
        return Date(timeIntervalSince1970: Double(days * 86_400 + time[0] * 3600 + time[1] * 60 + time[2]))
    }
}
