import ConnectorStore
import ConnectorTestSupport
import Logging
import PostgreSQLStore
import PostgresNIO

/// What the chaos tests on PostgreSQL read back once the processes are done: whether the
/// connector's inbox and outbox drained, and which event `uuid`s the inbox holds.
enum PostgresChaosStore {
    static let logger: Logger = {
        var logger = Logger(label: "chaos-postgres")
        logger.logLevel = .critical
        return logger
    }()

    /// Waits until every event of the connector is applied and every change forwarded.
    /// - Returns: Whether that happened within `timeout` seconds.
    static func drained(_ location: PostgreSQLLocation, connector: String = "chaos-org", timeout: Double = 120)
        async throws -> Bool
    {
        let reader = try await PostgreSQLStateStore.running(location: location, logger: logger)
        defer { Task { await reader.close() } }
        return await eventually(timeout: timeout) {
            let inbox = (try? await reader.inboxDepth(connector: connector)) ?? 1
            let outbox = (try? await reader.outboxStats(connector: connector).depth) ?? 1
            return inbox == 0 && outbox == 0
        }
    }

    /// The `uuid` of every event the connector's inbox holds.
    static func storedEventUUIDs(_ location: PostgreSQLLocation, connector: String = "chaos-org") async throws
        -> Set<String>
    {
        try await PostgreSQLStateStore.administer(location, logger: logger) { connection in
            var uuids: Set<String> = []
            for try await uuid in try await connection.query(
                "SELECT uuid FROM inbox_events WHERE connector = \(connector)", logger: logger
            ).decode(String.self) {
                uuids.insert(uuid)
            }
            return uuids
        }
    }

    /// The connector's unapplied inbox events and queued outbox entries now (for a failure message).
    static func depths(_ location: PostgreSQLLocation, connector: String = "chaos-org") async -> String {
        guard let reader = try? await PostgreSQLStateStore.running(location: location, logger: logger) else {
            return "store unreadable"
        }
        defer { Task { await reader.close() } }
        let inbox = (try? await reader.inboxDepth(connector: connector)).map(String.init) ?? "?"
        let outbox = (try? await reader.outboxStats(connector: connector).depth).map(String.init) ?? "?"
        return "inbox \(inbox), outbox \(outbox)"
    }
}
