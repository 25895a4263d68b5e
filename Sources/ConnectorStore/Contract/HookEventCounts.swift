public import ConnectorDomain
public import Foundation

/// The events of a group of new deliveries, by connector and hour: what an inbox insert adds to the
/// hourly counts (SPEC §20). Duplicate deliveries are never added; discarded ones are.
public struct HookEventTally: Sendable {
    public struct Key: Hashable, Sendable {
        public var connector: String
        /// The hour's start, in milliseconds since the epoch.
        public var hour: Int64
    }

    /// How long the counts are kept, in milliseconds: two days, for a 24-hour window and its margin.
    public static let kept: Int64 = 48 * 3_600_000

    private var events: [Key: Int] = [:]

    /// An empty tally.
    public init() {}

    /// Adds a delivery stored as new.
    public mutating func add(_ delivery: InboxDelivery) {
        guard !delivery.events.isEmpty else { return }
        let hour = HourlyEventCount.hour(of: delivery.receivedAt).millisecondsSinceEpoch
        events[Key(connector: delivery.connector, hour: hour), default: 0] += delivery.events.count
    }

    /// The counts to add, in one order whatever the insert order (so that two replicas adding to the
    /// same rows lock them in the same order).
    public var sorted: [(key: Key, events: Int)] {
        events.map { (key: $0.key, events: $0.value) }.sorted {
            ($0.key.connector, $0.key.hour) < ($1.key.connector, $1.key.hour)
        }
    }
}

/// A connector's use of Okta's daily event hook cap (SPEC §20): the events delivered over a rolling
/// 24 hours and a projection for the window, against the connector's budget.
///
/// Okta's own window is fixed (it starts with the first event of a day); this one rolls, from
/// hourly counts: the hour 24 hours back counts in proportion to the part of it inside the window.
/// The projection is the last 60 minutes' rate × 24 (the previous hour in proportion too).
public struct HookEventBudget: Sendable, Hashable, Codable {
    /// Events delivered over the last 24 hours.
    public var last24h: Int
    /// The last hour's events × 24.
    public var projected24h: Int
    /// `event_hook.daily_budget`.
    public var budget: Int
    /// `last24h` as a share of the budget.
    public var share: Double
    /// Whether the count reached half the budget.
    public var warning: Bool

    /// The share of the budget at which the connector warns.
    public static let warningShare = 0.5

    /// Creates the figures.
    public init(last24h: Int, projected24h: Int, budget: Int) {
        self.last24h = last24h
        self.projected24h = projected24h
        self.budget = budget
        self.share = budget > 0 ? Double(last24h) / Double(budget) : 0
        self.warning = budget > 0 && Double(last24h) >= Self.warningShare * Double(budget)
    }

    /// The figures from hourly counts at a time.
    public init(counts: [HourlyEventCount], budget: Int, now: Date) {
        let nowMilliseconds = Timestamp(now).millisecondsSinceEpoch
        func within(_ span: Int64) -> Double {
            let start = nowMilliseconds - span
            var total = 0.0
            for count in counts {
                let hourStart = count.hour.millisecondsSinceEpoch
                let hourEnd = hourStart + 3_600_000
                guard hourEnd > start, hourStart <= nowMilliseconds else { continue }
                // The hour that began before the window counts for the part of it inside.
                let inside = hourStart >= start ? 1 : Double(hourEnd - start) / 3_600_000
                total += Double(count.events) * inside
            }
            return total
        }
        self.init(
            last24h: Int(within(24 * 3_600_000).rounded()), projected24h: Int((within(3_600_000) * 24).rounded()),
            budget: budget)
    }

    /// One line for `status` and the console.
    public var summary: String {
        let percent = (share * 1000).rounded() / 10
        return "\(last24h) events in the last 24 h, \(percent) % of the daily budget of \(budget)"
            + " (projected \(projected24h) at the last hour's rate)"
            + (warning ? "; over half the budget: Okta's cap of 400,000 a day is the whole org's" : "")
    }

    /// The time the counts are read from: the hour that holds the start of the window.
    public static func countsSince(_ now: Date) -> Timestamp { Timestamp(now.addingTimeInterval(-24 * 3600)) }
}

extension HookEventCountStore {
    /// The connector's figures now.
    public func hookEventBudget(connector: String, budget: Int, now: Date) async throws -> HookEventBudget {
        HookEventBudget(
            counts: try await hookEventCounts(connector: connector, since: HookEventBudget.countsSince(now)),
            budget: budget, now: now)
    }
}
