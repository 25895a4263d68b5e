public import Foundation

/// The one clock abstraction of the connector: wall-clock time and waiting for it.
///
/// Schedules, backoff and rate-limit waits all read time through this, so tests drive them with a
/// manual clock and never sleep.
public protocol WallClock: Sendable {
    /// The time now.
    var now: Date { get }

    /// Waits until an instant, or throws `CancellationError` when the task is cancelled.
    /// - Parameter deadline: The instant to wait for.
    func sleep(until deadline: Date) async throws
}

extension WallClock {
    /// Waits for a duration.
    /// - Parameter seconds: How long to wait.
    public func sleep(seconds: TimeInterval) async throws {
        try await sleep(until: now.addingTimeInterval(seconds))
    }
}

/// The system's clock.
public struct SystemWallClock: WallClock {
    /// Creates the system clock.
    public init() {}

    public var now: Date { Date() }

    /// Waits until the deadline in steps of at most a day, so that a distant (or not finite) deadline
    /// never overflows a `Duration`.
    public func sleep(until deadline: Date) async throws {
        while true {
            let interval = deadline.timeIntervalSinceNow
            guard interval > 0 else { break }
            let step = Int64(saturating: (min(interval, 86_400) * 1000).rounded(.up))
            try await Task.sleep(for: .milliseconds(step))
        }
        try Task.checkCancellation()
    }
}
