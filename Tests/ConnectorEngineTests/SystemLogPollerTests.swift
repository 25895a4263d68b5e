import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import OktaSimulator
import Testing

extension ConnectorHarness {
    /// Switches the connector to System Log polling.
    func pollSystemLog(_ source: EventSource = .systemLog, interval: TimeInterval = 0.2, overlap: TimeInterval = 60) {
        settings.eventSource = source
        settings.systemLog = SystemLogSettings(interval: interval, overlap: overlap, hookGrace: 1)
    }

    func poller(
        client: OktaAPIClient? = nil, pageSize: Int = 1000, maximumPagesPerPoll: Int = 100,
        onStored: @escaping @Sendable () -> Void = {}
    ) -> SystemLogPoller {
        SystemLogPoller(
            connector: settings, store: store, client: client ?? self.client(), clock: clock, logger: quietLogger,
            pageSize: pageSize, maximumPagesPerPoll: maximumPagesPerPoll,
            retry: RetryPolicy(initialDelay: 0.05, maximumDelay: 0.2), onStored: onStored)
    }

    func inboxUUIDs() async throws -> [String] {
        try await store.pendingEvents(connector: settings.slug, limit: 100_000).map(\.event.uuid)
    }

    /// Changes `count` active users' titles, one event each.
    func changeTitles(_ count: Int, from offset: Int = 0) throws {
        let users = simulator.org.allUsers().filter { $0.status == .active }.dropFirst(offset).prefix(count)
        for (index, user) in users.enumerated() {
            _ = try simulator.org.updateProfile(id: user.id, changes: ["title": .string("Polled \(offset + index)")])
        }
    }
}

@Suite("System Log polling as an event source (SPEC §17)", .serialized, .timeLimit(.minutes(3)))
struct SystemLogPollerTests {
    @Test(arguments: StoreBackend.available)
    func pollingAloneKeepsTheStoreEqualToOktaUnderChurn(_ backend: StoreBackend) async throws {
        try await withConnector(users: 150, backend: backend) { h in
            h.pollSystemLog()
            _ = try await h.reconcile()
            let client = h.client()
            let applier = EventApplier(
                connector: h.settings, store: h.store, client: client, clock: h.clock, logger: quietLogger,
                coalescingWindow: 0.05)
            let poller = h.poller(client: client, onStored: { applier.wake() })
            let services = Task {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await applier.run() }
                    group.addTask { try await poller.run() }
                }
            }
            defer { services.cancel() }
            // No hook is registered: every change reaches the store through the System Log alone.
            #expect(h.simulator.eventHooks.isEmpty)
            for _ in 0..<200 {
                h.simulator.churn.applyOne()
                if Bool.random() { try await Task.sleep(for: .milliseconds(5)) }
            }
            let converged = try await eventually(timeout: 30) {
                try await h.storedHashes() == h.expectedHashes()
            }
            #expect(converged, "the store equals the simulator's truth through polling alone")
            let cursor = try #require(try await h.store.systemLogCursor(connector: h.settings.slug))
            #expect(cursor.lastOutcome == "ok")
            #expect(cursor.polledEvents > 0)
            #expect(cursor.missedDeliveries == 0)
            services.cancel()
            let run = try await h.reconcile()
            #expect(run.drift == 0, "the reconcile finds nothing polling missed")
            // Polling with nothing new costs one call per interval of the /api/v1/logs bucket.
            #expect(h.simulator.requestCounters.total("GET /api/v1/logs") > 0)
        }
    }

    @Test(arguments: StoreBackend.available)
    func aRestartInTheMiddleOfAPageNeitherLosesNorRepeatsEvents(_ backend: StoreBackend) async throws {
        try await withConnector(users: 80, backend: backend) { h in
            h.pollSystemLog()
            // The first poll starts `overlap` before now: the events below are all in reach.
            try h.changeTitles(23)
            let first = h.poller(pageSize: 5, maximumPagesPerPoll: 2)
            #expect(await first.poll() == .interrupted(newEvents: 10))
            let afterTwoPages = try #require(try await h.store.systemLogCursor(connector: h.settings.slug))
            #expect(try await h.inboxUUIDs().count == 10)
            // The process dies while the third page is on its way: nothing of it is stored.
            h.simulator.faults = FaultPlan(pathPrefix: "/api/v1/logs", slowResponses: 1, slowDelay: 5)
            let dying = Task { await first.poll() }
            try await Task.sleep(for: .milliseconds(300))
            dying.cancel()
            if case .caughtUp = await dying.value { Issue.record("the cancelled poll must not complete") }
            h.simulator.faults = FaultPlan()
            #expect(try await h.inboxUUIDs().count == 10)
            #expect(try await h.store.systemLogCursor(connector: h.settings.slug)?.nextURL == afterTwoPages.nextURL)
            // A new process resumes at the stored link: the rest once, nothing twice.
            let restarted = h.poller(pageSize: 5)
            #expect(await restarted.poll() == .caughtUp(newEvents: 13))
            let uuids = try await h.inboxUUIDs()
            #expect(uuids.count == 23)
            #expect(Set(uuids).count == 23)
            #expect(try await h.store.systemLogCursor(connector: h.settings.slug)?.polledEvents == 23)
        }
    }

    @Test(arguments: StoreBackend.available)
    func rateLimitedLogsWaitForTheBucketsResetAndThenSucceed(_ backend: StoreBackend) async throws {
        try await withConnector(
            users: 40,
            configure: { options in
                options.rateLimits = RateLimitSettings(
                    limits: [OktaBucket.logs: 20, OktaBucket.usersList: 100], window: 1)
            }, backend: backend
        ) { h in
            h.pollSystemLog()
            try h.changeTitles(4)
            // Two 429s that empty the /api/v1/logs bucket until its reset.
            h.simulator.faults = FaultPlan(pathPrefix: "/api/v1/logs", rateLimitStorm: 2)
            let client = h.client()
            let started = Date()
            #expect(await h.poller(client: client).poll() == .caughtUp(newEvents: 4))
            #expect(Date().timeIntervalSince(started) < 20)
            #expect(h.simulator.requestCounters.snapshot["GET /api/v1/logs 429"] == 2)
            #expect((client.stats.counts.calls["GET /api/v1/logs"] ?? 0) >= 3)
            // Past the client's waits, the poll fails visibly and keeps its position.
            h.simulator.faults = FaultPlan(pathPrefix: "/api/v1/logs", rateLimitStorm: 5)
            let impatient = h.client(
                retry: RetryPolicy(maximumAttempts: 2, initialDelay: 0.01, maximumDelay: 0.05, maximumRateLimitWaits: 1)
            )
            let before = try await h.store.systemLogCursor(connector: h.settings.slug)
            let outcome = await h.poller(client: impatient).poll()
            guard case .failed(_, .rateLimited) = outcome else {
                Issue.record("expected a rate-limited failure, got \(outcome)")
                return
            }
            let after = try await h.store.systemLogCursor(connector: h.settings.slug)
            #expect(after?.nextURL == before?.nextURL)
            #expect(after?.lastOutcome?.hasPrefix("failed:") == true)
        }
    }

    @Test(arguments: StoreBackend.available)
    func aMalformedPageFailsSafeAndTheNextPollRecovers(_ backend: StoreBackend) async throws {
        try await withConnector(users: 40, backend: backend) { h in
            h.pollSystemLog()
            try h.changeTitles(3)
            let poller = h.poller()
            #expect(await poller.poll() == .caughtUp(newEvents: 3))
            let cursor = try #require(try await h.store.systemLogCursor(connector: h.settings.slug))
            try h.changeTitles(2, from: 3)
            h.simulator.faults = FaultPlan(pathPrefix: "/api/v1/logs", malformedPages: 1)
            let outcome = await poller.poll()
            guard case .failed(let reason, .malformed) = outcome else {
                Issue.record("expected a malformed-page failure, got \(outcome)")
                return
            }
            #expect(reason.contains("malformed"))
            // Nothing stored, the position kept, the failure visible.
            #expect(try await h.inboxUUIDs().count == 3)
            let failed = try #require(try await h.store.systemLogCursor(connector: h.settings.slug))
            #expect(failed.nextURL == cursor.nextURL)
            #expect(failed.lastOutcome?.hasPrefix("failed:") == true)
            #expect(failed.lastSucceededAt == cursor.lastSucceededAt)
            // Okta answers properly again: the events of the refused page arrive, once.
            #expect(await poller.poll() == .caughtUp(newEvents: 2))
            #expect(try await h.inboxUUIDs().count == 5)
        }
    }

    @Test(arguments: StoreBackend.available)
    func eventsHooksCannotDeliverArriveByPolling(_ backend: StoreBackend) async throws {
        try await withConnector(users: 60, backend: backend) { h in
            h.pollSystemLog()
            _ = try await h.reconcile()
            let user = try #require(h.simulator.org.allUsers().first { $0.status == .active })
            // `user.account.expire_password` is not eligible for event hooks (SPEC §16).
            try h.simulator.org.apply(.expirePassword, to: user.id)
            let client = h.client()
            #expect(await h.poller(client: client).poll() == .caughtUp(newEvents: 1))
            let applier = EventApplier(
                connector: h.settings, store: h.store, client: client, clock: h.clock, logger: quietLogger)
            try await applier.applyPending()
            #expect(try await h.store.user(connector: h.settings.slug, id: user.id)?.status == "PASSWORD_EXPIRED")
        }
    }

    @Test(arguments: StoreBackend.available)
    func aStoredLinkOktaRefusesRestartsFromTheNewestEventMinusTheOverlap(_ backend: StoreBackend) async throws {
        try await withConnector(users: 40, backend: backend) { h in
            h.pollSystemLog()
            try h.changeTitles(2)
            #expect(await h.poller().poll() == .caughtUp(newEvents: 2))
            // The stored link goes stale (Okta answers 400 to it).
            _ = try await h.store.storePolledEvents(
                PolledEventPage(
                    connector: h.settings.slug, events: [],
                    nextURL: "\(h.simulator.baseURL)/api/v1/logs?after=expired-cursor",
                    newEventsAreMissedDeliveries: false,
                    receivedAt: Timestamp(Date())))
            try h.changeTitles(3, from: 2)
            // The poll starts again `overlap` before the newest event read: the two already stored are
            // read again and recognised, the three new ones stored.
            #expect(await h.poller().poll() == .caughtUp(newEvents: 3))
            #expect(try await h.inboxUUIDs().count == 5)
            let cursor = try #require(try await h.store.systemLogCursor(connector: h.settings.slug))
            #expect(cursor.nextURL?.contains("expired-cursor") == false)
            #expect(cursor.lastOutcome == "ok")

            // The connector's Okta URL changed since the link was stored: it names another host.
            _ = try await h.store.storePolledEvents(
                PolledEventPage(
                    connector: h.settings.slug, events: [],
                    nextURL: "https://old-org.okta.com/api/v1/logs?after=somewhere",
                    newEventsAreMissedDeliveries: false,
                    receivedAt: Timestamp(Date())))
            try h.changeTitles(2, from: 5)
            #expect(await h.poller().poll() == .caughtUp(newEvents: 2), "restarts on the configured org")
            let moved = try #require(try await h.store.systemLogCursor(connector: h.settings.slug))
            #expect(moved.nextURL?.hasPrefix(h.simulator.baseURL) == true)
        }
    }
}
