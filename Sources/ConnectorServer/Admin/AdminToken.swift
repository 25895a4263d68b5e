import ConnectorDomain
import Synchronization

/// The admin token in force: a reloaded configuration replaces it, and the old one is refused from
/// then on. Its generation counts the rotations, so that console sessions started with an earlier
/// token end with it.
final class AdminToken: Sendable {
    private let state: Mutex<(token: Secret, matcher: HookSecretMatcher, generation: UInt64)>

    init(_ token: Secret) {
        state = Mutex((token, HookSecretMatcher(secrets: [token]), 0))
    }

    /// Puts a new token in force; the same token again changes nothing.
    func replace(with token: Secret) {
        let new = HookSecretMatcher(secrets: [token])
        state.withLock { state in
            guard state.token != token else { return }
            state = (token, new, state.generation + 1)
        }
    }

    /// Whether the presented token is the one in force (constant time).
    func matches(_ presented: String) -> Bool {
        state.withLock { $0.matcher }.matches(presented)
    }

    /// How many times the token was rotated.
    var generation: UInt64 { state.withLock { $0.generation } }
}

/// `server.admin.metrics_token`: a read-only token that opens `GET /metrics` and nothing else, so a
/// Prometheus scraper need not hold the admin token (SPEC §20). A reload replaces or removes it.
final class MetricsToken: Sendable {
    private let matcher: Mutex<HookSecretMatcher?>

    init(_ token: Secret?) { matcher = Mutex(token.map { HookSecretMatcher(secrets: [$0]) }) }

    /// Puts a new token (or none) in force.
    func replace(with token: Secret?) { matcher.withLock { $0 = token.map { HookSecretMatcher(secrets: [$0]) } } }

    /// Whether the presented token is the metrics token (constant time).
    func matches(_ presented: String) -> Bool { matcher.withLock { $0 }?.matches(presented) ?? false }
}
