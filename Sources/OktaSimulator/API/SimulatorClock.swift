public import ConnectorDomain
public import Foundation

/// The simulator's own clock: the system clock shifted by a skew, as a real Okta's clock differs
/// from the connector's. `Date` and `X-Rate-Limit-Reset` come from it (shared/okta README: compute
/// waits from the response's `Date`, not the local clock).
public struct SkewedClock: WallClock {
    let base: any WallClock
    /// Seconds the simulator's clock is ahead (positive) or behind (negative).
    public let skew: TimeInterval

    /// Creates a skewed clock.
    public init(base: any WallClock = SystemWallClock(), skew: TimeInterval) {
        self.base = base
        self.skew = skew
    }

    public var now: Date { base.now.addingTimeInterval(skew) }

    public func sleep(until deadline: Date) async throws {
        try await base.sleep(until: deadline.addingTimeInterval(-skew))
    }
}

/// HTTP dates (RFC 9110 IMF-fixdate): `Thu, 27 Aug 2020 18:19:24 GMT`.
enum HTTPDate {
    static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = Int((seconds - ((seconds % 86_400) + 86_400) % 86_400) / 86_400)
        let civil = CivilDate(daysSinceEpoch: days)
        let secondOfDay = Int(((seconds % 86_400) + 86_400) % 86_400)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[civil.isoWeekday - 1]), \(two(civil.day)) \(months[civil.month - 1]) \(civil.year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
