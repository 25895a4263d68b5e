import ConnectorDomain
import Foundation
import Synchronization

/// The console's signed-in browsers (SPEC §11): a session starts when a person signs in with the
/// admin token and ends at sign-out, after 30 minutes without a request (idle), when its lifetime
/// is over (counted from the sign-in, however busy it is), or when the admin token rotates (a
/// reload with a new token signs everyone out). Browsers send the cookie to every service on the
/// same host whatever the port, so a cookie that leaks there is worth little for long.
///
/// Sessions live in this process's memory: a restart signs everyone out, and with several replicas
/// behind one address a browser must stick to one (the admin listener is per replica anyway).
final class ConsoleSessions: Sendable {
    /// One signed-in browser.
    struct Session: Sendable {
        /// The value of the session cookie.
        let id: String
        /// The synchronizer token every state-changing form carries (`csrf` field).
        let csrfToken: String
        let expiresAt: Date
        /// The admin token's generation at sign-in: a rotated token ends the session.
        let tokenGeneration: UInt64
        /// The last request that came with it; the session ends ``ConsoleSessions/idleTimeout`` after.
        var lastUsedAt: Date

        func isLive(at now: Date, idleTimeout: TimeInterval) -> Bool {
            expiresAt > now && now.timeIntervalSince(lastUsedAt) < idleTimeout
        }
    }

    /// A session unused this long ends, whatever its lifetime.
    static let defaultIdleTimeout: TimeInterval = 30 * 60

    /// At most this many sessions are kept; a sign-in beyond it ends the oldest.
    static let maximumSessions = 256

    let lifetime: TimeInterval
    /// A session without a request for this long ends (30 minutes).
    let idleTimeout: TimeInterval
    let clock: any WallClock
    private let sessions = Mutex<[String: Session]>([:])
    /// One-shot messages shown on the next page a session opens ("Run started", "3 re-queued").
    private let notices = Mutex<[String: String]>([:])
    /// Sessions that paused the pages' refreshing.
    private let refreshPaused = Mutex<Set<String>>([])

    init(lifetime: TimeInterval, idleTimeout: TimeInterval = defaultIdleTimeout, clock: any WallClock) {
        self.lifetime = lifetime
        self.idleTimeout = idleTimeout
        self.clock = clock
    }

    /// Starts a session.
    /// - Parameter tokenGeneration: The admin token's generation the person signed in with.
    /// - Returns: The new session.
    func start(tokenGeneration: UInt64) -> Session {
        let now = clock.now
        let session = Session(
            id: Self.randomToken(), csrfToken: Self.randomToken(), expiresAt: now.addingTimeInterval(lifetime),
            tokenGeneration: tokenGeneration, lastUsedAt: now)
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.isLive(at: now, idleTimeout: idleTimeout) }
            if sessions.count >= Self.maximumSessions,
                let oldest = sessions.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key
            {
                sessions[oldest] = nil
            }
            sessions[session.id] = session
            let live = Set(sessions.keys)
            notices.withLock { $0 = $0.filter { live.contains($0.key) } }
            refreshPaused.withLock { $0.formIntersection(live) }
        }
        return session
    }

    /// The live session with this cookie value, if any, counted as used now; an expired or idle
    /// one, or one from before the token rotated, is ended.
    func session(id: String, tokenGeneration: UInt64) -> Session? {
        let now = clock.now
        return sessions.withLock { sessions -> Session? in
            guard var session = sessions[id] else { return nil }
            guard session.isLive(at: now, idleTimeout: idleTimeout), session.tokenGeneration == tokenGeneration else {
                sessions[id] = nil
                return nil
            }
            session.lastUsedAt = now
            sessions[id] = session
            return session
        }
    }

    /// Ends a session (sign-out).
    func end(id: String) {
        sessions.withLock { $0[id] = nil }
        notices.withLock { $0[id] = nil }
        refreshPaused.withLock { _ = $0.remove(id) }
    }

    /// Pauses or resumes the pages' refreshing for a session.
    func setRefreshPaused(_ paused: Bool, for id: String) {
        refreshPaused.withLock { if paused { $0.insert(id) } else { $0.remove(id) } }
    }

    /// Whether the session paused the pages' refreshing.
    func isRefreshPaused(_ id: String) -> Bool {
        refreshPaused.withLock { $0.contains(id) }
    }

    /// How many sessions are live now.
    var count: Int {
        let now = clock.now
        return sessions.withLock { $0.values.filter { $0.isLive(at: now, idleTimeout: idleTimeout) }.count }
    }

    /// Leaves a message for the session's next page.
    func leaveNotice(_ notice: String, for id: String) {
        notices.withLock { $0[id] = notice }
    }

    /// The message left for the session, once.
    func takeNotice(for id: String) -> String? {
        notices.withLock { $0.removeValue(forKey: id) }
    }

    /// 32 bytes from the system's cryptographic generator, base64url without padding.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
