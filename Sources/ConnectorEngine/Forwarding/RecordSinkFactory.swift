public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import NeuronsSinks

/// Builds a connector's sink from its settings.
public enum RecordSinkFactory {
    /// Why a sink cannot be built.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The sink of a connector.
    public static func make(for connector: ConnectorSettings, httpClient: HTTPClient, clock: any WallClock) throws
        -> any RecordSink
    {
        switch connector.sink {
        case .ndjson(let settings):
            return try NDJSONSink(path: settings.path)
        case .http(let settings):
            return NeuronsHTTPSink(
                endpoint: settings.endpoint, tokenURL: settings.tokenURL, clientId: settings.clientId,
                clientSecret: settings.clientSecret, scope: settings.scope, httpClient: httpClient, clock: clock)
        case .csv:
            throw Unavailable(
                description:
                    "connector \(connector.slug): the csv sink is not available in this version yet; use ndjson or http"
            )
        }
    }
}
