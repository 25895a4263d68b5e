import ConnectorStore
import Foundation
import Logging
import PostgreSQLStore
import PostgresNIO
import SQLiteStore
import Synchronization

/// The store a benchmark measures: a SQLite file in its folder, or a fresh database of its own on
/// a PostgreSQL server (created on the server named by the URL).
enum BenchStore {
    static let quiet: Logger = {
        var logger = Logger(label: "bench-store")
        logger.logLevel = .critical
        return logger
    }()

    /// - Parameters:
    ///   - postgresURL: The server for a PostgreSQL store; `nil` for SQLite.
    ///   - directory: Where the SQLite file goes.
    static func make(postgresURL: String?, directory: URL) async throws -> any StateStore {
        guard let postgresURL else {
            return try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        }
        let server = try PostgreSQLLocation(url: postgresURL)
        let name = "okta_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgreSQLStateStore.administer(server, logger: quiet) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quiet)
        }
        created.withLock { $0.append((server, name)) }
        var location = server
        location.database = name
        let store = try await PostgreSQLStateStore(location: location, logger: quiet)
        // Runs until the process ends (a benchmark program has no service group).
        Task { await store.run() }
        return store
    }

    /// The databases made on servers, dropped by ``dropCreatedDatabases()``.
    static let created = Mutex<[(PostgreSQLLocation, String)]>([])

    /// Drops the databases this process made (their connections are ended: `WITH (FORCE)`), so that
    /// benchmarks leave nothing behind on the server. Failures are printed, not thrown.
    static func dropCreatedDatabases() async {
        let made = created.withLock { made in
            defer { made = [] }
            return made
        }
        for (server, name) in made {
            do {
                _ = try await PostgreSQLStateStore.administer(server, logger: quiet) { connection in
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: quiet)
                }
            } catch {
                print("(could not drop the benchmark database \(name): \(error))")
            }
        }
    }
}
