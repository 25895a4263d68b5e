public import Foundation
import Synchronization

/// Okta's rate-limit buckets and their per-minute limits (SPEC §16: last published Enterprise
/// figures; the connector must read the real values from the headers, never hard-code them).
public struct RateLimitSettings: Sendable, Codable, Hashable {
    /// Requests per window by bucket name.
    public var limits: [String: Int]
    /// The window length in seconds (Okta: about 60 s, not aligned to the minute).
    public var window: TimeInterval
    /// Requests in flight per org before `429` (Okta's default: 75).
    public var concurrency: Int

    /// Creates settings.
    public init(limits: [String: Int], window: TimeInterval = 60, concurrency: Int = 75) {
        self.limits = limits
        self.window = window
        self.concurrency = concurrency
    }

    /// Okta's last published Enterprise per-minute limits.
    public static let enterprise = RateLimitSettings(limits: [
        OktaBucket.usersList: 600, OktaBucket.userGet: 2000, OktaBucket.userLinks: 1000, OktaBucket.apps: 100,
        OktaBucket.groupsList: 500, OktaBucket.group: 1000, OktaBucket.devices: 150, OktaBucket.eventHooks: 100,
        OktaBucket.logs: 120, OktaBucket.token: 600,
    ])
}

/// The simulator's names for Okta's rate-limit buckets.
public enum OktaBucket {
    public static let usersList = "GET /api/v1/users"
    public static let userGet = "GET /api/v1/users/{id}"
    public static let userLinks = "GET /api/v1/users/{id}/*"
    public static let apps = "/api/v1/apps*"
    public static let groupsList = "GET /api/v1/groups"
    /// A group and its members.
    public static let group = "/api/v1/groups/{id}*"
    public static let devices = "/api/v1/devices*"
    public static let eventHooks = "/api/v1/eventHooks*"
    public static let logs = "/api/v1/logs"
    public static let token = "/oauth2/v1/token"
}

/// Counts requests per bucket in windows that start at the first request after the previous one ended.
final class RateLimiter: Sendable {
    struct Window {
        var remaining: Int
        /// When the window ends, in seconds (fractional: windows shorter than Okta's in tests).
        var resetAt: Double
    }

    struct Decision {
        let allowed: Bool
        let limit: Int
        let remaining: Int
        let resetAt: Int64
    }

    let settings: RateLimitSettings
    private let windows = Mutex<[String: Window]>([:])
    private let inFlight = Atomic<Int>(0)

    init(settings: RateLimitSettings) { self.settings = settings }

    /// Takes one request from a bucket at a time (simulator clock).
    func take(_ bucket: String, now: Date) -> Decision? {
        guard let limit = settings.limits[bucket] else { return nil }
        let nowSeconds = now.timeIntervalSince1970
        return windows.withLock { windows in
            var window = windows[bucket] ?? Window(remaining: limit, resetAt: 0)
            if nowSeconds >= window.resetAt {
                window = Window(remaining: limit, resetAt: nowSeconds + settings.window)
            }
            let allowed = window.remaining > 0
            if allowed { window.remaining -= 1 }
            windows[bucket] = window
            // The header is whole UTC epoch seconds, rounded up so a client never retries early.
            return Decision(
                allowed: allowed, limit: limit, remaining: window.remaining, resetAt: Int64(window.resetAt.rounded(.up))
            )
        }
    }

    /// Empties a bucket until its window resets (a `429` storm).
    func exhaust(_ bucket: String, now: Date) {
        guard let limit = settings.limits[bucket] else { return }
        let nowSeconds = now.timeIntervalSince1970
        windows.withLock { windows in
            var window = windows[bucket] ?? Window(remaining: limit, resetAt: nowSeconds + settings.window)
            if nowSeconds >= window.resetAt { window.resetAt = nowSeconds + settings.window }
            window.remaining = 0
            windows[bucket] = window
        }
    }

    /// Enters the concurrency limit; `false` when it is full.
    func enter() -> Bool {
        let now = inFlight.add(1, ordering: .relaxed).newValue
        if now > settings.concurrency {
            inFlight.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { inFlight.subtract(1, ordering: .relaxed) }
}
