public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Logging
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

/// Builds a connector's sink from its settings.
public enum RecordSinkFactory {
    /// The sink of a connector.
    /// - Parameters:
    ///   - connector: The connector's settings.
    ///   - store: The store the CSV snapshots read.
    ///   - httpClient: The process's HTTP client, for the http sink without its own CA.
    ///   - fileAccess: The mode and group of the files the ndjson and csv sinks write.
    ///   - clock: The clock.
    ///   - logger: The logger.
    /// - Returns: The sink and what it owns.
    public static func make(
        for connector: ConnectorSettings, store: any StateStore, httpClient: HTTPClient,
        fileAccess: PrivateFileAccess = .ownerOnly, clock: any WallClock, logger: Logger
    ) throws -> ConnectorSink {
        switch connector.sink {
        case .ndjson(let settings):
            return ConnectorSink(sink: try NDJSONSink(path: settings.path, access: fileAccess), snapshots: nil)
        case .http(let settings):
            var client = httpClient
            var owned: HTTPClient?
            if let caFile = settings.caFile {
                // A private CA for the Neurons endpoint: its own client, trusting it besides the system roots.
                client = OutgoingHTTPClient.make(caFile: caFile)
                owned = client
            }
            return ConnectorSink(
                sink: NeuronsHTTPSink(
                    endpoint: settings.endpoint, tokenURL: settings.tokenURL, clientId: settings.clientId,
                    clientSecret: settings.clientSecret, scope: settings.scope, httpClient: client, clock: clock),
                snapshots: nil, ownedHTTPClient: owned)
        case .csv(let settings):
            let tracker = CSVChangeTracker()
            let writer = CSVSnapshotWriter(
                directory: settings.directory, delimiter: settings.delimiter, keep: settings.keep,
                prefix: connector.slug, neutralizeFormulas: settings.neutralizeFormulas, access: fileAccess)
            return ConnectorSink(
                sink: tracker,
                snapshots: CSVSnapshots(
                    connector: connector.slug, store: store, writer: writer, tracker: tracker,
                    interval: settings.realtimeInterval, clock: clock, logger: logger))
        }
    }
}
