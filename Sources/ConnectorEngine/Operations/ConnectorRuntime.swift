public import ConnectorConfiguration

/// A running connector as the admin API, the console, the metrics and the status see it: its
/// settings, its operations and its health. Its parts are reached only through the operations.
public struct ConnectorRuntime: Sendable {
    public let settings: ConnectorSettings
    public let operations: ConnectorOperations

    /// Pairs a connector's settings with its operations.
    public init(operations: ConnectorOperations) {
        self.settings = operations.settings
        self.operations = operations
    }

    /// How the connector is doing (see ``ConnectorOperations/health``).
    public var health: ConnectorHealth { operations.health }
}
