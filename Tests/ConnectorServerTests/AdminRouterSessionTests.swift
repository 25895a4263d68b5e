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

/// The rest of the admin routes' matrix in-process (SPEC §11): the API through a console session
/// (its POSTs need the CSRF token and the same origin), sign-out, the sign-in form's refusals, a
/// wrong CSRF token and a bearer token on the forms, the readiness probe of a store that is not
/// ready, the metrics token everywhere but `GET /metrics`, and the throttle of wrong bearer tokens.
@Suite("Admin routes in-process: sessions, sign-in and tokens (SPEC §11)", .timeLimit(.minutes(2)))
struct AdminRouterSessionTests {
    static let csrfRefusal =
        "This form is out of date or did not come from the console (CSRF check). Reload the page and try again."
    static let foreignRefusal = "This request came from another site and was refused."
    static let unauthorizedBody = #"{"error":"a valid bearer token is required"}"#

    /// Every console form, the sign-out included, and where a bearer token's request of it goes.
    static var formsAndSignOut: [(String, String, String)] {
        AdminRouterTests.forms + [("/sign-out", "", "/sign-in")]
    }

    func bearer(_ token: String = AdminRouterHarness.token) -> HTTPFields {
        [.authorization: "Bearer \(token)"]
    }

    /// A message page's text, as the console shows it (the whole message, not a part of it).
    func alert(_ text: String) -> String { #"<p class="error" role="alert">\#(text)</p>"# }

    /// The session's headers for a request sent by script: the cookie, a CSRF token, an `Origin`.
    func scripted(_ session: RouterSession, csrf: String?, origin: String? = nil) -> HTTPFields {
        var headers = session.headers(origin: origin)
        if let csrf { headers[.csrfToken] = csrf }
        return headers
    }

    @Test func everyAPIRouteOpensToASessionAndItsPOSTsNeedTheCSRFTokenAndTheSameOrigin() async throws {
        let harness = try await AdminRouterHarness()
        try await harness.test { client in
            let session = try await RouterSession.signIn(client)
            for (method, path, expected) in AdminRouterTests.apiRoutes {
                guard method == .post else {
                    // A GET changes nothing: the cookie alone opens it.
                    let answer = try await client.execute(uri: path, method: method, headers: session.headers())
                    #expect(answer.status == expected, "\(method) \(path): \(String(buffer: answer.body))")
                    continue
                }
                for csrf in [nil, "wrong-token", ""] {
                    let refused = try await client.execute(
                        uri: path, method: method, headers: scripted(session, csrf: csrf))
                    #expect(refused.status == .forbidden, "\(path) with CSRF token \(csrf ?? "none")")
                    #expect(String(buffer: refused.body).contains(alert(Self.csrfRefusal)), "\(path)")
                }
                let foreign = try await client.execute(
                    uri: path, method: method,
                    headers: scripted(session, csrf: session.csrf, origin: "https://evil.example"))
                #expect(foreign.status == .forbidden, "\(path) from another site")
                #expect(String(buffer: foreign.body).contains(alert(Self.foreignRefusal)), "\(path)")
                if path.contains("/reconcile") {
                    #expect(try await harness.store.runs(connector: "test-org", limit: 5).isEmpty, "nothing started")
                }
                let accepted = try await client.execute(
                    uri: path, method: method,
                    headers: scripted(session, csrf: session.csrf, origin: "http://localhost"))
                #expect(accepted.status == expected, "\(path): \(String(buffer: accepted.body))")
                #expect(accepted.headers[.contentType] == "application/json; charset=utf-8", "\(path)")
            }
        }
    }

    @Test func signOutNeedsTheSessionsCSRFTokenAndEndsTheSession() async throws {
        try await AdminRouterHarness().test { client in
            let anonymous = try await client.execute(uri: "/sign-out", method: .post)
            #expect(anonymous.status == .unauthorized)
            #expect(String(buffer: anonymous.body) == Self.unauthorizedBody)
            let session = try await RouterSession.signIn(client)
            for (form, origin, message) in [
                ("", nil, Self.csrfRefusal), ("csrf=wrong-token", nil, Self.csrfRefusal),
                ("csrf=\(session.csrf)", "https://evil.example", Self.foreignRefusal),
            ] {
                let refused = try await client.execute(
                    uri: "/sign-out", method: .post, headers: session.headers(origin: origin, form: true),
                    body: ByteBuffer(string: form))
                #expect(refused.status == .forbidden, "\(form) from \(origin ?? "no origin")")
                #expect(String(buffer: refused.body).contains(alert(message)))
                #expect(refused.headers[.setCookie] == nil, "the session is kept")
            }
            #expect(try await client.execute(uri: "/", method: .get, headers: session.headers()).status == .ok)
            let signedOut = try await client.execute(
                uri: "/sign-out", method: .post, headers: session.headers(form: true),
                body: ByteBuffer(string: "csrf=\(session.csrf)"))
            #expect(signedOut.status == .seeOther)
            #expect(signedOut.headers[.location] == "/sign-in")
            #expect(signedOut.headers[.cacheControl] == "no-store")
            #expect(signedOut.headers[.setCookie]?.hasPrefix("okta-connector-session=;") == true)
            #expect(signedOut.headers[.setCookie]?.contains("Max-Age=0") == true)
            // The cookie is dead on the server too: the page asks for the token again.
            let after = try await client.execute(uri: "/", method: .get, headers: session.headers())
            #expect(after.status == .unauthorized)
            #expect(String(buffer: after.body).contains(#"<label for="token">Admin token</label>"#))
        }
    }

    @Test func aWrongTokenAtSignInIsRefusedAndTenLockTheFormForAMinute() async throws {
        let harness = try await AdminRouterHarness()
        try await harness.test { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            for attempt in 0..<10 {
                let wrong = try await client.execute(
                    uri: "/sign-in", method: .post, headers: form,
                    body: ByteBuffer(string: "token=guess-\(attempt)&next=%2Fconnectors%2Ftest-org"))
                #expect(wrong.status == .unauthorized)
                #expect(wrong.headers[.setCookie] == nil)
                let page = String(buffer: wrong.body)
                #expect(
                    page.contains(
                        alert("That is not the admin token. Check server.admin.token in the configuration.")))
                #expect(page.contains(#"name="next" value="/connectors/test-org""#), "the destination is kept")
            }
            let locked = try await client.execute(
                uri: "/sign-in", method: .post, headers: form,
                body: ByteBuffer(string: "token=\(AdminRouterHarness.token)"))
            #expect(locked.status == .tooManyRequests, "the right token too, while locked")
            #expect(locked.headers[.retryAfter] == "60")
            #expect(locked.headers[.setCookie] == nil)
            #expect(
                String(buffer: locked.body).contains(
                    alert("Too many wrong tokens from this address: try again in 60 s.")))
            // Scripts with the bearer token keep working (the form and the API have a throttle each).
            #expect(try await client.execute(uri: "/api/status", method: .get, headers: bearer()).status == .ok)
            harness.throttleClock.advance(by: 61)
            _ = try await RouterSession.signIn(client)
        }
    }

    @Test func aSignInFromAnotherSiteIsRefused() async throws {
        try await AdminRouterHarness().test { client in
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            headers[.origin] = "https://evil.example"
            let refused = try await client.execute(
                uri: "/sign-in", method: .post, headers: headers,
                body: ByteBuffer(string: "token=\(AdminRouterHarness.token)"))
            #expect(refused.status == .forbidden)
            #expect(refused.headers[.setCookie] == nil)
            #expect(
                String(buffer: refused.body).contains(alert("This sign-in came from another site and was refused.")))
            headers[.origin] = "http://localhost"
            let sameSite = try await client.execute(
                uri: "/sign-in", method: .post, headers: headers,
                body: ByteBuffer(string: "token=\(AdminRouterHarness.token)"))
            #expect(sameSite.status == .seeOther)
            #expect(sameSite.headers[.setCookie]?.hasPrefix("okta-connector-session=") == true)
        }
    }

    @Test func everyFormRefusesAWrongCSRFTokenAndAnotherSessionsToken() async throws {
        try await AdminRouterHarness().test { client in
            let session = try await RouterSession.signIn(client)
            let other = try await RouterSession.signIn(client)
            #expect(session.csrf != other.csrf)
            for (path, form, _) in Self.formsAndSignOut {
                for token in ["wrong-token", other.csrf] {
                    let inForm = try await client.execute(
                        uri: path, method: .post, headers: session.headers(form: true),
                        body: ByteBuffer(string: "csrf=\(token)&\(form)"))
                    #expect(inForm.status == .forbidden, "\(path)")
                    #expect(String(buffer: inForm.body).contains(alert(Self.csrfRefusal)), "\(path)")
                    var inHeader = session.headers(form: true)
                    inHeader[.csrfToken] = token
                    let byScript = try await client.execute(
                        uri: path, method: .post, headers: inHeader, body: ByteBuffer(string: form))
                    #expect(byScript.status == .forbidden, "\(path) with the token in X-CSRF-Token")
                }
            }
            #expect(try await client.execute(uri: "/", method: .get, headers: session.headers()).status == .ok)
        }
    }

    /// A bearer token (a script) needs no CSRF token: a browser never sends one on its own.
    @Test func everyFormTakesTheBearerTokenWithoutACSRFToken() async throws {
        try await AdminRouterHarness().test { client in
            for (path, form, location) in Self.formsAndSignOut {
                var headers = bearer()
                headers[.contentType] = "application/x-www-form-urlencoded"
                let accepted = try await client.execute(
                    uri: path, method: .post, headers: headers, body: ByteBuffer(string: form))
                #expect(accepted.status == .seeOther, "\(path): \(String(buffer: accepted.body))")
                #expect(accepted.headers[.location] == location, "\(path)")
            }
        }
    }

    @Test func readinessIs503WhileTheStoreIsNotReady() async throws {
        let harness = try await AdminRouterHarness()
        await harness.store.close()
        try await harness.test { client in
            let readyz = try await client.execute(uri: "/readyz", method: .get)
            #expect(readyz.status == .serviceUnavailable)
            #expect(String(buffer: readyz.body) == "store not ready\n")
            #expect(readyz.headers[.contentType] == "text/plain; charset=utf-8")
            let healthz = try await client.execute(uri: "/healthz", method: .get)
            #expect(healthz.status == .ok && String(buffer: healthz.body) == "ok\n", "alive all the same")
        }
    }

    /// `server.admin.metrics_token` opens `GET /metrics` and nothing else: no page, no form (the
    /// API is `theMetricsTokenOpensTheMetricsOnly`'s); `/metrics` has no other method.
    @Test func theMetricsTokenOpensNoPageAndNoForm() async throws {
        let harness = try await AdminRouterHarness()
        let metrics = bearer(AdminRouterHarness.metricsToken)
        try await harness.test { client in
            let scraped = try await client.execute(uri: "/metrics?name=x", method: .get, headers: metrics)
            #expect(scraped.status == .ok)
            #expect(scraped.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            // No route: not found before any credential is looked at, with either token.
            for method in [HTTPRequest.Method.post, .put, .delete] {
                for headers in [metrics, bearer()] {
                    let missing = try await client.execute(uri: "/metrics", method: method, headers: headers)
                    #expect(missing.status == .notFound, "\(method) /metrics")
                    #expect(missing.body.readableBytes == 0)
                }
            }
            var refusals = AdminRouterTests.pages.map { (HTTPRequest.Method.get, $0) }
            refusals += Self.formsAndSignOut.map { (.post, $0.0) }
            for (method, path) in refusals {
                // One refusal a minute: under the throttle of wrong bearer tokens.
                harness.throttleClock.advance(by: 61)
                let refused = try await client.execute(uri: path, method: method, headers: metrics)
                #expect(refused.status == .unauthorized, "\(method) \(path) with the metrics token")
                #expect(String(buffer: refused.body) == Self.unauthorizedBody, "\(method) \(path)")
                #expect(refused.headers[.wwwAuthenticate] == "Bearer realm=\"okta-connector\"")
            }
        }
    }

    /// The refusals of the bearer token, byte for byte: `401` and, after ten wrong tokens in a
    /// minute, `429` for the right token too, with `Retry-After`.
    @Test func wrongBearerTokensAreRefusedThenThrottledWithJSONBodies() async throws {
        let harness = try await AdminRouterHarness()
        try await harness.test { client in
            for attempt in 0..<10 {
                let refused = try await client.execute(
                    uri: "/api/status", method: .get, headers: bearer("guess-\(attempt)"))
                #expect(refused.status == .unauthorized)
                #expect(refused.headers[.contentType] == "application/json")
                #expect(refused.headers[.wwwAuthenticate] == "Bearer realm=\"okta-connector\"")
                #expect(String(buffer: refused.body) == Self.unauthorizedBody)
            }
            let locked = try await client.execute(uri: "/api/status", method: .get, headers: bearer())
            #expect(locked.status == .tooManyRequests)
            #expect(locked.headers[.contentType] == "application/json")
            #expect(locked.headers[.retryAfter] == "60")
            #expect(locked.headers[.wwwAuthenticate] == nil)
            #expect(
                String(buffer: locked.body)
                    == #"{"error":"too many wrong admin tokens from this address; try again later"}"#)
            harness.throttleClock.advance(by: 61)
            #expect(try await client.execute(uri: "/api/status", method: .get, headers: bearer()).status == .ok)
        }
    }
}
