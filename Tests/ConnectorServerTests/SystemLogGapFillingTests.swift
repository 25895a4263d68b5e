import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaSimulator
import SQLiteStore
import Testing

@Suite("Hooks and System Log polling together (SPEC §17)", .serialized, .timeLimit(.minutes(3)))
struct SystemLogGapFillingTests {
    @Test func pollingFillsDroppedDeliveriesSoTheReconcileFindsNoDriftAndEachEventIsAppliedOnce() async throws {
        let h = try await ApplierHarness.start(users: 80)
        defer { Task { await h.stop() } }
        _ = try await h.reconcile()
        let registered = try await EventHookRegistrar.register(
            connector: h.settings, publicURL: URL(string: h.receiver.url("/hooks/okta/test-org"))!, client: h.client)
        #expect(registered.verificationError == nil)
        var settings = h.settings
        settings.eventSource = .both
        settings.systemLog = SystemLogSettings(interval: 0.2, overlap: 60, hookGrace: 3)
        let poller = SystemLogPoller(
            connector: settings, store: h.store, client: h.client, clock: SystemWallClock(), logger: quietLogger,
            onStored: { h.applier.wake() })
        let services = Task {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await h.applier.run() }
                group.addTask { try await poller.run() }
                group.addTask {
                    while !Task.isCancelled {
                        if !h.receiver.woken.all.isEmpty { h.applier.wake() }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        }
        defer { services.cancel() }
        let logBefore = h.simulator.systemLogCount
        let appliedBefore = h.applier.counts.eventsByType.values.reduce(0, +)

        // Okta drops 30% of the deliveries (as past its daily cap): only the System Log has those events.
        h.simulator.hookBehaviour = HookBehaviour(dropRate: 0.3, seed: 5)
        let org = h.simulator.org
        for (index, user) in org.allUsers().filter({ $0.status == .active }).prefix(30).enumerated() {
            switch index % 3 {
            case 0: try org.recordLogin(userId: user.id)
            case 1: try org.updateProfile(id: user.id, changes: ["title": .string("Changed \(index)")])
            default: try org.apply(.suspend, to: user.id)
            }
            await h.simulator.waitForDeliveries()
        }
        let stats = h.simulator.hookStats
        #expect(stats.dropped > 0)
        let emitted = h.simulator.systemLogCount - logBefore
        let caughtUp = try await eventually(timeout: 30) {
            guard try await h.store.inboxDepth(connector: h.slug) == 0 else { return false }
            let applied = h.applier.counts.eventsByType.values.reduce(0, +) - appliedBefore
            return applied >= emitted
        }
        #expect(caughtUp, "every event reached the store, by hook or by polling")
        let applied = h.applier.counts.eventsByType.values.reduce(0, +) - appliedBefore
        #expect(applied == emitted, "each event applied once: \(applied) applied, \(emitted) emitted")
        let cursor = try #require(try await h.store.systemLogCursor(connector: h.slug))
        #expect(
            cursor.missedDeliveries >= Int64(stats.droppedEventIds.count),
            "every dropped event counts as a missed delivery (\(cursor.missedDeliveries) of \(stats.droppedEventIds.count))"
        )
        services.cancel()
        let run = try await h.reconcile()
        #expect(run.drift == 0, "drift \(run.drift) with \(stats.dropped) deliveries dropped")
        for user in org.allUsers() where h.settings.userStatuses.contains(user.status) {
            #expect(try await h.stored(user.id)?.recordHash == h.expectedHash(user.id))
        }
    }
}
