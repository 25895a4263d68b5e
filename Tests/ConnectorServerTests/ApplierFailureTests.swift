import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient
import OktaSimulator
import SQLiteStore
import Testing

/// The applier when Okta misbehaves (SPEC §5, §15): bounded, visible, never blocking, never spinning.
@Suite("Applier failure behaviour", .serialized, .timeLimit(.minutes(2)))
struct ApplierFailureTests {
    func totalOktaCalls(_ simulator: OktaSimulator) -> Int {
        simulator.requestCounters.snapshot.values.reduce(0, +)
    }

    @Test func revokedCredentialsHoldEventsWithOneProbeAMinuteAndApplyThemOnceOktaAcceptsAgain() async throws {
        let harness = try await ApplierHarness.start(users: 40)
        defer { Task { await harness.stop() } }
        let clock = ManualClock(now: Date())
        let pause = OktaCredentialPause(probeInterval: 60)
        var revoked = harness.settings
        revoked.okta.credentials = .apiToken(Secret("a-revoked-token"))
        let rejected = ConnectorAssembly.oktaClient(
            for: revoked, httpClient: harness.http, clock: clock, logger: quietLogger, pause: pause)
        let applier = EventApplier(
            connector: harness.settings, store: harness.store, client: rejected, clock: clock, logger: quietLogger,
            coalescingWindow: 0)
        let users = harness.simulator.org.allUsers().filter { $0.status != .deprovisioned }.prefix(6).map(\.id)
        func deliver(_ ids: ArraySlice<String>) async throws {
            let events = ids.map { logEvent("user.account.update_profile", user: $0) }
            #expect(try await harness.receiver.deliver(delivery(events)).status == 200, "acknowledged meanwhile")
        }

        try await deliver(users[0..<3])
        harness.simulator.requestCounters.reset()
        try await applier.applyPending()
        let firstPass = totalOktaCalls(harness.simulator)
        #expect(firstPass >= 1 && firstPass <= 3, "at most the calls already in flight when the first 401 came")
        #expect(pause.current != nil)
        #expect(applier.counts.held == 3)
        #expect(applier.counts.failed == 0 && applier.counts.deferred == 0, "not the events' fault")

        // More deliveries while paused: held without reaching Okta, and not handed out again until due.
        try await deliver(users[3..<6])
        try await applier.applyPending()
        #expect(totalOktaCalls(harness.simulator) == firstPass, "no call while paused")
        #expect(try await applier.applyPending() == 0, "held events wait for the probe: no spinning")
        #expect(try await harness.store.inboxDepth(connector: harness.slug) == 6)

        // Ten minutes later: one probe a minute, nothing more.
        for _ in 0..<10 {
            clock.advance(by: 61)
            try await applier.applyPending()
        }
        let probes = totalOktaCalls(harness.simulator) - firstPass
        #expect(probes == 10, "one probe a minute, got \(probes)")
        #expect(try await harness.store.failedEventCount(connector: harness.slug) == 0)
        let pending = try await harness.store.pendingEvents(connector: harness.slug, limit: 10)
        #expect(pending.allSatisfy { $0.attempts == 0 }, "holding counts no attempt")

        // Okta accepts the credentials again (here: a fixed token, sharing the pause): the next probe
        // succeeds and everything held is applied.
        let accepted = ConnectorAssembly.oktaClient(
            for: harness.settings, httpClient: harness.http, clock: clock, logger: quietLogger, pause: pause)
        let recovered = EventApplier(
            connector: harness.settings, store: harness.store, client: accepted, clock: clock, logger: quietLogger,
            coalescingWindow: 0)
        clock.advance(by: 61)
        for _ in 0..<3 where try await harness.store.inboxDepth(connector: harness.slug) > 0 {
            try await recovered.applyPending()
        }
        #expect(pause.current == nil)
        #expect(try await harness.store.inboxDepth(connector: harness.slug) == 0)
        for id in users {
            #expect(try await harness.stored(id)?.recordHash == harness.expectedHash(id))
        }
    }

    @Test func aUserOktaKeepsFailingForIsRetriedWithBackoffThenFailedWithoutBlockingOthers() async throws {
        let harness = try await ApplierHarness.start(users: 20)
        defer { Task { await harness.stop() } }
        let clock = ManualClock(now: Date())
        let client = ConnectorAssembly.oktaClient(
            for: harness.settings, httpClient: harness.http, clock: clock, logger: quietLogger,
            retry: RetryPolicy(maximumAttempts: 1))
        let applier = EventApplier(
            connector: harness.settings, store: harness.store, client: client, clock: clock, logger: quietLogger,
            coalescingWindow: 0, maximumAttempts: 3, retry: RetryPolicy(initialDelay: 10, maximumDelay: 60))
        let selected = harness.simulator.org.allUsers().filter { $0.status != .deprovisioned }
        let broken = selected[0].id
        let healthy = selected[1].id
        harness.simulator.faults = FaultPlan(pathPrefix: "/api/v1/users/\(broken)", serverErrors: 1_000)
        _ = try await harness.receiver.deliver(
            delivery([logEvent("user.lifecycle.activate", user: broken, published: "2026-06-01T10:00:00.000Z")]))
        try await applier.applyPending()
        #expect(applier.counts.deferred == 1)
        // A newer event for another user is applied at once: the failing one blocks nothing.
        _ = try await harness.receiver.deliver(
            delivery([logEvent("user.lifecycle.activate", user: healthy, published: "2026-06-01T10:00:01.000Z")]))
        try await applier.applyPending()
        #expect(try await harness.stored(healthy)?.recordHash == harness.expectedHash(healthy))
        #expect(try await applier.applyPending() == 0, "the broken user's event is not due yet")
        let due = try #require(try await harness.store.nextPendingEventDue(connector: harness.slug))
        #expect(due.date > clock.now.addingTimeInterval(4), "backoff, not an immediate retry")
        for _ in 0..<4 {
            clock.advance(by: 120)
            try await applier.applyPending()
        }
        let failed = try await harness.store.failedEvents(connector: harness.slug, limit: 10)
        #expect(failed.count == 1)
        #expect(failed.first?.attempts == 3)
        #expect(failed.first?.lastError.contains("500") == true)
        #expect(try await harness.store.inboxDepth(connector: harness.slug) == 0)
        // Replayed once Okta answers again: applied.
        harness.simulator.faults = FaultPlan()
        #expect(
            try await harness.store.retryFailedEvents(connector: harness.slug, seqs: nil, at: Timestamp(clock.now)) == 1
        )
        try await applier.applyPending()
        #expect(try await harness.stored(broken)?.recordHash == harness.expectedHash(broken))
    }

    @Test func answersARetryCannotFixFailAtOnce() async throws {
        let harness = try await ApplierHarness.start(users: 5)
        defer { Task { await harness.stop() } }
        let applier = harness.applier
        func disposition(_ error: OktaError, attempts: Int = 0) -> InboxSetback.Disposition {
            applier.setback(for: error, seqs: [1], attempts: attempts, userId: "00u1").disposition
        }
        #expect(disposition(.apiError(endpoint: "GET /api/v1/users/{id}", status: 400, body: nil)) == .fail)
        #expect(disposition(.apiError(endpoint: "GET /api/v1/users/{id}", status: 404, body: nil)) == .fail)
        #expect(disposition(.malformedResponse(endpoint: "GET /api/v1/users/{id}", reason: "not JSON")) == .fail)
        if case .retry(_, true) = disposition(.apiError(endpoint: "x", status: 503, body: nil)) {
        } else {
            Issue.record("a 503 is retried")
        }
        if case .retry(_, true) = disposition(.transport(endpoint: "x", reason: "reset")) {
        } else {
            Issue.record("a connection error is retried")
        }
        #expect(disposition(.transport(endpoint: "x", reason: "reset"), attempts: 7) == .fail, "the eighth attempt")
        if case .retry(_, false) = disposition(.invalidCredentials(summary: "Invalid token provided")) {
        } else {
            Issue.record("rejected credentials hold without an attempt")
        }
    }
}
