public import Foundation
public import OktaClient

/// How long the rest of a reconcile takes, from the Okta calls it still needs and the rate limits
/// it runs under, not from the time elapsed so far (which jumps with every rate-limit wait).
public enum ReconcileETA {
    /// What the limiter knows of one bucket's window.
    public struct Window: Sendable, Hashable {
        public var limit: Int
        public var remaining: Int
        public var resetIn: TimeInterval

        /// Creates a window.
        public init(limit: Int, remaining: Int, resetIn: TimeInterval) {
            self.limit = limit
            self.remaining = remaining
            self.resetIn = resetIn
        }
    }

    /// Okta's rate-limit windows are a minute long (SPEC §16).
    static let windowLength: TimeInterval = 60

    /// Estimates the seconds left.
    /// - Parameters:
    ///   - calls: The calls still needed, by bucket.
    ///   - windows: The current window of each bucket, when known.
    ///   - share: The connector's `rate_limit_share`.
    ///   - secondsPerCall: The time one call has taken on average, waits excluded (`nil`: unknown).
    /// - Returns: The seconds left, or `nil` when nothing is known to be left.
    public static func estimate(
        calls: [OktaBucket: Int], windows: [OktaBucket: Window], share: Double, secondsPerCall: TimeInterval?
    ) -> TimeInterval? {
        let total = calls.values.reduce(0, +)
        guard total > 0 else { return nil }
        var limited: TimeInterval = 0
        for (bucket, needed) in calls where needed > 0 {
            guard let window = windows[bucket], window.limit > 0 else { continue }
            // The limiter keeps `1 - share` of each bucket for the rest of the org.
            let reserve = Int((Double(window.limit) * (1 - share)).rounded(.up))
            let allowance = max(1, window.limit - reserve)
            let usableNow = max(0, window.remaining - reserve)
            guard needed > usableNow else { continue }
            let laterWindows = Int((Double(needed - usableNow) / Double(allowance)).rounded(.up))
            limited = max(limited, max(0, window.resetIn) + Double(laterWindows - 1) * windowLength)
        }
        let throughput = (secondsPerCall ?? 0) * Double(total)
        return max(limited, throughput)
    }
}
