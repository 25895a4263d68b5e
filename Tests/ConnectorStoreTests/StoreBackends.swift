import ConnectorDomain
import ConnectorStore
import Foundation
import Logging
import PostgreSQLStore
import PostgresNIO
import SQLiteStore
import Testing

/// The store backends the contract runs against: SQLite always; PostgreSQL when
/// `OKTA_TEST_POSTGRES_URL` names a server (`scripts/with-postgres.sh` starts a throwaway one, and
/// `.ci/run` uses it). Without it the PostgreSQL cases are skipped, and say so.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The server for PostgreSQL cases, if any.
    static let postgresURL: String? = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// The backends to run: PostgreSQL only when a server is given.
    static let available: [StoreBackend] = {
        if postgresURL == nil {
            print(
                "SKIPPED: PostgreSQL store cases (OKTA_TEST_POSTGRES_URL is not set; run scripts/with-postgres.sh swift test)"
            )
            return [.sqlite]
        }
        return [.sqlite, .postgres]
    }()

    /// A fresh, empty store of this backend, and what to call when done.
    func makeStore() async throws -> TestStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "okta-connector-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("state.db").path
            return TestStore(store: try SQLiteStateStore(path: path), location: path) {
                try? FileManager.default.removeItem(at: directory)
            }
        case .postgres:
            let (store, database) = try await PostgresTestDatabase.makeStore()
            return TestStore(store: store, location: database) {
                Task { await store.close() }
            }
        }
    }
}

/// A database of its own per test on the test server.
enum PostgresTestDatabase {
    static func makeStore() async throws -> (PostgreSQLStateStore, String) {
        guard let url = StoreBackend.postgresURL else { throw CancellationError() }
        let server = try PostgreSQLLocation(url: url)
        let name = "okta_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgreSQLStateStore.administer(server, logger: quietStoreLogger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietStoreLogger)
        }
        var location = server
        location.database = name
        return (try await PostgreSQLStateStore(location: location, logger: quietStoreLogger), name)
    }
}

let quietStoreLogger: Logger = {
    var logger = Logger(label: "store-tests")
    logger.logLevel = .critical
    return logger
}()

/// A store under test and its clean-up.
final class TestStore: @unchecked Sendable {
    let store: any StateStore
    let location: String
    private let cleanUp: () -> Void

    init(store: any StateStore, location: String, cleanUp: @escaping () -> Void) {
        self.store = store
        self.location = location
        self.cleanUp = cleanUp
    }

    deinit { cleanUp() }
}

let connector = "okta-production"
let t0 = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000)

func at(_ seconds: Int64) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + seconds * 1000)
}

/// A user snapshot and its mapped record.
func upsert(_ id: String, title: String = "Engineer", status: String = "ACTIVE", lastUpdated: Timestamp = t0)
    -> UserChange
{
    let user = OktaUser(
        id: id, status: status, lastUpdated: lastUpdated,
        profile: ["login": .string("\(id)@example.com"), "title": .string(title)])
    let snapshot = UserSnapshot(user: user)
    return .upsert(snapshot: snapshot, record: UserMapper().record(for: snapshot))
}

func event(_ uuid: String, user: String = "00u1", published: Timestamp, type: String = "user.lifecycle.activate")
    -> InboxEvent
{
    InboxEvent(
        uuid: uuid, eventType: type, subjectUserId: user, published: published,
        payloadJSON: #"{"uuid":"\#(uuid)"}"#)
}
