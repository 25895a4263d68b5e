import ConnectorConfiguration
import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import ConnectorServer

/// The event hook routes in-process (`app.test(.router)`, no socket): every answer and validation
/// message of the receiver (SPEC §4). The TLS listener, limits and deadlines are tested over real
/// sockets in `ReceiverTests` and `ListenerLimitsTests`.
@Suite("Event hook routes in-process (SPEC §4)", .timeLimit(.minutes(3)))
struct HookRouterTests {
    let path = "/hooks/okta/test-org"
    let secret = "hook-secret-1"

    /// Runs `body` against the hook router of one active connector (and an inactive one at
    /// `/hooks/okta/idle-org`) over a fresh SQLite store.
    func withHookRouter(
        maximumBodyBytes: Int = 64 * 1024,
        _ body: @Sendable (any TestClientProtocol, any StateStore, ReceiverStats) async throws -> Void
    ) async throws {
        try await withHookRouter(maximumBodyBytes: maximumBodyBytes, bodyStopsArriving: false) { client, test, stats in
            try await body(client, test.store, stats)
        }
    }

    /// The same, with the test store (to break it) and, when `bodyStopsArriving`, every request's
    /// body cut off after its first bytes, as when the client goes away or the listener's request
    /// deadline closes the connection mid-body.
    func withHookRouter(
        maximumBodyBytes: Int = 64 * 1024, bodyStopsArriving: Bool,
        _ body: @Sendable (any TestClientProtocol, TestStore, ReceiverStats) async throws -> Void
    ) async throws {
        let test = try await StoreBackend.sqlite.makeStore()
        let stats = ReceiverStats()
        let receiver = EventHookReceiver(
            connectors: [connectorSettings(), connectorSettings(slug: "idle-org", active: false)],
            committer: InboxGroupCommitter(inbox: test.store), stats: stats, clock: SystemWallClock(),
            logger: quietLogger)
        let router = buildHookRouter(receiver: receiver, maximumBodyBytes: maximumBodyBytes)
        if bodyStopsArriving {
            let app = Application(responder: BodyCutOff(next: router.buildResponder()))
            try await app.test(.router) { client in try await body(client, test, stats) }
        } else {
            let app = Application(router: router)
            try await app.test(.router) { client in try await body(client, test, stats) }
        }
    }

    func post(
        _ client: any TestClientProtocol, _ body: String, path: String? = nil, auth: String? = "hook-secret-1",
        contentType: String? = "application/json"
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let auth { headers[.authorization] = auth }
        if let contentType { headers[.contentType] = contentType }
        return try await client.execute(
            uri: path ?? self.path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func error(_ response: TestResponse) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String])?["error"]
    }

    @Test func aVerificationEchoesTheChallengeAndAWrongSecretIsRefused() async throws {
        try await withHookRouter { client, _, stats in
            let echoed = try await client.execute(
                uri: path, method: .get, headers: [EventHookReceiver.challengeHeader: "ch\"al/lenge"])
            #expect(echoed.status == .ok)
            #expect(String(buffer: echoed.body) == #"{"verification":"ch\"al/lenge"}"#)
            let missing = try await client.execute(uri: path, method: .get)
            #expect(missing.status == .badRequest)
            #expect(error(missing) == "missing x-okta-verification-challenge header")
            var wrong = HTTPFields()
            wrong[.authorization] = "not-the-secret"
            wrong[EventHookReceiver.challengeHeader] = "x"
            let refused = try await client.execute(uri: path, method: .get, headers: wrong)
            #expect(refused.status == .unauthorized)
            #expect(error(refused) == "the Authorization header does not match")
            #expect(stats.value("test-org", "verified") == 0 && stats.value("test-org", "unauthorized") == 1)
            #expect(stats.value("test-org", "verification_unauthenticated") == 1, "the first GET had no secret")
        }
    }

    @Test func everyOtherPathIsNotFound() async throws {
        try await withHookRouter { client, _, _ in
            for (method, path) in [(HTTPRequest.Method.post, "/hooks/okta/other"), (.get, "/hooks/okta"), (.get, "/x")]
            {
                let answer = try await client.execute(uri: path, method: method)
                #expect(answer.status == .notFound, "\(method) \(path)")
                #expect(error(answer) == "no event hook at this path")
            }
            #expect(try await client.execute(uri: "/", method: .get).status == .notFound)
        }
    }

    @Test func deliveriesWithoutTheSecretOrJSONAreRefusedBeforeTheBodyIsRead() async throws {
        try await withHookRouter { client, store, stats in
            let body = delivery([logEvent("user.lifecycle.activate", user: "00u1")])
            for auth in [nil, "", "hook-secret-2", "Bearer hook-secret-1"] {
                let refused = try await post(client, body, auth: auth)
                #expect(refused.status == .unauthorized, "\(auth ?? "no header")")
                #expect(refused.headers[.connection] == "close")
                #expect(error(refused) == "missing or wrong Authorization header")
            }
            for contentType in [nil, "text/plain", "application/jsonx", "application/x-www-form-urlencoded"] {
                let refused = try await post(client, body, contentType: contentType)
                #expect(refused.status == .unsupportedMediaType, "\(contentType ?? "none")")
                #expect(error(refused) == "Content-Type must be application/json")
            }
            #expect(try await post(client, body, contentType: "Application/JSON; charset=utf-8").status == .ok)
            #expect(stats.value("test-org", "unauthorized") == 4)
            #expect(stats.value("test-org", "unsupported_media_type") == 4)
            #expect(try await store.inboxDepth(connector: "test-org") == 1)
        }
    }

    @Test(arguments: [
        ("\u{FF}\u{FE}", "the body is not UTF-8"),
        ("{", "the body is not JSON"),
        ("[]", "wrong type at "),
        (#"{"eventType":"com.okta.event_hook"}"#, "missing "),
        (#"{"eventType":"other","eventId":"e","data":{"events":[]}}"#, "eventType must be com.okta.event_hook"),
        (#"{"eventType":"com.okta.event_hook","eventId":"","data":{"events":[]}}"#, "eventId is empty"),
        (
            #"{"eventType":"com.okta.event_hook","eventId":"e","eventId":"f","data":{"events":[]}}"#,
            "duplicate key \"eventId\""
        ),
        (
            #"{"eventType":"com.okta.event_hook","eventId":"e","data":{"events":[{"uuid":"u"}]}}"#,
            "data.events[0]."
        ),
    ])
    func everyMalformedDeliveryIsRefusedSayingWhy(_ body: String, _ message: String) async throws {
        try await withHookRouter { client, store, stats in
            let utf8 = body == "\u{FF}\u{FE}" ? String(decoding: [0xFF, 0xFE], as: UTF8.self) : body
            var headers = HTTPFields()
            headers[.authorization] = secret
            headers[.contentType] = "application/json"
            let bytes = body == "\u{FF}\u{FE}" ? ByteBuffer(bytes: [0xFF, 0xFE]) : ByteBuffer(string: utf8)
            let refused = try await client.execute(uri: path, method: .post, headers: headers, body: bytes)
            #expect(refused.status == .badRequest)
            #expect(error(refused)?.hasPrefix(message) == true, "\(error(refused) ?? "no error")")
            #expect(stats.value("test-org", "invalid") == 1)
            #expect(try await store.inboxDepth(connector: "test-org") == 0, "nothing stored")
        }
    }

    @Test func aBodyOverTheLimitIsRefusedAndTheConnectionClosed() async throws {
        try await withHookRouter(maximumBodyBytes: 1024) { client, _, stats in
            let events = (0..<20).map { logEvent("user.lifecycle.activate", user: "00u\($0)") }
            let refused = try await post(client, delivery(events))
            #expect(refused.status == .contentTooLarge)
            #expect(refused.headers[.connection] == "close")
            #expect(error(refused) == "the body is larger than 1024 bytes")
            #expect(stats.value("test-org", "too_large") == 1)
        }
    }

    @Test func aDeliveryIsStoredOnceAndAnInactiveConnectorsIsAcknowledgedAndDropped() async throws {
        try await withHookRouter { client, store, stats in
            let body = delivery(id: "delivery-1", [logEvent("user.lifecycle.activate", user: "00u1")])
            #expect(try await post(client, body).status == .ok)
            #expect(try await post(client, body).status == .ok, "Okta's retry is acknowledged")
            #expect(stats.value("test-org", "stored") == 1 && stats.value("test-org", "duplicate_delivery") == 1)
            #expect(try await store.inboxDepth(connector: "test-org") == 1)
            let idle = try await post(client, body, path: "/hooks/okta/idle-org")
            #expect(idle.status == .ok)
            #expect(stats.value("idle-org", "inactive_discarded") == 1)
            #expect(try await store.inboxDepth(connector: "idle-org") == 0)
        }
    }
}
