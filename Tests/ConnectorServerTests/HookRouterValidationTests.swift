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

/// A responder in front of the hook router that cuts every request's body off after its first
/// bytes: the body stream fails, as the server's does when the client goes away or the listener's
/// request deadline closes the connection mid-body.
struct BodyCutOff<Next: HTTPResponder>: HTTPResponder {
    typealias Context = Next.Context
    struct ConnectionClosed: Error {}

    let next: Next

    func respond(to request: Request, context: Context) async throws -> Response {
        var request = request
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
        continuation.yield(ByteBuffer(string: #"{"eventType":"com.okta.ev"#))
        continuation.finish(throwing: ConnectionClosed())
        request.body = RequestBody(asyncSequence: stream)
        return try await next.respond(to: request, context: context)
    }
}

/// The receiver's validation messages that `HookRouterTests` does not cover, each asserted whole
/// (SPEC §4): the challenge's length limit, a body that stops arriving, a store that fails, and
/// every reason the delivery parser gives.
extension HookRouterTests {
    @Test func aChallengeOver256BytesIsRefusedAndOneOf256IsEchoed() async throws {
        try await withHookRouter { client, _, stats in
            let longest = String(repeating: "c", count: 256)
            let echoed = try await client.execute(
                uri: path, method: .get, headers: [EventHookReceiver.challengeHeader: longest])
            #expect(echoed.status == .ok)
            #expect(String(buffer: echoed.body) == #"{"verification":"\#(longest)"}"#)
            let refused = try await client.execute(
                uri: path, method: .get, headers: [EventHookReceiver.challengeHeader: longest + "c"])
            #expect(refused.status == .badRequest)
            #expect(refused.headers[.contentType] == "application/json")
            #expect(String(buffer: refused.body) == #"{"error":"x-okta-verification-challenge longer than 256 bytes"}"#)
            #expect(!String(buffer: refused.body).contains(longest), "not echoed")
            #expect(stats.value("test-org", "invalid") == 1)
            #expect(stats.value("test-org", "verification_unauthenticated") == 1, "only the first was answered")
        }
    }

    @Test func aBodyThatStopsArrivingIsAnswered408AndNothingIsStored() async throws {
        try await withHookRouter(bodyStopsArriving: true) { client, test, stats in
            let body = delivery([logEvent("user.lifecycle.activate", user: "00u1")])
            let refused = try await post(client, body)
            #expect(refused.status == .requestTimeout)
            #expect(refused.headers[.contentType] == "application/json")
            #expect(String(buffer: refused.body) == #"{"error":"the body did not arrive"}"#)
            #expect(stats.value("test-org", "incomplete") == 1)
            #expect(try await test.store.inboxDepth(connector: "test-org") == 0)
        }
    }

    @Test func aStoreThatFailsIsAnswered503SoThatOktaRetries() async throws {
        try await withHookRouter(bodyStopsArriving: false) { client, test, stats in
            #expect(try await post(client, delivery([logEvent("user.session.start", user: "00u1")])).status == .ok)
            try await test.failInserts(into: "inbox_deliveries", reason: "disk full")
            let refused = try await post(client, delivery([logEvent("user.session.start", user: "00u2")]))
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.contentType] == "application/json")
            #expect(String(buffer: refused.body) == #"{"error":"the store is unavailable; retry later"}"#)
            #expect(stats.value("test-org", "store_unavailable") == 1)
            #expect(try await test.store.inboxDepth(connector: "test-org") == 1, "the acknowledged one is kept")
        }
    }

    /// A delivery envelope around `events` (JSON text of the `data.events` array's items).
    static func envelope(_ events: String) -> String {
        #"{"eventType":"com.okta.event_hook","eventId":"e","data":{"events":[\#(events)]}}"#
    }

    /// Every message of the delivery parser (`EventHookDeliveryParser`, `OktaLogEvent.read`), whole.
    static let malformedDeliveries: [(String, String)] = [
        ("\u{FF}\u{FE}", "the body is not UTF-8"),
        ("{", "the body is not JSON (expected '\"' at byte 1)"),
        (#"{"a":1} x"#, "the body is not JSON (content after the value at byte 8)"),
        (String(repeating: "[", count: 513), "the body is not JSON (nested too deeply at byte 512)"),
        // Not an object: the path is the whole body's, empty.
        ("[]", "wrong type at "),
        (#"{"eventType":5,"eventId":"e","data":{"events":[]}}"#, "wrong type at eventType"),
        (#"{"eventType":"com.okta.event_hook"}"#, "missing eventId"),
        (#"{"eventType":"com.okta.event_hook","eventId":"e"}"#, "missing data"),
        (#"{"eventType":"com.okta.event_hook","eventId":"e","data":{}}"#, "missing data.events"),
        (#"{"eventType":"com.okta.event_hook","eventId":"e","data":{"events":{}}}"#, "wrong type at data.events"),
        // Valid JSON that the decoder refuses otherwise than as a missing key or a wrong type.
        (#"{"eventType":"com.okta.event_hook","eventId":null,"data":{"events":[]}}"#, "the body is not JSON"),
        (#"{"eventType":"other","eventId":"e","data":{"events":[]}}"#, "eventType must be com.okta.event_hook"),
        (#"{"eventType":"com.okta.event_hook","eventId":"","data":{"events":[]}}"#, "eventId is empty"),
        (
            #"{"eventType":"com.okta.event_hook","eventId":"e","eventId":"f","data":{"events":[]}}"#,
            "duplicate key \"eventId\""
        ),
        // An event that is not an object is refused by the typed decoder, before
        // `OktaLogEvent.read` could say "data.events[0].: not an object".
        (envelope("5"), "wrong type at data.events.Index 0"),
        (envelope("null"), "the body is not JSON"),
        (envelope("{}"), "data.events[0].uuid: missing or not a string"),
        (envelope(#"{"uuid":""}"#), "data.events[0].uuid: missing or not a string"),
        (envelope(#"{"uuid":7}"#), "data.events[0].uuid: missing or not a string"),
        (envelope(#"{"uuid":"u"}"#), "data.events[0].eventType: missing or not a string"),
        (
            envelope(#"{"uuid":"u","eventType":"user.session.start"}"#),
            "data.events[0].published: missing or not an ISO 8601 date-time"
        ),
        (
            envelope(#"{"uuid":"u","eventType":"user.session.start","published":"yesterday"}"#),
            "data.events[0].published: missing or not an ISO 8601 date-time"
        ),
        (
            envelope(
                #"{"uuid":"u","eventType":"user.session.start","published":"2026-06-01T10:00:00.000Z","actor":{"id":"../admin","type":"User"}}"#
            ),
            "data.events[0].actor.id: not an Okta user id"
        ),
        (
            envelope(
                #"{"uuid":"u","eventType":"user.lifecycle.activate","published":"2026-06-01T10:00:00.000Z","target":[{"id":"00u1?x=1","type":"User"}]}"#
            ),
            "data.events[0].target.id: not an Okta user id"
        ),
        (
            envelope(logEvent("user.lifecycle.activate", user: "00u1") + #",{"uuid":"u2"}"#),
            "data.events[1].eventType: missing or not a string"
        ),
    ]

    @Test(arguments: malformedDeliveries)
    func everyMalformedDeliveryIsRefusedWithItsWholeMessage(_ body: String, _ message: String) async throws {
        try await withHookRouter { client, store, stats in
            var headers = HTTPFields()
            headers[.authorization] = secret
            headers[.contentType] = "application/json"
            let bytes = body == "\u{FF}\u{FE}" ? ByteBuffer(bytes: [0xFF, 0xFE]) : ByteBuffer(string: body)
            let refused = try await client.execute(uri: path, method: .post, headers: headers, body: bytes)
            #expect(refused.status == .badRequest)
            #expect(error(refused) == message)
            #expect(stats.value("test-org", "invalid") == 1)
            #expect(try await store.inboxDepth(connector: "test-org") == 0, "nothing stored")
        }
    }
}
