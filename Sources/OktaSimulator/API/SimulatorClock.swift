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
