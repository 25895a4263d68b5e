public import Foundation
import Synchronization

/// Holds a connector's Okta calls back while Okta rejects its credentials (SPEC §5, §15).
///
/// A `401` (after one fresh OAuth token) or a `403` will answer the same way until someone fixes
/// the token or the service app, and every rejected call still counts against the org-wide rate
/// limits that other integrations share. So the first rejection engages the pause: from then on
/// calls fail at once without reaching Okta, except one *probe* per `probeInterval`, which goes
/// through; the first call Okta accepts releases the pause. A reload that changes the credentials
/// builds a new client, hence a new pause.
public final class OktaCredentialPause: Sendable {
    /// The pause as it is now.
    public struct State: Sendable, Hashable {
        /// Why Okta's calls are held, e.g. the rejection's message.
        public var reason: String
        /// When the pause was engaged.
        public var since: Date
        /// When the next probe may go to Okta.
        public var nextProbeAt: Date
        /// Calls refused without reaching Okta.
        public var heldCalls: Int
    }

    /// How often one call may try Okta while paused.
    public let probeInterval: TimeInterval
    /// Whether rejections engage the pause at all.
    let enabled: Bool
    private let state = Mutex<State?>(nil)

    /// Creates a pause, released.
    /// - Parameter probeInterval: How often one call may try Okta while paused (default a minute).
    public init(probeInterval: TimeInterval = 60) {
        self.probeInterval = probeInterval
        self.enabled = true
    }

    private init(disabled: Void) {
        probeInterval = 60
        enabled = false
    }

    /// Never pauses: for one-shot checks that must ask Okta about every permission
    /// (`check-config --online`, `hooks register`), where each answer is the point.
    public static var never: OktaCredentialPause { OktaCredentialPause(disabled: ()) }

    /// The pause, or `nil` while Okta accepts the credentials.
    public var current: State? { state.withLock { $0 } }

    /// Lets a call go to Okta, or refuses it while paused and no probe is due.
    /// - Throws: ``OktaError/credentialsRejected(reason:nextProbeAt:)`` when the call is held.
    public func admit(now: Date) throws(OktaError) {
        let refusal = state.withLock { state -> OktaError? in
            guard var paused = state else { return nil }
            if now >= paused.nextProbeAt {
                // This call is the probe; later ones wait for the next interval.
                paused.nextProbeAt = now.addingTimeInterval(probeInterval)
                state = paused
                return nil
            }
            paused.heldCalls += 1
            state = paused
            return .credentialsRejected(reason: paused.reason, nextProbeAt: paused.nextProbeAt)
        }
        if let refusal { throw refusal }
    }

    /// Okta rejected the credentials: hold calls back until a probe succeeds.
    /// - Returns: Whether this engaged the pause (it was released before).
    @discardableResult
    public func engage(reason: String, now: Date) -> Bool {
        guard enabled else { return false }
        return state.withLock { state in
            if var paused = state {
                paused.reason = reason
                state = paused
                return false
            }
            state = State(reason: reason, since: now, nextProbeAt: now.addingTimeInterval(probeInterval), heldCalls: 0)
            return true
        }
    }

    /// Okta accepted a call.
    /// - Returns: The pause that ended, if one was engaged.
    @discardableResult
    public func release() -> State? {
        state.withLock { state in
            defer { state = nil }
            return state
        }
    }
}
