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
