public import ConnectorDomain
public import Foundation
import Synchronization

/// The Okta rate-limit buckets the client tells apart. Okta reports each bucket's real limit in
/// `X-Rate-Limit-*` headers; the client only needs to know which calls share a bucket.
public enum OktaBucket: String, Sendable, Hashable, CaseIterable {
    case usersList = "GET /api/v1/users"
    case userGet = "GET /api/v1/users/{id}"
    case userLinks = "GET /api/v1/users/{id}/*"
    case apps = "/api/v1/apps*"
    case groupsList = "GET /api/v1/groups"
    case group = "/api/v1/groups/{id}*"
    case devices = "/api/v1/devices*"
    case eventHooks = "/api/v1/eventHooks*"
    case logs = "/api/v1/logs"
    case token = "/oauth2/v1/token"

    /// The bucket's name for operators: `users` in "waiting 41 s for Okta's users bucket".
    public var shortName: String {
        switch self {
        case .usersList: "users"
        case .userGet: "user"
        case .userLinks: "user apps, devices and groups"
        case .apps: "apps"
        case .groupsList: "groups"
        case .group: "group members"
        case .devices: "devices"
        case .eventHooks: "event hooks"
        case .logs: "System Log"
        case .token: "token"
        }
    }
}

/// A wait for a rate-limit reset, reported as it starts (progress lines, `--verbose`, logs).
public struct RateLimitWait: Sendable, Hashable, CustomStringConvertible {
    /// Why the limiter waits.
    public enum Reason: String, Sendable, Hashable {
        /// The connector used its share of the bucket in this window.
        case share
        /// Okta answered `429`.
        case tooManyRequests
    }

    public var bucket: OktaBucket
    /// The bucket's limit per window, when Okta reported it.
    public var limit: Int?
    /// The connector's `rate_limit_share`.
    public var share: Double
    public var reason: Reason
    /// When the wait ends (local clock).
    public var until: Date
    /// How long the wait is, as it starts.
    public var seconds: TimeInterval

    /// Creates a wait.
    public init(bucket: OktaBucket, limit: Int?, share: Double, reason: Reason, until: Date, seconds: TimeInterval) {
        self.bucket = bucket
        self.limit = limit
        self.share = share
        self.reason = reason
        self.until = until
        self.seconds = seconds
    }

    /// `waiting 41 s for Okta's users bucket to reset (limit 600/min, share 50 %)`, with the
    /// seconds left at an instant.
    public func text(now: Date) -> String {
        let left = max(0, Int(until.timeIntervalSince(now).rounded(.up)))
        var details: [String] = []
        if reason == .tooManyRequests { details.append("Okta answered 429") }
        if let limit { details.append("limit \(limit)/min") }
        details.append("share \(Int((share * 100).rounded())) %")
        return "waiting \(left) s for Okta's \(bucket.shortName) bucket to reset (\(details.joined(separator: ", ")))"
    }

    public var description: String { text(now: until.addingTimeInterval(-seconds)) }
}

/// One connector's view of Okta's rate limits, fed by every response's `X-Rate-Limit-Limit`,
/// `-Remaining`, `-Reset` and `Date` (SPEC §6, §16).
///
/// It keeps this connector's use of each bucket under `share` of the bucket's limit: when the
/// remaining calls would fall below what the rest of the org needs, it waits for the reset. Resets
/// are converted to local time through the response's `Date`, never the local clock alone, since the
/// two clocks differ (shared/okta README).
public actor OktaRateLimiter {
    struct Bucket {
        var limit: Int
        var remaining: Int
        /// The reset in local clock time.
        var resetAt: Date
    }

    /// The share of each bucket this connector may use.
    public nonisolated let share: Double
    let clock: any WallClock
    private let observers = WaitObservers()
    /// The wait in progress, if any.
    public private(set) var currentWait: RateLimitWait?
    private var buckets: [OktaBucket: Bucket] = [:]
    private var random = SystemRandomNumberGenerator()
    /// Seconds spent waiting for resets, and how many waits.
    public private(set) var waitedSeconds: Double = 0
    public private(set) var waits = 0

    /// Creates a limiter.
    /// - Parameters:
    ///   - share: The share of each bucket this connector may use (`rate_limit_share`).
    ///   - clock: The clock to wait with.
    public init(share: Double, clock: any WallClock) {
        self.share = min(1, max(0.01, share))
        self.clock = clock
    }

    /// Waits, if needed, until a call to the bucket stays within the share; then counts the call.
    public func acquire(_ bucket: OktaBucket) async throws {
        while true {
            guard var state = buckets[bucket] else { return }
            let now = clock.now
            if now >= state.resetAt {
                // A new window: its real figures come with the next answer.
                buckets[bucket] = nil
                return
            }
            let reserve = Int((Double(state.limit) * (1 - share)).rounded(.up))
            if state.remaining > reserve {
                state.remaining -= 1
                buckets[bucket] = state
                return
            }
            try await wait(
                until: state.resetAt, bucket: bucket, limit: state.limit, reason: .share)
        }
    }

    /// Calls `observer` as each wait starts, before the limiter sleeps (on the waiting task: keep
    /// it short and non-blocking).
    public nonisolated func observeWaits(_ observer: @escaping @Sendable (RateLimitWait) -> Void) {
        observers.add(observer)
    }

    /// Learns a bucket's state from a response.
    /// - Parameters:
    ///   - bucket: The bucket the call counted against.
    ///   - limit: `X-Rate-Limit-Limit`, parsed by ``HeaderValues/rateLimitCount(_:)``.
    ///   - remaining: `X-Rate-Limit-Remaining`, likewise.
    ///   - resetIn: Seconds until `X-Rate-Limit-Reset`, measured against the response's `Date` and
    ///     clamped by ``HeaderValues/rateLimitResetWait(_:now:responseDate:)``.
    public func record(_ bucket: OktaBucket, limit: Int?, remaining: Int?, resetIn: TimeInterval?) {
        guard let limit, let remaining, let resetIn else { return }
        let resetAt = clock.now.addingTimeInterval(resetIn)
        if var state = buckets[bucket], abs(state.resetAt.timeIntervalSince(resetAt)) < 2 {
            // The same window: keep the lower count (other calls of ours may be in flight).
            state.limit = limit
            state.remaining = min(state.remaining, remaining)
            buckets[bucket] = state
        } else {
            buckets[bucket] = Bucket(limit: limit, remaining: remaining, resetAt: resetAt)
        }
    }

    /// After a `429`: waits until the reset (`Reset − Date + 1 s`, as Okta's SDKs do, plus jitter).
    /// - Parameters:
    ///   - bucket: The bucket that answered `429`.
    ///   - resetIn: Seconds until the reset (clamped, see ``record(_:limit:remaining:resetIn:)``);
    ///     `nil` without usable headers, then a minute, the length of Okta's windows.
    public func waitAfterTooManyRequests(_ bucket: OktaBucket, resetIn: TimeInterval?) async throws {
        let now = clock.now
        let resetAt = now.addingTimeInterval((resetIn ?? 59) + 1)
        if var state = buckets[bucket] {
            state.remaining = 0
            state.resetAt = resetAt
            buckets[bucket] = state
        }
        let jitter = Double.random(in: 0..<0.5, using: &random)
        try await wait(
            until: resetAt.addingTimeInterval(jitter), bucket: bucket, limit: buckets[bucket]?.limit,
            reason: .tooManyRequests)
    }

    private func wait(until deadline: Date, bucket: OktaBucket, limit: Int?, reason: RateLimitWait.Reason) async throws
    {
        let seconds = deadline.timeIntervalSince(clock.now)
        guard seconds > 0 else { return }
        waits += 1
        waitedSeconds += seconds
        let wait = RateLimitWait(
            bucket: bucket, limit: limit, share: share, reason: reason, until: deadline, seconds: seconds)
        // Several calls may wait for the same reset; the latest deadline is the one shown.
        if currentWait.map({ $0.until <= deadline }) ?? true { currentWait = wait }
        observers.notify(wait)
        defer { if currentWait == wait { currentWait = nil } }
        try await clock.sleep(until: deadline)
    }

    /// What the limiter knows of a bucket: limit, remaining and seconds to the reset.
    public func state(of bucket: OktaBucket) -> (limit: Int, remaining: Int, resetIn: TimeInterval)? {
        guard let state = buckets[bucket] else { return nil }
        return (state.limit, state.remaining, state.resetAt.timeIntervalSince(clock.now))
    }
}

/// The observers of a limiter's waits.
final class WaitObservers: Sendable {
    private let observers = Mutex<[@Sendable (RateLimitWait) -> Void]>([])

    func add(_ observer: @escaping @Sendable (RateLimitWait) -> Void) { observers.withLock { $0.append(observer) } }

    func notify(_ wait: RateLimitWait) {
        for observer in observers.withLock({ $0 }) { observer(wait) }
    }
}
