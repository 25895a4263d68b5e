public import Foundation

/// The one retry policy: capped exponential backoff with jitter, for Okta's `5xx`, timeouts and
/// connection errors (SPEC §6; `429` waits come from the rate-limit headers instead) and for a sink
/// that is down (SPEC §9).
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maximumAttempts: Int
    /// The first backoff.
    public var initialDelay: TimeInterval
    /// No backoff is longer than this.
    public var maximumDelay: TimeInterval
    /// Waits for a rate-limit reset before giving up on one request.
    public var maximumRateLimitWaits: Int

    /// Creates a policy.
    public init(
        maximumAttempts: Int = 6, initialDelay: TimeInterval = 0.5, maximumDelay: TimeInterval = 30,
        maximumRateLimitWaits: Int = 20
    ) {
        self.maximumAttempts = maximumAttempts
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.maximumRateLimitWaits = maximumRateLimitWaits
    }

    /// The default for the Okta client.
    public static let okta = RetryPolicy()

    /// Between attempts to reach a store that failed (a database restarting, a full disk): short,
    /// so that work resumes within seconds of the store coming back, however long it was away;
    /// a failing attempt costs one round trip.
    public static let storeOutage = RetryPolicy(maximumAttempts: .max, initialDelay: 1, maximumDelay: 10)

    /// The backoff before a retry: between half and all of `min(maximumDelay, initialDelay × 2^(attempt-1))`.
    /// - Parameters:
    ///   - attempt: The attempt that failed, from 1.
    ///   - random: A number in `0..<1`.
    public func delay(afterAttempt attempt: Int, random: Double) -> TimeInterval {
        let ceiling = min(maximumDelay, initialDelay * pow(2, Double(max(0, attempt - 1))))
        return ceiling * (0.5 + random / 2)
    }
}
