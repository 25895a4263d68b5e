public import ConnectorDomain
public import ConnectorEngine
public import ConnectorStore

/// Everything the admin listener reads: the running connectors (each acted on through its
/// operations), the store, the receiver's counts and the clock.
public struct AdminView: Sendable {
    let runtimes: @Sendable () -> [ConnectorRuntime]
    var connectors: [ConnectorRuntime] { runtimes() }
    let store: any StateStore
    let receiver: ReceiverStats
    /// The time the admin API, the console, the status and the metrics go by.
    var clock: any WallClock = SystemWallClock()

    /// Creates the view.
    public init(
        runtimes: @escaping @Sendable () -> [ConnectorRuntime], store: any StateStore, receiver: ReceiverStats,
        clock: any WallClock
    ) {
        self.runtimes = runtimes
        self.store = store
        self.receiver = receiver
        self.clock = clock
    }
}
