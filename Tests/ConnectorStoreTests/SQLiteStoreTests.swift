import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import GRDB
import SQLiteStore
import Testing

/// What is particular to the SQLite file: migrations, durability of the file, atomicity.
@Suite("SQLite store")
struct SQLiteStoreTests {
    func temporaryPath() throws -> (path: String, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (directory.appendingPathComponent("state.db").path, directory)
    }

    @Test func reopeningAnExistingFileKeepsDataAndAppliesNoMigrationTwice() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let store = try SQLiteStateStore(path: path)
            _ = try await store.commit(UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(1)))
            #expect(try store.appliedMigrations().count == 12)
        }
        let reopened = try SQLiteStateStore(path: path)
        #expect(try reopened.appliedMigrations().count == 12, "no migration is applied twice")
        #expect(try await reopened.user(connector: connector, id: "00u1")?.version == 1)
        #expect(try await reopened.outboxStats(connector: connector).depth == 1)
        // WAL mode, as SPEC §10 asks.
        let mode = try await DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode")
        }
        #expect(mode == "wal")
    }

    @Test func aFileFromTheFirstReleaseIsMigratedKeepingItsData() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A file as version 1 of the schema left it: only the first migration applied, with a user in it.
        let store = try SQLiteStateStore(path: path)
        _ = try await store.commit(UserWriteBatch(connector: connector, changes: [upsert("00u1")], at: at(1)))
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DROP TABLE enrichment_staging")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v2:%'")
        }
        let migrated = try SQLiteStateStore(path: path)
        #expect(try migrated.appliedMigrations().count == 12)
        #expect(try await migrated.user(connector: connector, id: "00u1")?.version == 1)
        try await migrated.stageEnrichment(
            runId: 1, apps: [("00u1", AssignedApp(appName: "box", label: "Box", instanceId: "0oa1"))], devices: [])
        #expect(try await migrated.stagedEnrichment(runId: 1, userIds: ["00u1"])["00u1"]?.apps.count == 1)
    }

    @Test func aFileFromANewerVersionIsRefusedUntouched() throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SQLiteStateStore(path: path)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        #expect(throws: StoreError.schemaFromNewerVersion(unknownMigrations: ["v99: from the future"])) {
            try SQLiteStateStore(path: path)
        }
    }

    @Test func aFailingWriteLeavesNeitherStateNorOutbox() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStateStore(path: path)
        // Make the outbox refuse the third user's entry, as a full disk or a crash would stop it.
        try await DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse_third BEFORE INSERT ON outbox WHEN NEW.user_id = '00u3'
                    BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                    """)
        }
        await #expect(throws: (any Error).self) {
            _ = try await store.commit(
                UserWriteBatch(connector: connector, changes: ["00u1", "00u2", "00u3"].map { upsert($0) }, at: at(1)))
        }
        #expect(try await store.presentUserCount(connector: connector) == 0)
        #expect(try await store.outboxStats(connector: connector).depth == 0)
    }

    @Test func anUnopenableLocationIsReportedWithThePath() {
        #expect {
            try SQLiteStateStore(path: "/proc/okta-connector/state.db")
        } throws: { error in
            "\(error)".contains("/proc/okta-connector/state.db")
        }
    }
}
