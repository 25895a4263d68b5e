public import Foundation

/// An instant with millisecond precision, the precision of every Okta timestamp.
///
/// Stored as milliseconds since the Unix epoch so that it is exact, compares cheaply, and goes into
/// both databases as a plain integer. Its text form is ISO 8601 UTC with milliseconds
/// (`2020-08-27T18:19:24.000Z`), the form Okta uses and the one SPEC §8 asks for downstream.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var millisecondsSinceEpoch: Int64

    /// Creates a timestamp from milliseconds since the Unix epoch.
    /// - Parameter millisecondsSinceEpoch: Milliseconds since 1970-01-01T00:00:00Z.
    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The earliest and latest instants a `Date` converts to: the years 1 to 9999.
    static let representable: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// Creates a timestamp from a `Date`, rounded down to the millisecond; instants outside the
    /// years 1–9999 (or not finite) are clamped to them rather than trapping.
    /// - Parameter date: The instant.
    public init(_ date: Date) {
        let milliseconds = Int64(saturating: (date.timeIntervalSince1970 * 1000).rounded(.down))
        self.millisecondsSinceEpoch = min(
            Self.representable.upperBound, max(Self.representable.lowerBound, milliseconds))
    }

    /// The instant as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// ISO 8601 UTC with milliseconds, e.g. `2020-08-27T18:19:24.000Z`.
    public var iso8601: String {
        let (days, msOfDay) = millisecondsSinceEpoch.floorDivided(by: 86_400_000)
        let civil = CivilDate(daysSinceEpoch: days)
        let hour = msOfDay / 3_600_000
        let minute = msOfDay / 60_000 % 60
        let second = msOfDay / 1000 % 60
        let milli = msOfDay % 1000
        return "\(pad(civil.year, 4))-\(pad(civil.month, 2))-\(pad(civil.day, 2))T"
            + "\(pad(Int(hour), 2)):\(pad(Int(minute), 2)):\(pad(Int(second), 2)).\(pad(Int(milli), 3))Z"
    }

    public var description: String { iso8601 }

    /// Parses an ISO 8601 date-time as Okta writes it: `YYYY-MM-DDTHH:MM:SS`, an optional fraction,
    /// and `Z` or a `±HH:MM` offset. Digits past milliseconds are dropped.
    /// - Parameter text: The text to parse.
    /// - Returns: The timestamp, or `nil` when the text is not such a date-time.
    public static func parse(_ text: some StringProtocol) -> Timestamp? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ character: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == character else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
            index < bytes.count, bytes[index] == 84 || bytes[index] == 116 || bytes[index] == 32
        else { return nil }
        index += 1
        guard let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2)
        else { return nil }
        var milli = 0
        if expect(46) {
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 3 { milli = milli * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { milli *= 10 } }
        }
        var offsetSeconds = 0
        if expect(90) || expect(122) {
            offsetSeconds = 0
        } else if index < bytes.count, bytes[index] == 43 || bytes[index] == 45 {
            let sign = bytes[index] == 45 ? -1 : 1
            index += 1
            guard let offsetHour = number(2) else { return nil }
            _ = expect(58)
            guard let offsetMinute = number(2) else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        } else {
            return nil
        }
        guard index == bytes.count, (1...12).contains(month), day >= 1,
            day <= CivilDate.daysInMonth(year: year, month: month), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + Int64(milli))
    }

    /// Decodes from an ISO 8601 string.
    /// - Parameter decoder: The decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "Not an ISO 8601 date-time: \(text)")
        }
        self = value
    }

    /// Encodes as ISO 8601 UTC with milliseconds.
    /// - Parameter encoder: The encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

extension Int64 {
    /// Floor division and the non-negative remainder, for dates before 1970.
    func floorDivided(by divisor: Int64) -> (quotient: Int, remainder: Int64) {
        var quotient = self / divisor
        var remainder = self % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (Int(quotient), remainder)
    }
}
