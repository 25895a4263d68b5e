import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import NIOHTTP1
import Testing

@Suite("Event hook receiver over HTTPS (SPEC §4)", .timeLimit(.minutes(3)))
struct ReceiverTests {
    /// A flood of verification GETs without the secret over HTTPS (SPEC §20): each answered,
    /// counted apart from verified hooks, one log line a minute; a huge challenge is not echoed.
    @Test func aVerificationFloodIsCountedApartAndLoggedOnceAMinute() async throws {
        let logs = CapturedLogs()
        let clock = ManualClock(now: Date())
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings()], logger: logs.logger(level: .info), clock: clock)
        defer { Task { await harness.stop() } }
        let path = "/hooks/okta/test-org"
        for index in 0..<200 {
            let answer = try await harness.send(
                .GET, path, headers: [("x-okta-verification-challenge", "flood-\(index)")])
            #expect(answer.status == 200)
        }
        #expect(harness.stats.value("test-org", "verification_unauthenticated") == 200)
        #expect(harness.stats.value("test-org", "verified") == 0, "none of them is a verified hook")
        #expect(logs.all.filter { $0.contains("verification") }.count == 1, "\(logs.all)")
        let okta = try await harness.send(
            .GET, path, headers: [("Authorization", "hook-secret-1"), ("x-okta-verification-challenge", "from-okta")])
        #expect(okta.body == #"{"verification":"from-okta"}"#)
        #expect(harness.stats.value("test-org", "verified") == 1)
        let huge = try await harness.send(
            .GET, path, headers: [("x-okta-verification-challenge", String(repeating: "x", count: 4096))])
        #expect(huge.status == 400)
        #expect(!huge.body.contains("xxxx"), "not echoed")
        // A minute later, the next one is logged again.
        clock.advance(by: 61)
        _ = try await harness.send(.GET, path, headers: [("x-okta-verification-challenge", "later")])
        #expect(logs.all.filter { $0.contains("verification") }.count == 2)
        print(
            "verification flood: 201 unauthenticated GETs over HTTPS across 61 s of the clock, \(logs.all.filter { $0.contains("verification") }.count) log lines (one a minute)"
        )
    }

    @Test(arguments: StoreBackend.available)
    func verificationEchoesTheChallenge(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()], backend: backend)
        let answer = try await harness.send(
            .GET, "/hooks/okta/test-org", headers: [("x-okta-verification-challenge", "abc\"123")])
        #expect(answer.status == 200)
        #expect(answer.body == #"{"verification":"abc\"123"}"#)
        let withSecret = try await harness.send(
            .GET, "/hooks/okta/test-org",
            headers: [("x-okta-verification-challenge", "c"), ("Authorization", "hook-secret-1")])
        #expect(withSecret.status == 200)
        let wrongSecret = try await harness.send(
            .GET, "/hooks/okta/test-org", headers: [("x-okta-verification-challenge", "c"), ("Authorization", "nope")])
        #expect(wrongSecret.status == 401)
        let missing = try await harness.send(.GET, "/hooks/okta/test-org")
        #expect(missing.status == 400)
    }

    @Test func wrongMissingAndRotatedSecrets() async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings(secrets: ["old-secret", "new-secret"])])
        let body = delivery([logEvent("user.session.start", user: "00u1")])
        let wrong = try await harness.deliver(body, secret: "s3cr3t-guess")
        #expect(wrong.status == 401)
        #expect(!wrong.body.contains("s3cr3t-guess"), "the presented value is never echoed")
        let missing = try await harness.send(
            .POST, "/hooks/okta/test-org", body: body, headers: [("Content-Type", "application/json")])
        #expect(missing.status == 401)
        #expect(try await harness.inboxDepth() == 0)
        #expect(try await harness.deliver(body, secret: "old-secret").status == 200)
        #expect(
            try await harness.deliver(delivery([logEvent("user.session.start", user: "00u2")]), secret: "new-secret")
                .status == 200)
        #expect(try await harness.inboxDepth() == 2)
        #expect(harness.stats.value("test-org", "unauthorized") == 2)
    }

    @Test(arguments: StoreBackend.available)
    func badBodiesAreRejectedWithNothingStored(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(
            connectors: [connectorSettings()], maximumBodyBytes: 4096, backend: backend)
        let huge = delivery([logEvent("user.session.start", user: String(repeating: "x", count: 5000))])
        #expect(try await harness.deliver(huge).status == 413)
        let notJSON = try await harness.deliver("this is not json")
        #expect(notJSON.status == 400)
        #expect(notJSON.body.contains("not JSON"))
        let wrongEnvelope = try await harness.deliver(
            delivery([logEvent("user.session.start", user: "00u1")]).replacingOccurrences(
                of: "com.okta.event_hook", with: "com.example.other"))
        #expect(wrongEnvelope.status == 400)
        let noEvents = try await harness.deliver(#"{"eventType":"com.okta.event_hook","eventId":"x","data":{}}"#)
        #expect(noEvents.status == 400)
        #expect(noEvents.body.contains("data.events"))
        let noUUID = try await harness.deliver(
            delivery([#"{"eventType":"user.session.start","published":"2026-06-01T10:00:00Z"}"#]))
        #expect(noUUID.status == 400)
        #expect(noUUID.body.contains("data.events[0].uuid"))
        let badDate = try await harness.deliver(
            delivery([logEvent("user.session.start", user: "00u1", published: "yesterday")]))
        #expect(badDate.status == 400)
        let wrongType = try await harness.send(
            .POST, "/hooks/okta/test-org", body: delivery([logEvent("user.session.start", user: "00u1")]),
            headers: [("Authorization", "hook-secret-1"), ("Content-Type", "text/plain")])
        #expect(wrongType.status == 415)
        #expect(try await harness.inboxDepth() == 0)
    }

    @Test(arguments: StoreBackend.available)
    func duplicateDeliveriesAndEventsAreAcknowledgedAndIgnored(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()], backend: backend)
        let event = logEvent("user.session.start", user: "00u1", uuid: "event-1")
        let first = delivery(id: "delivery-1", [event])
        #expect(try await harness.deliver(first).status == 200)
        #expect(try await harness.deliver(first).status == 200, "Okta's retry of the same delivery")
        #expect(
            try await harness.deliver(
                delivery(id: "delivery-2", [event, logEvent("user.session.start", user: "00u2")])
            ).status == 200)
        #expect(try await harness.inboxDepth() == 2)
        #expect(harness.stats.value("test-org", "duplicate_delivery") == 1)
    }

    @Test(arguments: StoreBackend.available)
    func anInactiveConnectorAcknowledgesAndDiscards(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings(active: false)], backend: backend)
        #expect(try await harness.deliver(delivery([logEvent("user.session.start", user: "00u1")])).status == 200)
        #expect(try await harness.inboxDepth() == 0)
        #expect(harness.stats.value("test-org", "inactive_discarded") == 1)
    }

    @Test(arguments: StoreBackend.available)
    func aStoreFailureAnswers503AndLosesNothingAcknowledged(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()], backend: backend)
        #expect(try await harness.deliver(delivery([logEvent("user.session.start", user: "00u1")])).status == 200)
        try await harness.testStore.failInserts(into: "inbox_deliveries", reason: "disk full")
        let failed = try await harness.deliver(delivery([logEvent("user.session.start", user: "00u2")]))
        #expect(failed.status == 503)
        #expect(try await harness.inboxDepth() == 1, "the acknowledged delivery is still there")
    }

    @Test(arguments: StoreBackend.available)
    func concurrentDeliveriesAreGroupCommitted(_ backend: StoreBackend) async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()], backend: backend)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try await harness.deliver(delivery([logEvent("user.session.start", user: "00u\(index)")])).status
                }
            }
            for try await status in group { #expect(status == 200) }
        }
        #expect(try await harness.inboxDepth() == 64)
        let transactions = await harness.committer.transactions
        #expect(transactions < 64, "several deliveries shared a transaction (\(transactions) for 64)")
    }

    @Test func theDocumentedSampleDeliveryIsAccepted() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/okta/event-hooks")
        guard FileManager.default.fileExists(atPath: folder.path) else {
            print("SKIPPED theDocumentedSampleDeliveryIsAccepted: ../shared/okta is absent")
            return
        }
        let harness = try await ReceiverHarness(connectors: [connectorSettings()])
        let body = try String(
            contentsOf: folder.appendingPathComponent("delivery-user.session.start.json"), encoding: .utf8)
        #expect(try await harness.deliver(body).status == 200)
        let pending = try await harness.store.pendingEvents(connector: "test-org", limit: 10)
        #expect(!pending.isEmpty)
        #expect(pending.allSatisfy { $0.event.eventType == "user.session.start" && $0.event.subjectUserId != nil })
    }
}
