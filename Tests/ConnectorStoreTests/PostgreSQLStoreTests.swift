import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
@testable import PostgreSQLStore
import PostgresNIO
import Testing

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
                group.addTask { try await PostgreSQLStateStore(location: location, logger: quietStoreLogger) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let applied = try await stores[0].appliedMigrations()
        #expect(applied.count == 6)
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
    @Test func aPoolThatStopsAnsweringIsReplacedAndWhatWaitedInItFails() async throws {
        guard !skipped() else { return }
        let (store, _, _) = try await PostgresTestDatabase.makeStore()
        defer { Task { await store.close() } }
        let busy = store.client
        let sleepers = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask { _ = try? await busy.query("SELECT pg_sleep(60)", logger: quietStoreLogger).collect() }
                }
            }
        }
        defer { sleepers.cancel() }
        let saturated = await eventually(timeout: 20) {
            await PostgreSQLStateStore.answers(busy, within: .milliseconds(300)) == false
        }
        #expect(saturated, "every connection of the pool is busy")
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
}
