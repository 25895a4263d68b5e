import Synchronization

/// One reconcile at a time per connector, whatever started it (schedule, CLI, admin API).
public final class RunGate: Sendable {
    private let running = Mutex<Set<String>>([])

    /// Creates a gate.
    public init() {}

    /// Enters for a connector; `false` when one of its runs is in progress.
    public func tryEnter(_ connector: String) -> Bool {
        running.withLock { $0.insert(connector).inserted }
    }

    /// Leaves after a run.
    public func leave(_ connector: String) {
        _ = running.withLock { $0.remove(connector) }
    }

    /// Whether a run of the connector is in progress.
    public func isRunning(_ connector: String) -> Bool { running.withLock { $0.contains(connector) } }
}
