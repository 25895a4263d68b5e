import Synchronization

/// One reconcile at a time per connector, whatever started it (schedule, CLI, admin API).
///
/// Entry is scoped (``withRun(_:_:)``): the gate is left however the body ends (returns, throws or
/// is cancelled), so it can never leak.
public final class RunGate: Sendable {
    private let running = Mutex<Set<String>>([])

    /// Creates a gate.
    public init() {}

    /// Runs `body` as the connector's one run, or returns `nil` at once when one is in progress.
    public func withRun<T: Sendable>(
        _ connector: String, _ body: () async throws -> T
    ) async rethrows -> T? {
        guard running.withLock({ $0.insert(connector).inserted }) else { return nil }
        defer { _ = running.withLock { $0.remove(connector) } }
        return try await body()
    }

    /// Whether a run of the connector is in progress.
    public func isRunning(_ connector: String) -> Bool { running.withLock { $0.contains(connector) } }
}
