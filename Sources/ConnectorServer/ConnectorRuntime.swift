public import ConnectorConfiguration
import ConnectorDomain
public import ConnectorEngine
import ConnectorStore
public import OktaClient

/// The running parts of one connector, for the admin API, metrics and status.
public struct ConnectorRuntime: Sendable {
    public let settings: ConnectorSettings
    public let client: OktaAPIClient
    public let applier: EventApplier
    public let reconciler: Reconciler
    public let forwarder: OutboxForwarder
    public let snapshots: CSVSnapshots?
    /// The System Log poller, when the connector's event source includes polling.
    public let poller: SystemLogPoller?
    /// Where the connector's parts report trouble.
    public let board: ConnectorHealthBoard
    /// The worker lease this replica holds for the connector, if it holds it.
    public let fence: WorkerFenceHolder

    /// How the connector is doing: the worst of its parts' reports and of Okta's answer to its
    /// credentials.
    public var health: ConnectorHealth {
        let reported = board.health
        if case .running = reported, let pause = client.pause.current {
            return .degraded(reason: "okta: \(pause.reason)")
        }
        if case .running = reported, forwarder.state != .healthy {
            return .degraded(reason: "forwarder: \(forwarder.state): \(forwarder.lastError ?? "")")
        }
        if case .running = reported, !settings.active { return .stopped(reason: "inactive") }
        return reported
    }
}

/// Everything the admin API reads.
struct ConnectorRuntimeView: Sendable {
    let runtimes: @Sendable () -> [ConnectorRuntime]
    var connectors: [ConnectorRuntime] { runtimes() }
    let store: any StateStore
    let receiver: ReceiverStats
    let gate: RunGate
    /// Starts a manual reconcile in the background.
    let startManualRun: @Sendable (ConnectorRuntime, ReconcileOptions) -> Void
    /// The time the admin API, the console, the status and the metrics go by.
    var clock: any WallClock = SystemWallClock()
}
