import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import PostgreSQLStore

/// What is particular to the PostgreSQL store: migrations under a lock, a newer schema refused,
/// clear connection errors without the password. Needs `OKTA_TEST_POSTGRES_URL`; says SKIPPED without.
@Suite("PostgreSQL store", .serialized, .timeLimit(.minutes(2)))
struct PostgreSQLStoreTests {
    func skipped() -> Bool {
        guard StoreBackend.postgresURL == nil else { return false }
        print(
            "SKIPPED: PostgreSQL store tests (OKTA_TEST_POSTGRES_URL is not set; run scripts/with-postgres.sh swift test)"
        )
        return true
    }

    @Test func replicasStartingTogetherMigrateOnceAndANewerSchemaIsRefusedUntouched() async throws {
        guard !skipped(), let url = StoreBackend.postgresURL else { return }
        let server = try PostgreSQLLocation(url: url)
        let name = "okta_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await PostgreSQLStateStore.administer(server, logger: quietStoreLogger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietStoreLogger)
        }
        let location = {
            var location = server
            location.database = name
            return location
        }()
        // Three replicas start at once: one migrates under the lock, the others find it done.
        let stores = try await withThrowingTaskGroup(of: PostgreSQLStateStore.self) { group in
            for _ in 0..<3 {
                group.addTask { try await PostgreSQLStateStore.running(location: location, logger: quietStoreLogger) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let applied = try await stores[0].appliedMigrations()
        #expect(applied.count == PostgreSQLSchema.migrations.count)
        #expect(Set(applied).count == applied.count, "no migration applied twice")
        for store in stores { await store.close() }

        // A newer binary migrated the database: refused, nothing changed.
        _ = try await PostgreSQLStateStore.administer(location, logger: quietStoreLogger) { connection in
            try await connection.query(
                "INSERT INTO okta_connector_migrations (identifier, applied_at) VALUES ('v99: from the future', 0)",
                logger: quietStoreLogger)
        }
        await #expect(throws: StoreError.schemaFromNewerVersion(unknownMigrations: ["v99: from the future"])) {
            _ = try await PostgreSQLStateStore(location: location, logger: quietStoreLogger)
        }
    }

    @Test func connectionProblemsNameTheHostAndNeverThePassword() async throws {
        guard !skipped(), let url = StoreBackend.postgresURL else { return }
        let server = try PostgreSQLLocation(url: url)
        var wrongPassword = server
        wrongPassword.password = "not-the-password"
        await #expect {
            _ = try await PostgreSQLStateStore(location: wrongPassword, logger: quietStoreLogger)
        } throws: { error in
            let text = "\(error)"
            return text.contains("authentication failed") && !text.contains("not-the-password")
        }
        var missing = server
        missing.database = "no_such_database"
        await #expect {
            _ = try await PostgreSQLStateStore(location: missing, logger: quietStoreLogger)
        } throws: { error in "\(error)".contains("does not exist") }
        var refused = server
        refused.port = 1
        await #expect {
            _ = try await PostgreSQLStateStore(location: refused, logger: quietStoreLogger)
        } throws: { error in
            let text = "\(error)"
            return text.contains("127.0.0.1") || text.contains(server.host)
        }
        #expect(throws: StoreError.self) { try PostgreSQLLocation(url: "postgres://user:secret@host") }
        do {
            _ = try PostgreSQLLocation(url: "postgres://user:secret@host/db?sslmode=allow")
        } catch {
            #expect(!"\(error)".contains("secret"), "no password in \(error)")
        }
    }

    /// A pool that stops answering while the database answers (PostgresNIO's has been seen to keep
    /// requests waiting for good after a server restart) is replaced: what waited in it fails at
    /// once, and the store works again. Here every connection of the pool is kept busy.
    /// Takes every connection of a store's pool with `hold` until the returned task is cancelled,
    /// and waits until a query through the pool no longer answers.
    func fillPool(
        of store: PostgreSQLStateStore, _ hold: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async -> Task<Void, Never> {
        let client = await store.client
        let holders = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask { try? await client.withConnection { connection in try await hold(connection) } }
                }
            }
        }
        let full = await eventually(timeout: 20) {
            await PostgreSQLStateStore.answers(client, within: .milliseconds(300), logger: quietStoreLogger) == false
        }
        #expect(full, "every connection of the pool is taken")
        return holders
    }

    @Test func aPoolThatStopsAnsweringIsReplacedAndWhatWaitedInItFails() async throws {
        guard !skipped() else { return }
        let (store, _, _) = try await PostgresTestDatabase.makeStore()
        defer { Task { await store.close() } }
        // Stuck as PostgresNIO's pool was seen stuck: every connection taken, none working in the
        // database (idle there), requests waiting.
        let holders = await fillPool(of: store) { _ in try await Task.sleep(for: .seconds(60)) }
        defer { holders.cancel() }
        #expect(
            try await PostgreSQLStateStore.workingConnections(
                store.location, applicationName: store.applicationName, logger: quietStoreLogger) == 0)
        // A request that now waits for a connection.
        let waiting = Task { try await store.presentUserCount(connector: "c") }
        #expect(await store.look(afterFailures: 0, deadline: .milliseconds(300)) == 1, "one failed look is not enough")
        #expect(store.poolReplacements == 0)
        #expect(await store.look(afterFailures: 1, deadline: .milliseconds(300)) == 0)
        #expect(store.poolReplacements == 1)
        let started = Date()
        await #expect(throws: (any Error).self, "the waiting request fails rather than waiting on") {
            _ = try await waiting.value
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(try await store.presentUserCount(connector: "c") == 0, "the new pool answers")
        #expect(await store.look(afterFailures: 0) == 0)
    }

    @Test func aPoolThatIsOnlyBusyIsLeftAlone() async throws {
        guard !skipped() else { return }
        let (store, _, _) = try await PostgresTestDatabase.makeStore()
        defer { Task { await store.close() } }
        // Saturated: every connection runs a long statement in the database.
        let holders = await fillPool(of: store) { connection in
            try await connection.query("SELECT pg_sleep(60)", logger: quietStoreLogger)
        }
        defer { holders.cancel() }
        let working = await eventually(timeout: 30) {
            let count = try? await PostgreSQLStateStore.workingConnections(
                store.location, applicationName: store.applicationName, logger: quietStoreLogger)
            return count == 16
        }
        #expect(working, "the database sees the pool's 16 connections working, by the store's application name")
        #expect(await store.look(afterFailures: 0, deadline: .milliseconds(300)) == 1)
        #expect(await store.look(afterFailures: 1, deadline: .milliseconds(300)) == 2, "busy is not stuck")
        #expect(await store.look(afterFailures: 2, deadline: .milliseconds(300)) == 3)
        #expect(store.poolReplacements == 0, "work in progress is not failed")
        // The sleeping statements end now rather than outlive the test in the shared server.
        holders.cancel()
        let applicationName = store.applicationName
        try await PostgreSQLStateStore.probe(store.location, logger: quietStoreLogger) { connection in
            let query: PostgresQuery =
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(applicationName)"
            try await connection.query(query, logger: quietStoreLogger)
        }
    }
}
