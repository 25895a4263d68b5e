import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NeuronsSinks
import OktaClient
import Testing

@testable import ConnectorServer

/// A sink that accepts everything (the admin routes are tested, not forwarding).
struct AcceptingSink: RecordSink {
    func deliver(_ batch: SinkBatch) async throws(SinkError) {}
}

/// The admin listener's router over one connector on an in-memory Okta and a fresh SQLite store,
/// tested in-process (`app.test(.router)`): no socket, no process.
struct AdminRouterHarness {
    static let token = "admin-token-for-in-process-route-tests-0123"
    static let metricsToken = "metrics-token-for-in-process-route-tests-0123"
    let testStore: TestStore
    let okta: InMemoryOkta
    let board: ConnectorHealthBoard
    let settings: ConnectorSettings
    let runtime: ConnectorRuntime
    let dependencies: AdminDependencies
    /// The clock of the sessions and of the wrong-token throttles (10 a minute per address).
    let throttleClock = ManualClock(now: Date())
    var store: any StateStore { testStore.store }

    init(active: Bool = true, okta: InMemoryOkta = InMemoryOkta()) async throws {
        testStore = try await StoreBackend.sqlite.makeStore()
        self.okta = okta
        board = ConnectorHealthBoard()
        settings = connectorSettings(active: active)
        let store = testStore.store
        let clock = SystemWallClock()
        let parts = ConnectorParts(
            okta: okta, hooks: nil,
            applier: EventApplier(
                connector: settings, store: store, client: okta, clock: clock, logger: quietLogger,
                coalescingWindow: 0),
            reconciler: Reconciler(connector: settings, client: okta, store: store, clock: clock, logger: quietLogger),
            forwarder: OutboxForwarder(
                connector: settings.slug, store: store, sink: AcceptingSink(), clock: clock, logger: quietLogger),
            snapshots: nil, gate: RunGate(leases: store, logger: quietLogger), board: board,
            fence: WorkerFenceHolder(), jobs: BackgroundJobs())
        runtime = ConnectorRuntime(
            operations: ConnectorOperations(
                settings: settings, store: store, parts: parts, clock: clock, logger: quietLogger))
        let runtimes = [runtime]
        let view = AdminView(runtimes: { runtimes }, store: store, receiver: ReceiverStats(), clock: clock)
        dependencies = AdminDependencies(
            view: view, token: AdminToken(Secret(Self.token)), metricsToken: MetricsToken(Secret(Self.metricsToken)),
            sessions: ConsoleSessions(lifetime: 3600, clock: throttleClock),
            signInThrottle: SignInThrottle(clock: throttleClock), cookie: ConsoleCookie(secure: false, lifetime: 3600),
            hooks: EventHookMonitor(runtimes: { runtimes }, clock: clock, logger: quietLogger),
            metrics: ConnectorMetrics.shared, logger: quietLogger, reload: { "reloaded: nothing changed" })
        ConnectorMetrics.bootstrap()
    }

    /// Runs `body` with a client of the router.
    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await Application(router: buildAdminRouter(dependencies)).test(.router, body)
    }
}

/// A browser's session: its cookie and the CSRF token its pages carry.
struct RouterSession {
    let cookie: String
    let csrf: String

    static func signIn(_ client: any TestClientProtocol) async throws -> RouterSession {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-www-form-urlencoded"
        let signedIn = try await client.execute(
            uri: "/sign-in", method: .post, headers: headers,
            body: ByteBuffer(string: "token=\(AdminRouterHarness.token)&next=%2F"))
        #expect(signedIn.status == .seeOther)
        let cookie = try #require(signedIn.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        var withCookie = HTTPFields()
        withCookie[.cookie] = cookie
        let page = String(buffer: try await client.execute(uri: "/", method: .get, headers: withCookie).body)
        let csrf = try #require(
            page.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.output.1) }, "a CSRF field")
        return RouterSession(cookie: cookie, csrf: csrf)
    }

    func headers(origin: String? = nil, form: Bool = false) -> HTTPFields {
        var headers = HTTPFields()
        headers[.cookie] = cookie
        if let origin { headers[.origin] = origin }
        if form { headers[.contentType] = "application/x-www-form-urlencoded" }
        return headers
    }
}

/// Every admin route in-process: credentials, CSRF and the status each answers (SPEC §11).
@Suite("Admin routes in-process (SPEC §11)", .timeLimit(.minutes(2)))
struct AdminRouterTests {
    static let slug = "test-org"
    /// Every route behind the admin token, with the status a bearer token gets on an empty store.
    static let apiRoutes: [(HTTPRequest.Method, String, HTTPResponse.Status)] = [
        (.get, "/metrics", .ok), (.get, "/api/status", .ok), (.post, "/api/reload", .ok),
        (.get, "/api/connectors/test-org/runs", .ok),
        (.post, "/api/connectors/test-org/reconcile?dry_run=true", .accepted),
        (.post, "/api/connectors/test-org/users/00u1abcdEFGHijklMNOP/resync", .ok),
        (.post, "/api/connectors/test-org/resync-all", .ok), (.get, "/api/connectors/test-org/dead-letters", .ok),
        (.post, "/api/connectors/test-org/dead-letters/replay", .ok),
        (.get, "/api/connectors/test-org/failed-events", .ok),
        (.post, "/api/connectors/test-org/failed-events/retry", .ok), (.get, "/api/connectors/test-org/hooks", .ok),
    ]
    /// Every console page (the run page names the run the tests start first).
    static let pages = [
        "/", "/connectors/test-org", "/connectors/test-org/runs/1", "/connectors/test-org/dead-letters",
        "/connectors/test-org/actions",
    ]
    /// Every console form, and where it sends the browser.
    static let forms: [(String, String, String)] = [
        ("/preferences/refresh", "paused=on&next=%2Fconnectors%2Ftest-org", "/connectors/test-org"),
        ("/connectors/test-org/reconcile", "dry_run=on", "/connectors/test-org"),
        ("/connectors/test-org/runs/1/confirm-removals", "", "/connectors/test-org"),
        ("/connectors/test-org/resync", "user_id=not-an-id", "/connectors/test-org/actions"),
        ("/connectors/test-org/resync-all", "", "/connectors/test-org"),
        ("/connectors/test-org/dead-letters/replay", "id=1", "/connectors/test-org/dead-letters"),
        ("/connectors/test-org/failed-events/retry", "id=x", "/connectors/test-org/dead-letters#failed-events"),
        ("/connectors/test-org/hook/verify", "", "/connectors/test-org"),
        ("/connectors/test-org/hook/register", "url=https%3A%2F%2Fa.example%2Fhooks", "/connectors/test-org"),
    ]

    func bearer(_ token: String = AdminRouterHarness.token) -> HTTPFields {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        return headers
    }

    @Test func probesAndTheSignInFormAreOpen() async throws {
        try await AdminRouterHarness().test { client in
            let healthz = try await client.execute(uri: "/healthz", method: .get)
            #expect(healthz.status == .ok && String(buffer: healthz.body) == "ok\n")
            let readyz = try await client.execute(uri: "/readyz", method: .get)
            #expect(readyz.status == .ok && String(buffer: readyz.body) == "ready\n")
            let signIn = try await client.execute(uri: "/sign-in?next=/connectors/test-org", method: .get)
            #expect(signIn.status == .ok)
            #expect(String(buffer: signIn.body).contains(#"name="next" value="/connectors/test-org""#))
        }
    }

    @Test func everyAPIRouteNeedsTheBearerTokenAndAnswersWithIt() async throws {
        let harness = try await AdminRouterHarness()
        try await harness.test { client in
            for (method, path, expected) in Self.apiRoutes {
                // Two wrong tokens a route, then a minute: under the throttle of wrong bearer tokens.
                harness.throttleClock.advance(by: 61)
                for headers in [HTTPFields(), bearer("wrong-token"), [.authorization: "Basic YWRtaW46YWRtaW4="]] {
                    let refused = try await client.execute(uri: path, method: method, headers: headers)
                    #expect(refused.status == .unauthorized, "\(method) \(path)")
                    #expect(refused.headers[.wwwAuthenticate] == "Bearer realm=\"okta-connector\"")
                    #expect(String(buffer: refused.body) == #"{"error":"a valid bearer token is required"}"#)
                }
                let answer = try await client.execute(uri: path, method: method, headers: bearer())
                #expect(answer.status == expected, "\(method) \(path): \(String(buffer: answer.body))")
                if !path.hasPrefix("/metrics") {
                    #expect(answer.headers[.contentType] == "application/json; charset=utf-8", "\(path)")
                }
            }
        }
    }

    /// `server.admin.metrics_token` (SPEC §20): a scraper's token opens `GET /metrics` and nothing
    /// else, so the admin token need not sit in Prometheus's configuration.
    @Test func theMetricsTokenOpensTheMetricsOnly() async throws {
        let harness = try await AdminRouterHarness()
        try await harness.test { client in
            let scraped = try await client.execute(
                uri: "/metrics", method: .get, headers: bearer(AdminRouterHarness.metricsToken))
            #expect(scraped.status == .ok)
            #expect(String(buffer: scraped.body).contains("okta_connector_"))
            for (method, path, _) in Self.apiRoutes where !path.hasPrefix("/metrics") {
                harness.throttleClock.advance(by: 61)
                let refused = try await client.execute(
                    uri: path, method: method, headers: bearer(AdminRouterHarness.metricsToken))
                #expect(refused.status == .unauthorized, "\(method) \(path) with the metrics token")
            }
            harness.throttleClock.advance(by: 61)
            #expect(
                try await client.execute(uri: "/", method: .get, headers: bearer(AdminRouterHarness.metricsToken))
                    .status != .ok)
        }
    }

    @Test func everyConsolePageAsksAStrangerToSignInAndOpensWithTheToken() async throws {
        let harness = try await AdminRouterHarness()
        _ = try await harness.runtime.operations.reconcile(ReconcileOptions(trigger: .manual))
        try await harness.test { client in
            for page in Self.pages {
                let stranger = try await client.execute(uri: page, method: .get)
                #expect(stranger.status == .unauthorized, "\(page)")
                #expect(String(buffer: stranger.body).contains(#"<label for="token">Admin token</label>"#))
                #expect(String(buffer: stranger.body).contains(#"name="next" value="\#(page)""#))
                let answer = try await client.execute(uri: page, method: .get, headers: bearer())
                #expect(answer.status == .ok, "\(page)")
                #expect(answer.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true)
                #expect(answer.headers[.contentType] == "text/html; charset=utf-8")
                #expect(!String(buffer: answer.body).contains("{{"), "every template tag was rendered")
            }
            for page in ["/connectors/nope", "/connectors/test-org/runs/99", "/connectors/test-org/runs/x"] {
                let missing = try await client.execute(uri: page, method: .get, headers: bearer())
                #expect(missing.status == .notFound, "\(page)")
                #expect(String(buffer: missing.body).contains("No connector of that name runs in this process."))
            }
        }
    }

    @Test func everyFormNeedsTheSessionsCSRFTokenAndTheSameOrigin() async throws {
        try await AdminRouterHarness().test { client in
            let session = try await RouterSession.signIn(client)
            for (path, form, location) in Self.forms {
                let anonymous = try await client.execute(uri: path, method: .post, body: ByteBuffer(string: form))
                #expect(anonymous.status == .unauthorized, "\(path)")
                let noToken = try await client.execute(
                    uri: path, method: .post, headers: session.headers(form: true), body: ByteBuffer(string: form))
                #expect(noToken.status == .forbidden, "\(path)")
                #expect(String(buffer: noToken.body).contains("CSRF"))
                let withToken = "csrf=\(session.csrf)&\(form)"
                let foreign = try await client.execute(
                    uri: path, method: .post, headers: session.headers(origin: "https://evil.example", form: true),
                    body: ByteBuffer(string: withToken))
                #expect(foreign.status == .forbidden, "\(path)")
                #expect(String(buffer: foreign.body).contains("another site"))
                let accepted = try await client.execute(
                    uri: path, method: .post, headers: session.headers(form: true), body: ByteBuffer(string: withToken))
                #expect(accepted.status == .seeOther, "\(path): \(String(buffer: accepted.body))")
                #expect(accepted.headers[.location] == location, "\(path)")
            }
        }
    }

    @Test func validationMessagesOfTheAPIAndTheForms() async throws {
        let harness = try await AdminRouterHarness()
        try await harness.test { client in
            let notAnId = try await client.execute(
                uri: "/api/connectors/test-org/users/robert.tables/resync", method: .post, headers: bearer())
            #expect(
                notAnId.status == .badRequest && String(buffer: notAnId.body) == #"{"error":"not an Okta user id"}"#)
            for (path, message) in [
                ("dead-letters/replay?id=1,x", "id must be dead letter ids separated by commas"),
                ("failed-events/retry?id=-3", "id must be failed event ids separated by commas"),
            ] {
                let refused = try await client.execute(
                    uri: "/api/connectors/test-org/\(path)", method: .post, headers: bearer())
                #expect(refused.status == .badRequest && String(buffer: refused.body) == #"{"error":"\#(message)"}"#)
            }
            let unknown = try await client.execute(uri: "/api/connectors/nope/runs", method: .get, headers: bearer())
            #expect(unknown.status == .notFound && String(buffer: unknown.body) == #"{"error":"no such connector"}"#)
            // The console says the same on the page it returns to.
            let session = try await RouterSession.signIn(client)
            let answer = try await client.execute(
                uri: "/connectors/test-org/resync", method: .post, headers: session.headers(form: true),
                body: ByteBuffer(string: "csrf=\(session.csrf)&user_id=bad%2Fid"))
            let page = try await client.execute(
                uri: answer.headers[.location] ?? "/", method: .get, headers: session.headers())
            #expect(String(buffer: page.body).contains("Not resynced: &quot;bad/id&quot; is not an Okta user id"))
        }
    }

    @Test func aSecondReconcileIsRefusedWhileOneRuns() async throws {
        let harness = try await AdminRouterHarness()
        // Another process holds the connector's run lease.
        _ = try await harness.store.acquireRunLease(
            connector: AdminRouterTests.slug, holder: ProcessIdentity(host: "other-host", pid: 1, incarnation: "abc"),
            at: Timestamp(Date()), expiresAt: Timestamp(Date().addingTimeInterval(60)))
        try await harness.test { client in
            let refused = try await client.execute(
                uri: "/api/connectors/test-org/reconcile", method: .post, headers: bearer())
            #expect(refused.status == .conflict, "\(String(buffer: refused.body))")
            #expect(String(buffer: refused.body).contains("other-host"))
        }
    }
}

/// Every console page for a connector in each health state, rendered in-process from the templates.
@Suite("Console pages in-process (SPEC §11)", .timeLimit(.minutes(2)))
struct ConsolePageRenderingTests {
    enum State: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case running, degraded, restarting, stopped, inactive
        var testDescription: String { rawValue }
    }

    /// The connector's health as the pages show it (the board names the part): badge tone, class, text.
    static func expected(_ state: State) -> (tone: String, healthClass: String, text: String) {
        switch state {
        case .running: ("ok", "ok", "running")
        case .degraded: ("warn", "warn", "degraded: applier: store: disk I/O error")
        case .restarting: ("warn", "warn", "restarting: applier: applier ended: boom")
        case .stopped: ("off", "warn", "stopped: applier: stopped by a reload")
        case .inactive: ("off", "warn", "stopped: inactive")
        }
    }

    @Test(arguments: State.allCases)
    func everyPageRendersTheConnectorInEachHealthState(_ state: State) async throws {
        let harness = try await AdminRouterHarness(active: state != .inactive)
        for index in 0..<3 { harness.okta.put(InMemoryOkta.user("00u\(index)")) }
        if state != .inactive {
            _ = try await harness.runtime.operations.reconcile(ReconcileOptions(trigger: .manual))
        }
        switch state {
        case .degraded: harness.board.report("applier", .degraded(reason: "store: disk I/O error"))
        case .restarting: harness.board.report("applier", .restarting(reason: "applier ended: boom"))
        case .stopped: harness.board.report("applier", .stopped(reason: "stopped by a reload"))
        case .running, .inactive: break
        }
        let (tone, healthClass, text) = Self.expected(state)
        try await harness.test { client in
            let session = try await RouterSession.signIn(client)
            let overview = String(
                buffer: try await client.execute(uri: "/", method: .get, headers: session.headers()).body)
            #expect(overview.contains(#"<dd class="health \#(healthClass)">\#(text)</dd>"#), "\(overview)")
            #expect(overview.contains(state == .inactive ? ">inactive</span>" : ">active</span>"))
            let page = String(
                buffer: try await client.execute(uri: "/connectors/test-org", method: .get, headers: session.headers())
                    .body)
            #expect(page.contains(#"<span class="badge \#(tone)">\#(text.prefix { $0 != ":" })</span>"#))
            #expect(page.contains(#"<dd class="health \#(healthClass)">\#(text)</dd>"#))
            #expect(page.contains(#"<input type="hidden" name="csrf" value="\#(session.csrf)">"#))
            #expect(page.contains(#"<svg class="chart" id="events""#))
            if state == .inactive {
                #expect(page.contains("No runs yet."))
            } else {
                #expect(page.contains(#"<tr data-run="1">"#) && page.contains(#"<svg class="chart" id="drift""#))
                let run = String(
                    buffer: try await client.execute(
                        uri: "/connectors/test-org/runs/1", method: .get, headers: session.headers()
                    ).body)
                #expect(run.contains("Run #1 of test-org") && run.contains("3 listed, 3 created"))
            }
            for path in ["/connectors/test-org/dead-letters", "/connectors/test-org/actions"] {
                let answer = try await client.execute(uri: path, method: .get, headers: session.headers())
                #expect(answer.status == .ok, "\(path)")
                #expect(!String(buffer: answer.body).contains("{{"))
            }
        }
    }

    @Test func valuesFromOktaAreEscapedByTheTemplateEngine() async throws {
        let harness = try await AdminRouterHarness()
        harness.board.report("applier", .degraded(reason: "<script>alert('x')</script> & \"more\""))
        try await harness.test { client in
            let page = String(
                buffer: try await client.execute(
                    uri: "/connectors/test-org", method: .get,
                    headers: [
                        .authorization: "Bearer \(AdminRouterHarness.token)"
                    ]
                ).body)
            #expect(!page.contains("<script>"))
            #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"))
        }
    }
}

/// What the console says of runs (issue 23): the last successful run beside the last run, drift
/// plotted for complete runs only, and a run waiting on Okta's rate limit says so.
@Suite("Console runs and waits in-process (SPEC §11)", .timeLimit(.minutes(3)))
struct ConsoleRunStateTests {
    /// Records a finished run.
    func run(
        _ store: any StateStore, _ outcome: RunOutcome, dryRun: Bool = false, drift: Int, at second: Double
    ) async throws -> Int64 {
        let started = Timestamp(Date(timeIntervalSinceNow: -3600 + second))
        let id = try await store.startRun(connector: "test-org", trigger: .schedule, dryRun: dryRun, at: started)
        if outcome != .running {
            try await store.finishRun(
                RunRecord(
                    id: id, connector: "test-org", trigger: .schedule, dryRun: dryRun, startedAt: started,
                    endedAt: Timestamp(started.date.addingTimeInterval(5)), outcome: outcome,
                    counts: RunCounts(listed: 100), drift: drift))
        }
        return id
    }

    @Test func anInterruptedDryRunDoesNotHideTheLastSuccessAndPartialDriftIsNotPlotted() async throws {
        let harness = try await AdminRouterHarness()
        let good = try await run(harness.store, .succeeded, drift: 5, at: 0)
        let partial = try await run(harness.store, .interrupted, drift: 40, at: 10)
        let dry = try await run(harness.store, .interrupted, dryRun: true, drift: 0, at: 20)
        try await harness.test { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(AdminRouterHarness.token)"]
            for path in ["/", "/connectors/test-org"] {
                let page = String(buffer: try await client.execute(uri: path, method: .get, headers: bearer).body)
                if path == "/" {
                    let lastRun = try #require(
                        page.firstMatch(of: /<dd class="last-run">(.*?)<\/dd>/.dotMatchesNewlines())?.output.1)
                    #expect(lastRun.contains(">#\(dry)</a> interrupted (dry run)"), "\(lastRun)")
                }
                let success = try #require(
                    page.firstMatch(of: /<dd class="last-success">(.*?)<\/dd>/.dotMatchesNewlines())?.output.1)
                #expect(success.contains(">#\(good)</a> succeeded"), "\(path): \(success)")
                #expect(page.contains("<title>run \(good) succeeded: drift 5</title>"))
                #expect(!page.contains("<title>run \(partial) interrupted"), "a partial run's drift is not plotted")
            }
        }
    }

    /// Issue 23 item 1: a CLI reconcile whose changes did not reach the sink is marked in the API's
    /// run JSON, the console's runs table and its run page; a run of `serve` has no mark.
    @Test func aRunWhoseChangesWereNotForwardedIsMarkedInTheAPIAndTheConsole() async throws {
        let harness = try await AdminRouterHarness()
        let byServe = try await run(harness.store, .succeeded, drift: 0, at: 0)
        let forwarded = try await run(harness.store, .succeeded, drift: 0, at: 10)
        let queued = try await run(harness.store, .succeeded, drift: 0, at: 20)
        try await harness.store.recordRunForwarding(id: forwarded, forwarded: true)
        try await harness.store.recordRunForwarding(id: queued, forwarded: false)
        try await harness.test { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(AdminRouterHarness.token)"]
            let answer = try await client.execute(uri: "/api/connectors/test-org/runs", method: .get, headers: bearer)
            #expect(answer.status == .ok)
            let runs = try #require(
                try JSONSerialization.jsonObject(with: Data(String(buffer: answer.body).utf8)) as? [[String: Any]],
                "\(String(buffer: answer.body))")
            func field(_ id: Int64) -> Any? { runs.first { ($0["id"] as? Int).map(Int64.init) == id }?["forwarded"] }
            #expect(field(queued) as? Bool == false)
            #expect(field(forwarded) as? Bool == true)
            #expect(field(byServe) == nil, "no mark for a run whose changes serve's forwarder sends")

            let table = String(
                buffer: try await client.execute(uri: "/connectors/test-org", method: .get, headers: bearer).body)
            let marked = table.matches(of: /<tr data-run="(\d+)">(.*?)<\/tr>/.repetitionBehavior(.reluctant)).filter {
                $0.output.2.contains("not forwarded")
            }.map { String($0.output.1) }
            #expect(marked == [String(queued)], "only the run whose changes stay queued is marked")

            for (id, text) in [(queued, "no: the sink did not take the changes"), (forwarded, "yes")] {
                let page = String(
                    buffer: try await client.execute(
                        uri: "/connectors/test-org/runs/\(id)", method: .get, headers: bearer
                    ).body)
                #expect(page.contains("<dt>Forwarded</dt><dd class=\"forwarded\">\(text)"), "run \(id)")
            }
            let servePage = String(
                buffer: try await client.execute(
                    uri: "/connectors/test-org/runs/\(byServe)", method: .get, headers: bearer
                ).body)
            #expect(!servePage.contains("<dt>Forwarded</dt>"))
        }
    }

    @Test func theLastAcceptedOktaCallAndARefusedCredentialAreShown() async throws {
        let harness = try await AdminRouterHarness()
        let accepted = Timestamp(Date().addingTimeInterval(-7200))
        try await harness.store.recordOktaContact(
            connector: "test-org", acceptedAt: accepted,
            rejection: OktaRejection(
                at: Timestamp(Date().addingTimeInterval(-60)), reason: "API token (SSWS): Invalid token provided"))
        try await harness.test { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(AdminRouterHarness.token)"]
            for path in ["/", "/connectors/test-org"] {
                let page = String(buffer: try await client.execute(uri: path, method: .get, headers: bearer).body)
                #expect(page.contains("last accepted call 2 h ago"), "\(path)")
                #expect(page.contains("refused: API token (SSWS): Invalid token provided (1 min ago)"), "\(path)")
            }
            let status = String(
                buffer: try await client.execute(uri: "/api/status", method: .get, headers: bearer).body)
            #expect(status.contains(#""lastAcceptedOktaCall":"\#(accepted.iso8601)""#))
            #expect(status.contains(#""oktaCredentialProblem":"API token (SSWS): Invalid token provided""#))
        }
    }

    @Test func aRunWaitingOnOktasRateLimitSaysSo() async throws {
        let clock = ManualClock(now: Date())
        let okta = InMemoryOkta(clock: clock)
        let harness = try await AdminRouterHarness(okta: okta)
        _ = try await run(harness.store, .running, drift: 0, at: 0)
        await okta.limiter.record(.usersList, limit: 600, remaining: 0, resetIn: 30)
        let waiting = Task { try await okta.limiter.acquire(.usersList) }
        defer { waiting.cancel() }
        #expect(await eventually(timeout: 30) { await okta.limiter.currentWait != nil })
        try await harness.test { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(AdminRouterHarness.token)"]
            let page = String(
                buffer: try await client.execute(uri: "/connectors/test-org", method: .get, headers: bearer).body)
            // The seconds left are counted on the admin listener's clock: 30 or a little less.
            #expect(page.contains(/users listed so far\. Now waiting [0-9]+ s for Okta&#39;s users bucket to reset/))
            let overview = String(buffer: try await client.execute(uri: "/", method: .get, headers: bearer).body)
            #expect(overview.contains(/in progress, waiting [0-9]+ s for Okta&#39;s users bucket/))
            let status = String(
                buffer: try await client.execute(uri: "/api/status", method: .get, headers: bearer).body)
            #expect(status.contains(/"rateLimitWait":"waiting [0-9]+ s for Okta's users bucket to reset/))
        }
        clock.advance(by: 31)
        _ = try? await waiting.value
    }
}
