import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOSSL
import OktaSimulator
import SQLiteStore
import Testing

@testable import ConnectorServer

/// What a browser does with the console, over real HTTP: keeps the session cookie, does not follow
/// redirects (the tests look at them), sends forms URL-encoded.
final class ConsoleBrowser: @unchecked Sendable {
    struct Page {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var location: String? { headers.first(name: "Location") }
        /// The CSRF token of the page's forms.
        var csrf: String? {
            guard let range = body.range(of: #"name="csrf" value=""#) else { return nil }
            let rest = body[range.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
    }

    let base: String
    let client: HTTPClient
    /// `name=value` of the session cookie, once set.
    var cookie: String?

    init(base: String) {
        self.base = base
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        // The admin listener's test certificate is self-signed.
        configuration.tlsConfiguration = .makeClientConfiguration()
        configuration.tlsConfiguration?.certificateVerification = .none
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async { try? await client.shutdown() }

    func send(
        _ method: HTTPMethod, _ path: String, form: [(String, String)]? = nil, headers: [(String, String)] = [],
        withCookie: Bool = true
    ) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if withCookie, let cookie { request.headers.add(name: "Cookie", value: cookie) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: URLFormEncoding.form(form)))
        }
        let response = try await client.execute(request, timeout: .seconds(20))
        let body = String(buffer: try await response.body.collect(upTo: 8 << 20))
        if let set = response.headers.first(name: "Set-Cookie"), let pair = set.split(separator: ";").first {
            cookie = pair.hasSuffix("=") ? nil : String(pair)
        }
        return Page(status: Int(response.status.code), headers: response.headers, body: body)
    }

    func get(_ path: String) async throws -> Page { try await send(.GET, path) }

    /// Signs in with the token; returns the sign-in's answer.
    func signIn(_ token: String = "admin-token", next: String = "/") async throws -> Page {
        try await send(.POST, "/sign-in", form: [("token", token), ("next", next)])
    }

    /// Posts a form the way the console's pages do: with the CSRF token of the page at `from`.
    func submit(_ action: String, from: String, fields: [(String, String)] = []) async throws -> Page {
        let csrf = try #require(try await get(from).csrf, "the page \(from) has forms with a CSRF token")
        return try await send(.POST, action, form: [("csrf", csrf)] + fields)
    }
}

@Suite("Operator console: sign-in, sessions, CSRF (SPEC §11)", .serialized, .timeLimit(.minutes(4)))
struct ConsoleSignInTests {
    @Test func signInSetsAStrictHttpOnlyCookieThatOpensThePagesAndSignOutEndsIt() async throws {
        let serve = try await ServeHarness(users: 20)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }

        // No credentials: the page is the sign-in form (401), with a labelled field.
        let anonymous = try await browser.get("/connectors/test-org")
        #expect(anonymous.status == 401)
        #expect(anonymous.body.contains(#"<label for="token">Admin token</label>"#))
        #expect(anonymous.body.contains(#"name="next" value="/connectors/test-org""#))
        #expect(try await browser.get("/api/status").body.contains("a valid bearer token is required"))

        let wrong = try await browser.signIn("not-the-token")
        #expect(wrong.status == 401)
        #expect(wrong.body.contains("That is not the admin token"))
        #expect(browser.cookie == nil)

        let signedIn = try await browser.signIn(next: "/connectors/test-org")
        #expect(signedIn.status == 303)
        #expect(signedIn.location == "/connectors/test-org")
        let setCookie = try #require(signedIn.headers.first(name: "Set-Cookie"))
        #expect(setCookie.hasPrefix("okta-connector-session="))
        #expect(setCookie.contains("HttpOnly"))
        #expect(setCookie.contains("SameSite=Strict"))
        #expect(setCookie.contains("Max-Age=28800"), "bounded by the session lifetime: \(setCookie)")
        #expect(!setCookie.contains("Secure"), "plain HTTP: a Secure cookie would never be sent back")

        let overview = try await browser.get("/")
        #expect(overview.status == 200)
        #expect(overview.body.contains(#"data-connector="test-org""#))
        #expect(overview.body.contains(">Sign out</button>"))
        #expect(overview.headers.first(name: "Content-Security-Policy")?.contains("default-src 'none'") == true)
        // The session opens the JSON API too (a browser's fetch of /api/status).
        #expect(try await browser.get("/api/status").status == 200)

        let signOut = try await browser.submit("/sign-out", from: "/")
        #expect(signOut.status == 303)
        #expect(signOut.location == "/sign-in")
        #expect(signOut.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(browser.cookie == nil)
        // The old cookie value is dead on the server too, not only forgotten by the browser.
        let stolen = try #require(setCookie.split(separator: ";").first.map(String.init))
        browser.cookie = stolen
        #expect(try await browser.get("/").status == 401)
    }

    @Test func tenWrongTokensInAMinuteLockTheSignInFormButNotTheBearerAPI() async throws {
        let serve = try await ServeHarness(users: 5)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        for _ in 0..<10 { #expect(try await browser.signIn("guess").status == 401) }
        let locked = try await browser.signIn()
        #expect(locked.status == 429, "the right token too, while locked")
        #expect(locked.body.contains("Too many wrong tokens"))
        #expect(Int(locked.headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
        #expect(browser.cookie == nil)
        #expect(try await serve.get("/api/status").status == 200, "scripts keep working")
    }

    @Test func afterSignInOnlyPathsOfThisListenerAreFollowed() async throws {
        let serve = try await ServeHarness(users: 5)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        for next in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"] {
            let answer = try await browser.signIn(next: next)
            #expect(answer.status == 303)
            #expect(answer.location == "/", "\(next) is not followed")
        }
    }

    @Test func stateChangingRequestsNeedTheSessionsCSRFTokenAndTheSameOrigin() async throws {
        let serve = try await ServeHarness(users: 20)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        #expect(
            try await eventually(timeout: 60) {
                let succeeded = try await serve.store.runs(connector: "test-org", limit: 1).first?.outcome == .succeeded
                let depth = try await serve.store.outboxStats(connector: "test-org").depth
                return succeeded && depth == 0
            }, "waited for in time")
        #expect(try await browser.signIn().status == 303)
        let runsBefore = try await serve.store.runs(connector: "test-org", limit: 50).count

        // What another site's page could send with the cookie: no token, a wrong one, another origin.
        let missing = try await browser.send(.POST, "/connectors/test-org/resync-all", form: [])
        #expect(missing.status == 403)
        #expect(missing.body.contains("CSRF"))
        let wrong = try await browser.send(.POST, "/connectors/test-org/reconcile", form: [("csrf", "guess")])
        #expect(wrong.status == 403)
        let csrf = try #require(try await browser.get("/connectors/test-org").csrf)
        let foreign = try await browser.send(
            .POST, "/connectors/test-org/reconcile", form: [("csrf", csrf)],
            headers: [("Origin", "https://evil.example")])
        #expect(foreign.status == 403)
        #expect(foreign.body.contains("another site"))
        // A sign-in form posted from another site is refused too (login CSRF).
        let foreignSignIn = try await browser.send(
            .POST, "/sign-in", form: [("token", "admin-token")], headers: [("Origin", "https://evil.example")],
            withCookie: false)
        #expect(foreignSignIn.status == 403)
        #expect(
            try await serve.store.outboxStats(connector: "test-org").depth == 0, "resync-all refused: nothing queued")
        #expect(
            try await serve.store.runs(connector: "test-org", limit: 50).count == runsBefore, "no run was started")

        // The console's own form, from its own origin: accepted.
        var accepted = try await browser.send(
            .POST, "/connectors/test-org/resync-all", form: [("csrf", csrf)],
            headers: [("Origin", "http://127.0.0.1:\(serve.adminPort)")])
        #expect(accepted.status == 303)
        accepted = try await browser.get(accepted.location ?? "/")
        let present = try await serve.store.presentUserCount(connector: "test-org")
        #expect(accepted.body.contains("\(present) user records queued for the sink again"), "\(accepted.body)")

        // Bearer tokens (scripts) need no CSRF token: a browser never sends them on its own.
        #expect(try await serve.get("/api/connectors/test-org/resync-all", method: .POST).status == 200)
    }

    @Test func aRotatedAdminTokenEndsEverySessionAndAReloadWithTheSameTokenKeepsThem() async throws {
        let serve = try await ServeHarness(users: 5)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        #expect(try await browser.signIn().status == 303)
        try await serve.application.reload(serve.configuration)
        #expect(try await browser.get("/").status == 200, "the same token: still signed in")
        var rotated = serve.configuration
        rotated.server.admin?.token = Secret("rotated-admin-token")
        try await serve.application.reload(rotated)
        let page = try await browser.get("/")
        #expect(page.status == 401, "signed out by the rotation")
        #expect(page.body.contains("Sign in"))
        #expect(try await browser.signIn("admin-token").status == 401)
        #expect(try await browser.signIn("rotated-admin-token").status == 303)
        #expect(try await browser.get("/").status == 200)
    }

    @Test func overHTTPSTheCookieIsSecureAndHostPrefixed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-console-tls-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try SelfSignedCertificate(dnsNames: ["localhost"]).write(to: directory)
        let serve = try await ServeHarness(
            users: 5, adminTLS: TLSFiles(certificatePath: files.certificate, privateKeyPath: files.privateKey),
            sessionLifetime: 600)
        let browser = ConsoleBrowser(base: "https://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        let signedIn = try await browser.signIn()
        #expect(signedIn.status == 303)
        let setCookie = try #require(signedIn.headers.first(name: "Set-Cookie"))
        #expect(setCookie.hasPrefix("__Host-okta-connector-session="))
        #expect(setCookie.contains("Secure"))
        #expect(setCookie.contains("Max-Age=600"))
        #expect(try await browser.get("/").status == 200)
        // Plain HTTP on the TLS port is not served.
        let plain = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer { Task { await plain.shutdown() } }
        await #expect(throws: (any Error).self) { _ = try await plain.get("/healthz") }
    }
}

@Suite("Console sessions")
struct ConsoleSessionTests {
    @Test func aSessionEndsAtItsLifetimeWhateverItsUse() {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let sessions = ConsoleSessions(lifetime: 3600, clock: clock)
        let session = sessions.start(tokenGeneration: 0)
        for _ in 0..<5 {
            clock.advance(by: 600)
            #expect(sessions.session(id: session.id, tokenGeneration: 0) != nil)
        }
        clock.advance(by: 599)
        #expect(sessions.session(id: session.id, tokenGeneration: 0) != nil)
        clock.advance(by: 1)
        #expect(sessions.session(id: session.id, tokenGeneration: 0) == nil)
        #expect(sessions.count == 0)
    }

    @Test func aSessionUnusedForThirtyMinutesEndsAndUseKeepsItUntilItsLifetime() {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let sessions = ConsoleSessions(lifetime: 4 * 3600, clock: clock)
        #expect(sessions.idleTimeout == 30 * 60)
        let busy = sessions.start(tokenGeneration: 0)
        let idle = sessions.start(tokenGeneration: 0)
        // Used every 29 minutes: alive until its lifetime, however long that is.
        for _ in 0..<8 {
            clock.advance(by: 29 * 60)
            #expect(sessions.session(id: busy.id, tokenGeneration: 0) != nil)
        }
        #expect(sessions.session(id: idle.id, tokenGeneration: 0) == nil, "30 minutes without a request")
        #expect(sessions.count == 1)
        clock.advance(by: 4 * 3600 - 8 * 29 * 60)
        #expect(sessions.session(id: busy.id, tokenGeneration: 0) == nil, "the lifetime, counted from the sign-in")
        let fresh = sessions.start(tokenGeneration: 0)
        clock.advance(by: 30 * 60 - 1)
        #expect(sessions.session(id: fresh.id, tokenGeneration: 0) != nil)
        clock.advance(by: 30 * 60)
        #expect(sessions.session(id: fresh.id, tokenGeneration: 0) == nil)
    }

    @Test func aSessionOfAnEarlierTokenEndsAndIdsAreUnguessable() {
        let sessions = ConsoleSessions(lifetime: 3600, clock: ManualClock(now: Date()))
        let first = sessions.start(tokenGeneration: 0)
        let second = sessions.start(tokenGeneration: 0)
        #expect(first.id != second.id && first.csrfToken != second.csrfToken && first.id != first.csrfToken)
        #expect(first.id.count == 43, "32 random bytes, base64url")
        #expect(sessions.session(id: first.id, tokenGeneration: 1) == nil)
        #expect(sessions.session(id: first.id, tokenGeneration: 0) == nil, "ended, not only hidden")
        #expect(sessions.session(id: second.id, tokenGeneration: 0) != nil)
    }

    @Test func sessionsAreBoundedAndTheOldestGoesFirst() {
        let clock = ManualClock(now: Date())
        let sessions = ConsoleSessions(lifetime: 3600, clock: clock)
        let oldest = sessions.start(tokenGeneration: 0)
        for _ in 0..<ConsoleSessions.maximumSessions {
            clock.advance(by: 1)
            _ = sessions.start(tokenGeneration: 0)
        }
        #expect(sessions.count == ConsoleSessions.maximumSessions)
        #expect(sessions.session(id: oldest.id, tokenGeneration: 0) == nil)
    }

    @Test func repeatedWrongSignInsFromOneAddressAreRefusedForAWhile() {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let throttle = SignInThrottle(limit: 3, window: 60, clock: clock)
        for _ in 0..<3 {
            #expect(throttle.retryAfter("10.0.0.1") == nil)
            throttle.recordFailure("10.0.0.1")
            clock.advance(by: 10)
        }
        #expect(throttle.retryAfter("10.0.0.1") == 30, "until the first failure is a minute old")
        #expect(throttle.retryAfter("10.0.0.2") == nil, "other addresses are not affected")
        clock.advance(by: 30)
        #expect(throttle.retryAfter("10.0.0.1") == nil)
        for index in 0..<(SignInThrottle.maximumAddresses + 10) { throttle.recordFailure("address-\(index)") }
        #expect(throttle.retryAfter("address-\(SignInThrottle.maximumAddresses + 9)") == nil, "bounded, still counting")
    }

    @Test func sameOriginComparesTheOriginWithTheHostTheRequestWasSentTo() {
        func request(origin: String?, authority: String) -> Request {
            var head = HTTPRequest(method: .post, scheme: nil, authority: authority, path: "/connectors/a/reconcile")
            if let origin { head.headerFields[.origin] = origin }
            return Request(head: head, body: .init(buffer: ByteBuffer()))
        }
        #expect(AdminAuthenticationMiddleware.isSameOrigin(request(origin: nil, authority: "127.0.0.1:9090")))
        #expect(
            AdminAuthenticationMiddleware.isSameOrigin(
                request(origin: "https://127.0.0.1:9090", authority: "127.0.0.1:9090")))
        #expect(
            AdminAuthenticationMiddleware.isSameOrigin(
                request(origin: "https://admin.example", authority: "admin.example:443")))
        #expect(
            AdminAuthenticationMiddleware.isSameOrigin(request(origin: "http://[::1]:9090", authority: "[::1]:9090")))
        #expect(!AdminAuthenticationMiddleware.isSameOrigin(request(origin: "null", authority: "127.0.0.1:9090")))
        #expect(
            !AdminAuthenticationMiddleware.isSameOrigin(
                request(origin: "http://127.0.0.1:9091", authority: "127.0.0.1:9090")))
        #expect(
            !AdminAuthenticationMiddleware.isSameOrigin(
                request(origin: "https://evil.example", authority: "127.0.0.1:9090")))
    }

    @Test func theTokenGenerationMovesOnlyWhenTheTokenChanges() {
        let token = AdminToken(Secret("one"))
        token.replace(with: Secret("one"))
        #expect(token.generation == 0)
        token.replace(with: Secret("two"))
        #expect(token.generation == 1)
        #expect(token.matches("two") && !token.matches("one"))
    }

    @Test func chartsHaveAxesValuesAndStayInsideWhateverTheValues() {
        let svg = ConsoleCharts.bars(
            id: "t", title: "Drift <per> run",
            bars: [
                .init(label: "#1", value: 0, tone: "ok", title: "a"),
                .init(label: "#2", value: 37, tone: "ok", title: "b"),
                .init(label: "#3", value: Int.max / 4, tone: "bad", title: "c"),
            ], valueAxis: "drift", categoryAxis: "run")
        #expect(svg.contains(#"<title id="t-title">Drift &lt;per&gt; run</title>"#))
        #expect(svg.contains(">drift</text>") && svg.contains(">run</text>"), "both axes are named")
        #expect(svg.contains(">37</text>"), "values are written on the bars")
        #expect(svg.contains(">#2</text>"), "categories are labelled")
        #expect(!svg.contains("height=\"-"), "no negative heights")
        #expect(ConsoleCharts.niceCeiling(0) == 2 && ConsoleCharts.niceCeiling(37) == 50)
        #expect(ConsoleCharts.niceCeiling(101) == 200)
    }
}

@Suite("Operator console: pages and actions (SPEC §11)", .serialized, .timeLimit(.minutes(4)))
struct ConsoleActionTests {
    /// A harness whose startup reconcile is done and whose browser is signed in.
    func start(users: Int = 60, rateLimits: Bool = false) async throws -> (ServeHarness, ConsoleBrowser) {
        let serve = try await ServeHarness(users: users, rateLimits: rateLimits)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        // Generous: the whole suite shares two cores.
        #expect(
            try await eventually(timeout: 90) {
                let succeeded = try await serve.store.runs(connector: "test-org", limit: 1).first?.outcome == .succeeded
                let depth = try await serve.store.outboxStats(connector: "test-org").depth
                return succeeded && depth == 0
            }, "waited for in time")
        #expect(try await browser.signIn().status == 303)
        return (serve, browser)
    }

    @Test func theConnectorPageShowsRunsChartsOutboxHookStateAndRateLimits() async throws {
        let (serve, browser) = try await start(rateLimits: true)
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        // The hook state is read on a timer, not per page view: wait for the first read.
        #expect(
            await eventually(timeout: 60) {
                (try? await browser.get("/connectors/test-org").body)?.contains("Read from Okta") == true
            })
        let page = try await browser.get("/connectors/test-org")
        #expect(page.status == 200)
        #expect(page.headers.first(name: "Refresh") == "15")
        // WCAG 2.2.1: the person can turn the refreshing off (for the session), and on again.
        var paused = try await browser.submit(
            "/preferences/refresh", from: "/connectors/test-org",
            fields: [("paused", "on"), ("next", "/connectors/test-org")])
        #expect(paused.location == "/connectors/test-org")
        paused = try await browser.get("/connectors/test-org")
        #expect(paused.headers.first(name: "Refresh") == nil)
        #expect(paused.body.contains("Resume refreshing"))
        _ = try await browser.submit("/preferences/refresh", from: "/", fields: [("paused", "off")])
        #expect(try await browser.get("/").headers.first(name: "Refresh") == "15")
        #expect(page.body.contains(#"<tr data-run="1">"#))
        #expect(page.body.contains(">startup</td>"))
        for heading in ["Trigger", "Duration", "Outcome", "Drift", "Okta calls", "429s", "Errors"] {
            #expect(page.body.contains("<th scope=\"col\">\(heading)</th>"), "runs table column \(heading)")
        }
        #expect(page.body.contains(#"<svg class="chart" id="drift""#))
        #expect(page.body.contains(#"<svg class="chart" id="events""#))
        #expect(page.body.contains(#"<dd class="outbox">0 queued</dd>"#))
        #expect(page.body.contains("Outbox oldest"))
        #expect(
            page.body.contains("No event hook in Okta delivers to this connector"), "none registered in the simulator")
        let hooks = try await serve.get("/api/connectors/test-org/hooks")
        #expect(hooks.status == 200)
        #expect(hooks.body.contains("\"hooks\":[]") && hooks.body.contains("\"checkedAt\":\""), "\(hooks.body)")
        // The limits Okta reported during the startup reconcile.
        #expect(page.body.contains(#"<table class="rate-limits">"#))
        #expect(page.body.contains("users <span class=\"muted\">(GET /api/v1/users)</span>"))
        for external in ["<link", "src=", "@import", "url(", "<script"] {
            #expect(!page.body.contains(external), "no external assets or script (\(external))")
        }
        #expect(try await browser.get("/connectors/nope").status == 404)
    }

    @Test func runNowAndDryRunFromTheConsoleAreRecordedAndShown() async throws {
        let (serve, browser) = try await start()
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        // Until the startup run has left the gate a manual run is refused, and says so.
        var notice = ""
        #expect(
            try await eventually(timeout: 60) {
                let answer = try await browser.submit(
                    "/connectors/test-org/reconcile", from: "/connectors/test-org", fields: [("dry_run", "on")])
                notice = try await browser.get(answer.location ?? "/").body
                return !notice.contains("Not started")
            }, "waited for in time")
        #expect(notice.contains("Dry run started"))
        #expect(
            await eventually(timeout: 60) {
                (try? await serve.store.runs(connector: "test-org", limit: 5))?.contains {
                    $0.trigger == .manual && $0.dryRun && $0.outcome == .succeeded
                } == true
            })
        #expect(
            try await eventually(timeout: 60) {
                let answer = try await browser.submit("/connectors/test-org/reconcile", from: "/connectors/test-org")
                notice = try await browser.get(answer.location ?? "/").body
                return !notice.contains("Not started")
            }, "waited for in time")
        #expect(notice.contains("Reconcile started."))
        let manual = try await eventually(timeout: 60) {
            try await serve.store.runs(connector: "test-org", limit: 5).contains {
                $0.trigger == .manual && !$0.dryRun && $0.outcome == .succeeded
            }
        }
        #expect(manual)
        let page = try await browser.get("/connectors/test-org").body
        #expect(page.contains(">manual (dry run)</td>"))
        #expect(page.contains(">manual</td>"))
    }

    @Test func deadLettersAndFailedEventsAreListedWithTheReasonAndReplayed() async throws {
        let (serve, browser) = try await start(users: 20)
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        let store = serve.store
        // Two records the sink "rejected": queued again and moved to the dead letters before the
        // forwarder (woken every second) takes them.
        #expect(
            try await eventually(timeout: 60) {
                _ = try await store.requeuePresentUsers(connector: "test-org", at: Timestamp(Date()))
                let pending = try await store.pendingOutbox(connector: "test-org", limit: 2)
                try await store.moveToDeadLetters(
                    connector: "test-org", seqs: pending.map(\.seq), reason: "HTTP 422 attribute Email is invalid",
                    at: Timestamp(Date()))
                return try await store.deadLetterCount(connector: "test-org") >= 2
            }, "waited for in time")
        // One event that failed for good.
        let user = try #require(serve.simulator.org.allUsers().first { $0.status == .active })
        #expect(
            try await eventually(timeout: 60) {
                _ = try await store.insert([
                    InboxDelivery(
                        connector: "test-org", eventId: UUID().uuidString, receivedAt: Timestamp(Date()),
                        events: [
                            InboxEvent(
                                uuid: UUID().uuidString, eventType: "user.account.update_profile",
                                subjectUserId: user.id,
                                published: Timestamp(Date()), payloadJSON: "{}")
                        ])
                ])
                let pending = try await store.pendingEvents(connector: "test-org", limit: 10)
                try await store.setBack(
                    connector: "test-org",
                    [InboxSetback(seqs: pending.map(\.seq), error: "Okta answered 400", disposition: .fail)],
                    at: Timestamp(Date()))
                return try await store.failedEventCount(connector: "test-org") >= 1
            }, "waited for in time")

        let page = try await browser.get("/connectors/test-org/dead-letters")
        #expect(page.body.contains("HTTP 422 attribute Email is invalid"))
        #expect(page.body.contains("Okta answered 400"))
        let letters = try await store.deadLetters(connector: "test-org", limit: 10)
        let first = try #require(letters.first)
        #expect(page.body.contains("<tr data-dead-letter=\"\(first.id)\">"))

        // Replay one: it leaves the list and reaches the sink.
        var answer = try await browser.submit(
            "/connectors/test-org/dead-letters/replay", from: "/connectors/test-org/dead-letters",
            fields: [("id", "\(first.id)")])
        #expect(answer.status == 303)
        answer = try await browser.get(answer.location ?? "/")
        #expect(answer.body.contains("1 dead letter re-queued for the sink."))
        #expect(!answer.body.contains("<tr data-dead-letter=\"\(first.id)\">"))
        #expect(try await store.deadLetterCount(connector: "test-org") == letters.count - 1)
        // Replay all, and retry the failed events.
        answer = try await browser.submit(
            "/connectors/test-org/dead-letters/replay", from: "/connectors/test-org/dead-letters")
        #expect(try await browser.get(answer.location ?? "/").body.contains("\(letters.count - 1) dead letter"))
        #expect(try await store.deadLetterCount(connector: "test-org") == 0)
        // The failed events for scripts, with the bearer token.
        let apiEvents = try await serve.get("/api/connectors/test-org/failed-events")
        #expect(apiEvents.status == 200 && apiEvents.body.contains("Okta answered 400"))
        #expect(apiEvents.body.contains("\"userId\":\"\(user.id)\""))
        answer = try await browser.submit(
            "/connectors/test-org/failed-events/retry", from: "/connectors/test-org/dead-letters")
        #expect(try await browser.get(answer.location ?? "/").body.contains("will be applied again"))
        #expect(await eventually(timeout: 60) { (try? await store.failedEventCount(connector: "test-org")) == 0 })
        #expect(await eventually(timeout: 60) { (try? await store.outboxStats(connector: "test-org").depth) == 0 })
    }

    @Test func aHeldRunShowsWhatItWouldRemoveAndConfirmingRemovesIt() async throws {
        let (serve, browser) = try await start(users: 60)
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        // A third of the org is deleted in Okta: more than the 20% the circuit breaker allows.
        let presentBefore = try await serve.store.presentUserCount(connector: "test-org")
        let gone = serve.simulator.org.allUsers().filter { $0.status == .active }.prefix(20).map(\.id)
        for id in gone {
            _ = try serve.simulator.org.apply(.deactivate, to: id)
            _ = try serve.simulator.org.apply(.delete, to: id)
        }
        var held: RunRecord?
        #expect(
            try await eventually(timeout: 30) {
                // One run at a time, asked for only when none runs: a run still going when the held
                // one is found would refuse the confirmation.
                let latest = try await serve.store.runs(connector: "test-org", limit: 1).first
                if latest?.outcome != .held, latest?.outcome != .running {
                    _ = try await serve.get("/api/connectors/test-org/reconcile", method: .POST)
                }
                held = try await serve.store.runs(connector: "test-org", limit: 1).first { $0.outcome == .held }
                return held != nil
            }, "waited for in time")
        let run = try #require(held)
        let page = try await browser.get("/connectors/test-org/runs/\(run.id)")
        #expect(page.body.contains("What it would remove"))
        #expect(page.body.contains("\(gone.count) users the run did not list"))
        for id in gone { #expect(page.body.contains("<td>\(id)</td>"), "\(id) listed for removal") }
        #expect(try await serve.store.presentUserCount(connector: "test-org") == presentBefore, "held: nothing removed")

        var answer = try await browser.submit(
            "/connectors/test-org/runs/\(run.id)/confirm-removals", from: "/connectors/test-org/runs/\(run.id)")
        #expect(answer.status == 303)
        answer = try await browser.get(answer.location ?? "/")
        #expect(answer.body.contains("removals confirmed started"))
        #expect(
            await eventually(timeout: 90) {
                (try? await serve.store.runs(connector: "test-org", limit: 1).first)
                    .map { $0.id > run.id && $0.outcome == .succeeded && $0.counts.removed == gone.count } == true
            })
        for id in gone { #expect(try await serve.store.user(connector: "test-org", id: id)?.isPresent == false) }
    }

    @Test func aConnectorPollingTheSystemLogShowsWherePollingStands() async throws {
        let serve = try await ServeHarness(users: 10, eventSource: .both)
        let browser = ConsoleBrowser(base: "http://127.0.0.1:\(serve.adminPort)")
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        #expect(try await browser.signIn().status == 303)
        #expect(
            await eventually(timeout: 30) {
                let page = (try? await browser.get("/connectors/test-org").body) ?? ""
                return page.contains("<dt>System Log</dt>") && page.contains("last poll")
            })
        #expect(try await browser.get("/").body.contains("event source both"))
    }

    @Test func resyncOneUserAndTheActionsPageAskWhatTheyNeed() async throws {
        let (serve, browser) = try await start(users: 20)
        defer {
            Task {
                await browser.shutdown()
                await serve.stop()
            }
        }
        let actions = try await browser.get("/connectors/test-org/actions")
        #expect(actions.body.contains(#"<label for="user_id">Okta user id</label>"#))
        // Without event_hook.public_url the console registers nothing, and says what to set.
        #expect(!actions.body.contains(#"name="url""#), "no URL to type in: only event_hook.public_url is registered")
        #expect(actions.body.contains("set <code>event_hook.public_url</code>"))
        #expect(actions.headers.first(name: "Refresh") == nil, "a page with inputs does not refresh")
        var answer = try await browser.submit(
            "/connectors/test-org/resync", from: "/connectors/test-org/actions", fields: [("user_id", "robert'); drop")]
        )
        #expect(try await browser.get(answer.location ?? "/").body.contains("is not an Okta user id"))
        let user = try #require(serve.simulator.org.allUsers().first { $0.status == .active })
        _ = try serve.simulator.org.updateProfile(id: user.id, changes: ["title": "Resynced From The Console"])
        answer = try await browser.submit(
            "/connectors/test-org/resync", from: "/connectors/test-org/actions", fields: [("user_id", user.id)])
        #expect(try await browser.get(answer.location ?? "/").body.contains("User \(user.id) resynced: updated"))
        #expect(
            try await serve.store.user(connector: "test-org", id: user.id)?.recordJSON?.contains(
                "Resynced From The Console") == true)
        // Re-verifying with no hook in the org says so instead of failing quietly.
        answer = try await browser.submit("/connectors/test-org/hook/verify", from: "/connectors/test-org")
        #expect(try await browser.get(answer.location ?? "/").body.contains("register one first"))
    }
}
