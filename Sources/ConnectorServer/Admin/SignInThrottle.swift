import ConnectorDomain
import Foundation
import Metrics
import Synchronization

/// Wrong admin tokens per client address: after `limit` failures within `window`, that address's
/// attempts are refused, the right token too, until its oldest failure leaves the window. Guessing
/// the admin token is then hopeless. The console's sign-in form and bearer requests each have one
/// (a person mistyping the token in the form does not lock out a script on the same host).
///
/// A sign-in is counted from the moment it is admitted, before its body arrives (``begin(_:)``):
/// attempts in flight and failures share one limit under one lock, so a hundred concurrent guesses
/// with a slow body get `limit` checks, not a hundred.
final class SignInThrottle: Sendable {
    let limit: Int
    let window: TimeInterval
    let clock: any WallClock
    /// What it guards, as the `via` label of `okta_connector_admin_token_refused_total`.
    let via: String
    /// Addresses tracked at most; beyond it the quietest are forgotten.
    static let maximumAddresses = 1024

    private struct Tally {
        var failures: [Date] = []
        var inFlight = 0
    }

    private let tallies = Mutex<[String: Tally]>([:])

    init(limit: Int = 10, window: TimeInterval = 60, clock: any WallClock, via: String = "sign_in") {
        self.via = via
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    /// Whether an attempt may go ahead.
    enum Admission: Sendable {
        /// Checked; the attempt must be ended (``failed()`` or ``end()``).
        case admitted(Attempt)
        /// Refused for this many seconds.
        case refused(retryAfter: TimeInterval)

        /// Ends an admitted attempt as a wrong token (counted for the window); nothing for a refused one.
        func failed() {
            if case .admitted(let attempt) = self { attempt.failed() }
        }

        /// Ends an admitted attempt without a failure; nothing after ``failed()`` or for a refused one.
        func end() {
            if case .admitted(let attempt) = self { attempt.end() }
        }
    }

    /// One admitted attempt, counted against its address until it ends.
    final class Attempt: Sendable {
        let address: String
        private let throttle: SignInThrottle
        private let ended = Atomic<Bool>(false)

        fileprivate init(address: String, throttle: SignInThrottle) {
            self.address = address
            self.throttle = throttle
        }

        /// Ends the attempt as a wrong token: it stays counted for the window, and in
        /// `okta_connector_admin_token_refused_total`.
        func failed() {
            guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
            throttle.finish(address, failed: true)
            Counter(label: "okta_connector_admin_token_refused_total", dimensions: [("via", throttle.via)]).increment()
        }

        /// Ends the attempt without a failure (the right token, or no token checked); does
        /// nothing after ``failed()``.
        func end() {
            guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
            throttle.finish(address, failed: false)
        }
    }

    /// Admits an attempt of the address, counting it at once, or refuses it when its failures and
    /// its attempts in flight reach the limit.
    /// - Parameter address: The client's address.
    /// - Returns: The attempt to end, or how long to wait.
    func begin(_ address: String) -> Admission {
        let now = clock.now
        let refusal = tallies.withLock { tallies -> TimeInterval? in
            var tally = tallies[address] ?? Tally()
            tally.failures = tally.failures.filter { now.timeIntervalSince($0) < window }
            if tally.failures.count + tally.inFlight >= limit {
                tallies[address] = tally
                guard tally.failures.count >= limit, let oldest = tally.failures.first else { return 1 }
                return max(1, window - now.timeIntervalSince(oldest))
            }
            tally.inFlight += 1
            tallies[address] = tally
            bound(&tallies, now: now)
            return nil
        }
        if let refusal { return .refused(retryAfter: refusal) }
        return .admitted(Attempt(address: address, throttle: self))
    }

    private func finish(_ address: String, failed: Bool) {
        let now = clock.now
        tallies.withLock { tallies in
            var tally = tallies[address] ?? Tally()
            tally.inFlight = max(0, tally.inFlight - 1)
            tally.failures = tally.failures.filter { now.timeIntervalSince($0) < window }
            if failed { tally.failures = Array((tally.failures + [now]).suffix(limit)) }
            tallies[address] = tally.failures.isEmpty && tally.inFlight == 0 ? nil : tally
        }
    }

    /// Seconds until the address may try again, or `nil` when it may now (attempts in flight
    /// aside: a bearer token is checked as soon as its header arrives).
    func retryAfter(_ address: String) -> TimeInterval? {
        let now = clock.now
        return tallies.withLock { tallies -> TimeInterval? in
            guard var tally = tallies[address] else { return nil }
            tally.failures = tally.failures.filter { now.timeIntervalSince($0) < window }
            tallies[address] = tally.failures.isEmpty && tally.inFlight == 0 ? nil : tally
            guard tally.failures.count >= limit, let oldest = tally.failures.first else { return nil }
            return max(1, window - now.timeIntervalSince(oldest))
        }
    }

    /// Counts a wrong token of the address (in the window and in the metrics).
    func recordFailure(_ address: String) {
        Counter(label: "okta_connector_admin_token_refused_total", dimensions: [("via", via)]).increment()
        let now = clock.now
        tallies.withLock { tallies in
            var tally = tallies[address] ?? Tally()
            tally.failures = Array((tally.failures.filter { now.timeIntervalSince($0) < window } + [now]).suffix(limit))
            tallies[address] = tally
            bound(&tallies, now: now)
        }
    }

    /// Attempts in flight for the address now (for tests).
    func inFlight(_ address: String) -> Int { tallies.withLock { $0[address]?.inFlight ?? 0 } }

    /// Forgets the quietest addresses beyond ``maximumAddresses`` (never one with an attempt in flight).
    private func bound(_ tallies: inout [String: Tally], now: Date) {
        guard tallies.count > Self.maximumAddresses else { return }
        tallies = tallies.filter {
            $0.value.inFlight > 0 || $0.value.failures.contains { now.timeIntervalSince($0) < window }
        }
        while tallies.count > Self.maximumAddresses,
            let quietest = tallies.filter({ $0.value.inFlight == 0 })
                .min(by: { ($0.value.failures.last ?? now) < ($1.value.failures.last ?? now) })?.key
        {
            tallies[quietest] = nil
        }
    }
}

/// Wrong admin bearer tokens, logged in at most one line a minute however many arrive: how many
/// since the last line, and from which addresses (a few). Every one is counted in the metrics.
final class WrongTokenLog: Sendable {
    let interval: TimeInterval
    let clock: any WallClock
    /// Addresses named in one line at most.
    static let maximumAddresses = 8

    private struct Pending {
        var count = 0
        var addresses: [String] = []
        var lastLogged: Date?
    }

    private let pending = Mutex(Pending())

    init(interval: TimeInterval = 60, clock: any WallClock) {
        self.interval = interval
        self.clock = clock
    }

    /// Notes a wrong token.
    /// - Parameter address: The client's address.
    /// - Returns: What to log now (the wrong tokens since the last line, and their addresses), or
    ///   `nil` when a line was logged less than ``interval`` ago.
    func note(_ address: String) -> (count: Int, addresses: [String])? {
        let now = clock.now
        return pending.withLock { pending -> (Int, [String])? in
            pending.count += 1
            if !pending.addresses.contains(address), pending.addresses.count < Self.maximumAddresses {
                pending.addresses.append(address)
            }
            if let last = pending.lastLogged, now.timeIntervalSince(last) < interval { return nil }
            let line = (pending.count, pending.addresses)
            pending = Pending(lastLogged: now)
            return line
        }
    }
}
