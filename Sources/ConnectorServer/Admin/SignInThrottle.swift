import ConnectorDomain
import Foundation
import Synchronization

/// Failed console sign-ins per client address: after `limit` failures within `window`, that
/// address's sign-ins are refused, the right token too, until its oldest failure leaves the window.
/// Guessing the admin token through the sign-in form is then as slow as through the API is
/// pointless. Bearer requests are not affected (a wrong one is a plain `401`).
final class SignInThrottle: Sendable {
    let limit: Int
    let window: TimeInterval
    let clock: any WallClock
    /// Addresses tracked at most; beyond it the quietest are forgotten.
    static let maximumAddresses = 1024
    private let failures = Mutex<[String: [Date]]>([:])

    init(limit: Int = 10, window: TimeInterval = 60, clock: any WallClock) {
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    /// Seconds until the address may try again, or `nil` when it may now.
    func retryAfter(_ address: String) -> TimeInterval? {
        let now = clock.now
        return failures.withLock { failures -> TimeInterval? in
            let recent = (failures[address] ?? []).filter { now.timeIntervalSince($0) < window }
            failures[address] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, window - now.timeIntervalSince(oldest))
        }
    }

    /// Counts a failed sign-in of the address.
    func recordFailure(_ address: String) {
        let now = clock.now
        failures.withLock { failures in
            var recent = (failures[address] ?? []).filter { now.timeIntervalSince($0) < window }
            recent.append(now)
            failures[address] = Array(recent.suffix(limit))
            if failures.count > Self.maximumAddresses {
                failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
                while failures.count > Self.maximumAddresses,
                    let quietest = failures.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key
                {
                    failures[quietest] = nil
                }
            }
        }
    }
}
