import AsyncHTTPClient
public import ConnectorEngine
public import NeuronsSinks
public import ServiceLifecycle

/// A connector's sink: what the forwarder hands batches to and, for CSV, the snapshot writer.
public struct ConnectorSink: Sendable {
    public let sink: any RecordSink
    /// Set for the CSV sink: write a snapshot after each successful reconcile.
    public let snapshots: CSVSnapshots?
    /// The HTTP client made for this sink alone (a `ca_file`), which its owner must shut down.
    let ownedHTTPClient: HTTPClient?

    init(sink: any RecordSink, snapshots: CSVSnapshots?, ownedHTTPClient: HTTPClient? = nil) {
        self.sink = sink
        self.snapshots = snapshots
        self.ownedHTTPClient = ownedHTTPClient
    }

    /// Releases what the sink owns (its own HTTP client); call it once nothing delivers any more.
    public func shutdown() async {
        try? await ownedHTTPClient?.shutdown()
    }

    /// For a connector's service group: a service that calls ``shutdown()`` when the group stops.
    /// List it before the forwarder, since a group stops its services in reverse order.
    public var lifetime: any Service { SinkLifetime(sink: self) }
}

/// Keeps a sink's resources until its group stops, then releases them.
struct SinkLifetime: Service {
    let sink: ConnectorSink

    func run() async throws {
        try? await gracefulShutdown()
        await sink.shutdown()
    }
}
