public import ConnectorConfiguration
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
}

/// Everything the admin API reads.
struct ConnectorRuntimeView: Sendable {
    let runtimes: @Sendable () -> [ConnectorRuntime]
    var connectors: [ConnectorRuntime] { runtimes() }
    let store: any StateStore
    let receiver: ReceiverStats
    let gate: RunGate
}
