import ConnectorApp
import ConnectorStore
import Foundation
import Logging
import PostgreSQLStore
import PostgresNIO
import SQLiteStore

/// The store a benchmark measures: a SQLite file in its folder, or a fresh database of its own on
/// a PostgreSQL server (created on the server named by the URL).
enum BenchStore {
    static let quiet: Logger = {
        var logger = Logger(label: "bench-store")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs `body` with the benchmark's store open and running, as the commands do
    /// (`StoreOpening.using`): closed once `body` ends, and a database made for it dropped then.
    /// - Parameters:
    ///   - postgresURL: The server for a PostgreSQL store; `nil` for SQLite.
    ///   - directory: Where the SQLite file goes.
    ///   - body: The measurements on the store.
    /// - Returns: What `body` returns.
    static func using<T>(
        postgresURL: String?, directory: URL, _ body: (any StateStore) async throws -> T
    ) async throws -> T {
        guard let postgresURL else {
            return try await StoreOpening.using(
                try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path), body)
        }
        let server = try PostgreSQLLocation(url: postgresURL)
        let name = "okta_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgreSQLStateStore.administer(server, logger: quiet) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quiet)
        }
        var location = server
        location.database = name
        do {
            let result = try await StoreOpening.using(
                try await PostgreSQLStateStore(location: location, logger: quiet), body)
            await drop(name, on: server)
            return result
        } catch {
            await drop(name, on: server)
            throw error
        }
    }

    /// Drops a database this process made (its connections are ended: `WITH (FORCE)`), so that
    /// benchmarks leave nothing behind on the server. A failure is printed, not thrown.
    static func drop(_ name: String, on server: PostgreSQLLocation) async {
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
