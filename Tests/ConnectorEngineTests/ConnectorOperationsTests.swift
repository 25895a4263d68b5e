import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import NeuronsSinks
import OktaClient
import Testing

/// The operator actions, written once (issue 21): every surface calls these, so their behaviour is
/// tested here, over an in-memory Okta and an SQLite store.
@Suite("Connector operations", .timeLimit(.minutes(3)))
struct ConnectorOperationsTests {
    /// The operations of a connector whose CSV snapshots go to `csvDirectory`.
    func operations(_ c: MemoryConnector, csvDirectory: String) -> ConnectorOperations {
        let tracker = CSVChangeTracker()
        let snapshots = CSVSnapshots(
            connector: c.slug, store: c.store,
            writer: CSVSnapshotWriter(directory: csvDirectory, delimiter: ",", keep: 2, prefix: c.slug),
            tracker: tracker, interval: 900, clock: SystemWallClock(), logger: quietLogger)
        let parts = ConnectorParts(
            okta: c.okta, hooks: nil, applier: c.applier(), reconciler: c.reconciler(),
            forwarder: OutboxForwarder(
                connector: c.slug, store: c.store, sink: tracker, clock: SystemWallClock(), logger: quietLogger),
            snapshots: snapshots, gate: RunGate(leases: c.store, logger: quietLogger), board: ConnectorHealthBoard(),
            fence: WorkerFenceHolder(), jobs: nil)
        return ConnectorOperations(
            settings: c.settings, store: c.store, parts: parts, clock: SystemWallClock(), logger: quietLogger)
    }

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Hook actions explain themselves when hooks are not the event source (SPEC §20), rather than
    /// blaming certificates and reachability; registration of a URL but event_hook.public_url is refused.
    @Test func hookActionsSayWhyTheyDoNotApplyAndRegisterOnlyThePublicURL() async throws {
        var c = try await MemoryConnector()
        c.settings.eventSource = .systemLog
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let polling = operations(c, csvDirectory: directory.path)
        let said = await polling.verifyHooks()
        #expect(said.contains("Nothing to verify") && said.contains("system_log"), "\(said)")
        #expect(said.contains("okta-connector hooks deactivate --connector \"Memory org\""), "\(said)")
        #expect(!said.lowercased().contains("certificate"))

        c.settings.eventSource = .hooks
        let noURL = await operations(c, csvDirectory: directory.path).registerHook(url: "")
        #expect(noURL.contains("has no event_hook.public_url"), "\(noURL)")
        c.settings.eventHook.publicURL = URL(string: "https://connector.example.com/hooks/okta/memory-org")
        let elsewhere = await operations(c, csvDirectory: directory.path)
            .registerHook(url: "https://connector.example.com:8443/hooks/okta/memory-org")
        #expect(elsewhere.hasPrefix("Not registered") && elsewhere.contains("is not connector"), "\(elsewhere)")
    }

    @Test func aReconcileWritesTheSnapshotAfterASuccessfulRun() async throws {
        let c = try await MemoryConnector()
        for index in 0..<3 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let admitted = try await operations(c, csvDirectory: directory.path).reconcile(
            ReconcileOptions(trigger: .manual))
        guard case .ran(let report) = admitted else {
            Issue.record("the reconcile was not admitted: \(admitted)")
            return
        }
        #expect(report.record.outcome == .succeeded)
        let file = try #require(report.snapshot)
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("00u1@example.com"))
    }

    @Test func aFailedSnapshotIsRecordedOnTheRunAndNeverFailsIt() async throws {
        let c = try await MemoryConnector()
        for index in 0..<3 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A file where the snapshot directory should be: the snapshot cannot be written.
        let blocked = directory.appendingPathComponent("csv")
        try Data("not a directory".utf8).write(to: blocked)
        let admitted = try await operations(c, csvDirectory: blocked.appendingPathComponent("inner").path).reconcile(
            ReconcileOptions(trigger: .manual))
        guard case .ran(let report) = admitted else {
            Issue.record("the reconcile was not admitted: \(admitted)")
            return
        }
        #expect(report.record.outcome == .succeeded, "the run itself succeeded")
        #expect(report.snapshot == nil)
        #expect(report.record.errors.contains { $0.hasPrefix("CSV snapshot not written") })
        let stored = try #require(try await c.store.run(id: report.record.id))
        #expect(stored.outcome == .succeeded)
        #expect(stored.errors.contains { $0.hasPrefix("CSV snapshot not written") }, "recorded on the run")
    }

    @Test func storeOnlyOperationsReplayWhatTheStoreHoldsAndRefuseTheRest() async throws {
        let c = try await MemoryConnector()
        for index in 0..<2 { c.okta.put(InMemoryOkta.user("00u\(index)")) }
        _ = try await c.reconcile()
        let operations = ConnectorOperations(
            settings: c.settings, store: c.store, parts: nil, clock: SystemWallClock(), logger: quietLogger)
        #expect(try await operations.resendAll() == 2)
        #expect(try await operations.replayDeadLetters(ids: nil) == 0)
        #expect(try await operations.retryFailedEvents(ids: nil) == 0)
        await #expect(throws: ConnectorOperations.PartsNotBuilt.self) {
            _ = try await operations.reconcile(ReconcileOptions(trigger: .manual))
        }
        #expect(operations.oktaCallCount == 0)
    }

    @Test func aReconcileWhileAnotherHoldsTheConnectorIsRefusedNamingTheHolder() async throws {
        let c = try await MemoryConnector()
        c.okta.put(InMemoryOkta.user("00u0"))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let operations = operations(c, csvDirectory: directory.path)
        // Another process holds the run lease.
        let other = ProcessIdentity(host: "elsewhere.example", pid: 4242, incarnation: "1")
        _ = try await c.store.acquireRunLease(
            connector: c.slug, holder: other, at: Timestamp(Date()), expiresAt: Timestamp(Date().addingTimeInterval(60))
        )
        let admitted = try await operations.reconcile(ReconcileOptions(trigger: .manual))
        guard case .busy = admitted else {
            Issue.record("expected busy, got \(admitted)")
            return
        }
        #expect(try await c.store.runs(connector: c.slug, limit: 10).isEmpty, "no run started")
    }
}
