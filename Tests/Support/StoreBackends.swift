public import ConnectorStore
import Foundation
import GRDB
public import Logging
public import PostgreSQLStore
import PostgresNIO
import SQLiteStore

/// The store backends a behaviour suite runs against: SQLite always; PostgreSQL when
/// `OKTA_TEST_POSTGRES_URL` names a server (`scripts/with-postgres.sh` starts a throwaway one, and
/// `.ci/run` uses it). Without it the PostgreSQL cases are skipped, and say so.
public enum StoreBackend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The server for PostgreSQL cases, if any.
    public static let postgresURL: String? = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// The backends to run: PostgreSQL only when a server is given.
    public static let available: [StoreBackend] = {
        if postgresURL == nil {
            print(
                "SKIPPED: PostgreSQL store cases (OKTA_TEST_POSTGRES_URL is not set; run scripts/with-postgres.sh swift test)"
            )
            return [.sqlite]
        }
        return [.sqlite, .postgres]
    }()

    /// A fresh, empty store of this backend, and what to call when done.
    public func makeStore() async throws -> TestStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "okta-connector-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("state.db").path
            return TestStore(store: try SQLiteStateStore(path: path), backend: self, location: path) {
                try? FileManager.default.removeItem(at: directory)
            }
        case .postgres:
            let (store, name, url) = try await PostgresTestDatabase.makeStore()
            return TestStore(store: store, backend: self, location: name, url: url) {
                Task { await store.close() }
            }
        }
    }
}

/// A database of its own per test on the test server.
public enum PostgresTestDatabase {
    /// Creates an empty database on the test server.
    /// - Returns: Its name and its `postgres://` URL.
    public static func create() async throws -> (name: String, url: String) {
        guard let url = StoreBackend.postgresURL else { throw CancellationError() }
        let server = try PostgreSQLLocation(url: url)
        let name = "okta_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgreSQLStateStore.administer(server, logger: quietStoreLogger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietStoreLogger)
        }
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return (name, components.string!)
    }

    /// A store on a database of its own.
    /// - Returns: The store, the database's name and its URL.
    public static func makeStore() async throws -> (PostgreSQLStateStore, String, String) {
        let (name, url) = try await create()
        let store = try await PostgreSQLStateStore.running(
            location: try PostgreSQLLocation(url: url), logger: quietStoreLogger)
        // Connected before the test starts timing anything, as a `serve` that has run a while is.
        _ = await store.isReady()
        return (store, name, url)
    }
}

extension PostgreSQLStateStore {
    /// Opens a store and runs it (its pool and watchdog) in a task of its own until it is closed:
    /// for tests, which have no service group to run it in.
    /// - Parameters:
    ///   - location: The database.
    ///   - logger: The store's logger.
    /// - Returns: The running store; its owner closes it.
    public static func running(location: PostgreSQLLocation, logger: Logger) async throws -> PostgreSQLStateStore {
        let store = try await PostgreSQLStateStore(location: location, logger: logger)
        Task { await store.run() }
        return store
    }
}

/// A logger that keeps store tests quiet.
public let quietStoreLogger: Logger = {
    var logger = Logger(label: "store-tests")
    logger.logLevel = .critical
    return logger
}()

/// A store under test and its clean-up (when it is released).
public final class TestStore: @unchecked Sendable {
    public let store: any StateStore
    public let backend: StoreBackend
    /// The SQLite file or the PostgreSQL database's name.
    public let location: String
    /// What `store.url` names this store in a configuration file.
    public let url: String
    private let cleanUp: () -> Void

    init(
        store: any StateStore, backend: StoreBackend, location: String, url: String? = nil,
        cleanUp: @escaping () -> Void
    ) {
        self.store = store
        self.backend = backend
        self.location = location
        self.url = url ?? location
        self.cleanUp = cleanUp
    }

    deinit { cleanUp() }

    /// Makes every later insert into a table fail with `reason`, as a full disk or a broken
    /// database would, through the database itself (a trigger), behind the store's back.
    public func failInserts(into table: String, reason: String) async throws {
        switch backend {
        case .sqlite:
            try await DatabaseQueue(path: location).write { db in
                try db.execute(
                    sql: "CREATE TRIGGER broken BEFORE INSERT ON \(table) BEGIN SELECT RAISE(ABORT, '\(reason)'); END")
            }
        case .postgres:
            _ = try await PostgreSQLStateStore.administer(try PostgreSQLLocation(url: url), logger: quietStoreLogger) {
                connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql
                            AS $$ BEGIN RAISE EXCEPTION '\(reason)'; END $$
                            """), logger: quietStoreLogger)
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL:
                            "CREATE TRIGGER broken BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION broken()"),
                    logger: quietStoreLogger)
            }
        }
    }
}
