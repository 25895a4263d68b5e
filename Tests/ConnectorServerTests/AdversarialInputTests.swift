import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Hostile requests to the event hook receiver and the admin API (issue 12, item 9): each is
/// answered with its documented 4xx, nothing is stored, and the process serves the next real
/// request as before.
@Suite("Adversarial input matrix (SPEC §4, §11, §12)", .serialized, .timeLimit(.minutes(3)))
struct AdversarialInputTests {
    static let path = "/hooks/okta/test-org"

    /// One POST with raw bytes as the body.
    func post(_ harness: ReceiverHarness, _ body: [UInt8], headers: [(String, String)]) async throws -> Answer {
        var request = HTTPClientRequest(url: harness.url(Self.path))
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await harness.client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: collected))
    }

    @Test func hostileDeliveriesAreRefusedWithNothingStored() async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()])
        defer { Task { await harness.stop() } }
        let valid = delivery([logEvent("user.lifecycle.create", user: "00u1")])
        let json = ("Content-Type", "application/json")
        let secret = ("Authorization", "hook-secret-1")
        var cases: [(name: String, body: [UInt8], headers: [(String, String)], status: Int)] = []

        // Secrets: wrong, missing, empty, very long, wrong case.
        for (name, value) in [
            ("wrong secret", "nope"), ("empty secret", ""), ("very long secret", String(repeating: "s", count: 8_000)),
            ("secret in another case", "HOOK-SECRET-1"), ("secret with a prefix", "Bearer hook-secret-1"),
        ] {
            cases.append((name, Array(valid.utf8), [("Authorization", value), json], 401))
        }
        cases.append(("missing secret", Array(valid.utf8), [json], 401))
        // Content types.
        for type in ["text/plain", "application/xml", "application/jsonx", "application/json-patch+json", ""] {
            cases.append(("content type \(type)", Array(valid.utf8), [secret, ("Content-Type", type)], 415))
        }
        cases.append(("no content type", Array(valid.utf8), [secret], 415))
        // Bodies.
        let bodies: [(String, [UInt8])] = [
            ("empty body", []),
            ("truncated body", Array(valid.utf8.prefix(valid.utf8.count / 2))),
            (
                "deeply nested body",
                Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)
            ),
            (
                "deeply nested extra key",
                Array(
                    valid.replacingOccurrences(
                        of: #""contentType""#,
                        with: #""deep":"# + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
                            + #","contentType""#
                    ).utf8)
            ),
            (
                "huge array of empty events",
                Array(
                    (#"{"eventType":"com.okta.event_hook","eventId":"x","data":{"events":["#
                        + Array(repeating: "{}", count: 200_000).joined(separator: ",") + "]}}").utf8)
            ),
            (
                "huge array of numbers",
                Array(
                    (#"{"eventType":"com.okta.event_hook","eventId":"x","data":{"events":["#
                        + Array(repeating: "1", count: 300_000).joined(separator: ",") + "]}}").utf8)
            ),
            ("not UTF-8 at all", [0xFF, 0xFE, 0x00, 0x7B, 0xC3, 0x28]),
            ("invalid UTF-8 in a string", Array(valid.utf8).map { $0 == UInt8(ascii: "@") ? 0xC0 : $0 }),
            ("a JSON string, not an object", Array(#""com.okta.event_hook""#.utf8)),
            (
                "duplicate eventId",
                Array(valid.replacingOccurrences(of: #""eventId":"#, with: #""eventId":"a","eventId":"#).utf8)
            ),
            (
                "duplicate key written with an escape",
                Array(valid.replacingOccurrences(of: #""eventId":"#, with: #""eventId":"a","\u0065ventId":"#).utf8)
            ),
            // Not JSON, in keys and values the decoder skips without looking inside (the fuzzer's
            // find): refused before another reader could split them into keys differently.
            (
                "a bad \\u escape in an unread key",
                Array(valid.replacingOccurrences(of: #""contentType""#, with: #""x\\\uuid\\\": 1, "contentType""#).utf8)
            ),
            (
                "a control character in an unread value",
                Array(
                    valid.replacingOccurrences(of: #""contentType""#, with: "\"x\": \"a\u{01}b\", \"contentType\"").utf8
                )
            ),
            (
                "a number that is not JSON in an unread value",
                Array(valid.replacingOccurrences(of: #""contentType""#, with: #""x": 01, "contentType""#).utf8)
            ),
            (
                "duplicate uuid inside an event",
                Array(
                    delivery([
                        logEvent("user.lifecycle.create", user: "00u1").replacingOccurrences(
                            of: #""uuid":"#, with: #""uuid":"u-1","uuid":"#)
                    ]).utf8)
            ),
        ]
        for (name, body) in bodies { cases.append((name, body, [secret, json], 400)) }
        // Ids that are not Okta ids, as the event's user.
        for id in [
            "../../api/v1/groups", String(repeating: "0", count: 65), "00u1\r\nX-Injected: 1", "", "00u 1", "00ü1",
        ] {
            let escaped = String(decoding: CanonicalJSON.encode(.string(id)), as: UTF8.self).dropFirst().dropLast()
            cases.append(
                (
                    "user id \(id.debugDescription)",
                    Array(delivery([logEvent("user.lifecycle.create", user: String(escaped))]).utf8), [secret, json],
                    400
                ))
            cases.append(
                (
                    "session actor id \(id.debugDescription)",
                    Array(delivery([logEvent("user.session.start", user: String(escaped))]).utf8), [secret, json], 400
                ))
        }

        for item in cases {
            let answer = try await post(harness, item.body, headers: item.headers)
            #expect(answer.status == item.status, "\(item.name): \(answer.status) \(answer.body.prefix(200))")
            if item.status != 401 {
                #expect(answer.body.hasPrefix(#"{"error":"#), "\(item.name): a short JSON error")
            }
            #expect(!answer.body.contains("hook-secret-1"), "\(item.name): no secret echoed")
        }
        #expect(try await harness.inboxDepth() == 0, "nothing stored")
        #expect(harness.stats.value("test-org", "stored") == 0)

        // Unaffected: a real delivery (with a charset parameter) is stored as always.
        let real = try await post(
            harness, Array(valid.utf8), headers: [secret, ("Content-Type", "application/json; charset=utf-8")])
        #expect(real.status == 200)
        #expect(try await harness.inboxDepth() == 1)
    }

    @Test func headerInjectionAttemptsInjectNothing() async throws {
        let harness = try await ReceiverHarness(connectors: [connectorSettings()], tls: false)
        defer { Task { await harness.stop() } }
        let requests = [
            // A line break percent-encoded in the path.
            "GET \(Self.path)%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: localhost\r\n"
                + "x-okta-verification-challenge: c\r\n\r\n",
            // A bare carriage return inside a header value.
            "GET \(Self.path) HTTP/1.1\r\nHost: localhost\r\nx-okta-verification-challenge: c\rX-Injected: 1\r\n\r\n",
            // A line folded into the challenge (obsolete folding).
            "GET \(Self.path) HTTP/1.1\r\nHost: localhost\r\nx-okta-verification-challenge: c\r\n X-Injected: 1\r\n\r\n",
            // A NUL in the secret.
            "POST \(Self.path) HTTP/1.1\r\nHost: localhost\r\nAuthorization: hook-secret-1\0x\r\n"
                + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        ]
        for text in requests {
            let socket = try RawSocket(port: harness.port)
            defer { socket.close() }
            socket.send(text)
            let answer = await socket.read(timeout: 5, until: "\r\n\r\n")
            let head = answer.text.components(separatedBy: "\r\n\r\n")[0]
            #expect(
                head.hasPrefix("HTTP/1.1 4") || (answer.text.isEmpty && answer.closed),
                "\(text.debugDescription): \(head)")
            #expect(!head.lowercased().contains("x-injected"), "\(text.debugDescription): \(head)")
        }
        // A challenge that tries to break out of the JSON answer is escaped in it.
        let breakout = try await harness.send(
            .GET, Self.path, headers: [("x-okta-verification-challenge", #"c","verification":"evil"#)])
        #expect(breakout.status == 200)
        let echoed = try JSONSerialization.jsonObject(with: Data(breakout.body.utf8)) as? [String: String]
        #expect(echoed == ["verification": #"c","verification":"evil"#])
        #expect(try await harness.inboxDepth() == 0)
    }

    @Test func hostileAdminRequestsAreRefused() async throws {
        let serve = try await ServeHarness(users: 5)
        defer { Task { await serve.stop() } }
        func request(_ path: String, method: HTTPMethod = .GET, authorization: String?) async throws -> Answer {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(serve.adminPort)\(path)")
            request.method = method
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response = try await serve.http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 4 << 20)
            return Answer(status: Int(response.status.code), body: String(buffer: body))
        }
        // Ids that are not Okta ids: refused before Okta or the store sees them.
        for id in [
            "..%2F..%2Fapi%2Fv1%2Fgroups", String(repeating: "0", count: 65), "00u1%0D%0AX-Injected:%201", "00u%20",
        ] {
            let answer = try await request(
                "/api/connectors/test-org/users/\(id)/resync", method: .POST, authorization: "Bearer admin-token")
            #expect(answer.status == 400, "\(id): \(answer.status) \(answer.body)")
            #expect(!answer.body.contains("X-Injected"))
        }
        #expect(
            try await request(
                "/api/connectors/nobody/users/00u1/resync", method: .POST, authorization: "Bearer admin-token"
            )
            .status == 404)
        #expect(try await serve.get("/api/status").status == 200)
        // Wrong credentials: 401, and once ten wrong tokens came from this address within a
        // minute, 429 (the right token too) until the minute is over.
        var refusedTokens = 0
        for authorization in [
            nil, "", "Bearer", "Bearer ", "Bearer wrong", "admin-token", "Basic YWRtaW4tdG9rZW4=",
            "Bearer admin-token2",
            "Bearer " + String(repeating: "t", count: 8_000),
        ] as [String?] {
            for path in ["/api/status", "/metrics", "/"] {
                let answer = try await request(path, authorization: authorization)
                let expected = authorization == nil || refusedTokens < 10 ? 401 : 429
                if authorization != nil { refusedTokens += 1 }
                #expect(answer.status == expected, "\(path) with \(authorization.debugDescription.prefix(40))")
            }
            let reconcile = try await request(
                "/api/connectors/test-org/reconcile", method: .POST, authorization: authorization)
            #expect(reconcile.status == (authorization == nil || refusedTokens < 10 ? 401 : 429))
            if authorization != nil { refusedTokens += 1 }
        }
        #expect(try await serve.get("/api/status").status == 429, "locked out for the rest of the minute")
        #expect(try await serve.get("/healthz", token: nil).status == 200, "probes stay open")
    }
}
