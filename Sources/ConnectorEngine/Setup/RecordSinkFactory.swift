public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Logging
import NIOCore
import NIOSSL
public import NeuronsSinks

/// A connector's sink: what the forwarder hands batches to and, for CSV, the snapshot writer.
public struct ConnectorSink: Sendable {
    public let sink: any RecordSink
    /// Set for the CSV sink: write a snapshot after each successful reconcile.
    public let snapshots: CSVSnapshots?
}

/// Builds a connector's sink from its settings.
public enum RecordSinkFactory {
    /// The sink of a connector.
    public static func make(
        for connector: ConnectorSettings, store: any StateStore, httpClient: HTTPClient, clock: any WallClock,
        logger: Logger
    ) throws -> ConnectorSink {
        switch connector.sink {
        case .ndjson(let settings):
            return ConnectorSink(sink: try NDJSONSink(path: settings.path), snapshots: nil)
        case .http(let settings):
            var client = httpClient
            if let caFile = settings.caFile {
                // A private CA for the Neurons endpoint: its own client, trusting it besides the system roots.
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.additionalTrustRoots = [.file(caFile)]
                var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
                configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
                client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            }
            return ConnectorSink(
                sink: NeuronsHTTPSink(
                    endpoint: settings.endpoint, tokenURL: settings.tokenURL, clientId: settings.clientId,
                    clientSecret: settings.clientSecret, scope: settings.scope, httpClient: client, clock: clock),
                snapshots: nil)
        case .csv(let settings):
            let tracker = CSVChangeTracker()
            let writer = CSVSnapshotWriter(
                directory: settings.directory, delimiter: settings.delimiter, keep: settings.keep,
                prefix: connector.slug)
            return ConnectorSink(
                sink: tracker,
                snapshots: CSVSnapshots(
                    connector: connector.slug, store: store, writer: writer, tracker: tracker,
                    interval: settings.realtimeInterval, clock: clock, logger: logger))
        }
    }
}
