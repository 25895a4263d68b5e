import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OktaSimulator
import SQLiteStore
import ServiceLifecycle
import Synchronization
import Testing

@testable import ConnectorEngine

/// `serve`'s services in-process (listener, appliers, schedulers, forwarders, admin), against the simulator.
final class ServeHarness: @unchecked Sendable {
    let simulator: OktaSimulator
    let directory: URL
    let store: SQLiteStateStore
    let application: ConnectorApplication
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let adminPort: Int
    let http = HTTPClient.shared
    /// The configuration it started with.
    let configuration: ServiceConfiguration

    init(
        users: Int = 200, name: String? = nil, adminTLS: TLSFiles? = nil, sessionLifetime: Double = 8 * 3600,
        maxRemovalShare: Double = 0.2, rateLimits: Bool = false, eventSource: EventSource = .hooks
    ) async throws {
        var options = SimulatorOptions()
        options.users = users
        // Okta's limits (and X-Rate-Limit headers) only where a test looks at them.
        if !rateLimits { options.rateLimits = nil }
        options.logger.logLevel = .critical
        simulator = try await OktaSimulator.start(options)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        var connector = connectorSettings(org: simulator.baseURL)
        if let name { connector.name = name }
        connector.reconcile.maxRemovalShare = maxRemovalShare
        connector.eventSource = eventSource
        connector.sink = .ndjson(
            NDJSONSinkSettings(path: directory.appendingPathComponent("out.ndjson").path, batchSize: 500))
        let configuration = ServiceConfiguration(
            file: "(test)",
            server: ServerSettings(
                listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil,
                admin: AdminSettings(
                    listen: ListenAddress(host: "127.0.0.1", port: 0), token: Secret("admin-token"), tls: adminTLS,
                    sessionLifetime: sessionLifetime),
                connectorServer: "Cloud", maxBodyBytes: 1 << 20),
            store: StoreSettings(backend: .sqlite(path: "unused")),
            logging: LoggingSettings(format: .json, level: "error"),
            connectors: [connector])
        self.configuration = configuration
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        application = try ConnectorApplication(
            configuration: configuration, store: store, httpClient: http, clock: SystemWallClock(), logger: quietLogger,
            onAdminRunning: { continuation.yield($0) })
        group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) }, gracefulShutdownSignals: [],
                logger: quietLogger))
        let group = self.group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        adminPort = await iterator.next() ?? 0
        // The admin listener and the connectors' supervisor start together: wait for the connector,
        // so that a first request does not meet "no such connector".
        let application = self.application
        _ = await eventually(timeout: 60) { !application.runtimes.isEmpty }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await simulator.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func get(_ path: String, token: String? = "admin-token", method: HTTPMethod = .GET) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 4 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: body))
    }
}

@Suite("Admin API, metrics and status page (SPEC §11)", .serialized, .timeLimit(.minutes(3)))
struct AdminTests {
    @Test func probesAreOpenAndEverythingElseNeedsTheToken() async throws {
        let serve = try await ServeHarness()
        #expect(try await serve.get("/healthz", token: nil).status == 200)
        #expect(try await serve.get("/readyz", token: nil).body == "ready\n")
        #expect(try await serve.get("/metrics", token: nil).status == 401)
        #expect(try await serve.get("/api/status", token: "wrong").status == 401)
        #expect(try await serve.get("/", token: nil).status == 401)
        await serve.stop()
    }

    @Test func statusMetricsAndPageShowTheConnector() async throws {
        let serve = try await ServeHarness()
        // The startup reconcile runs at once; wait for it and for the forwarder.
        // Then the scheduler saves the next due time.
        let done = try await eventually(timeout: 60) {
            let runs = try await serve.store.runs(connector: "test-org", limit: 1)
            let depth = try await serve.store.outboxStats(connector: "test-org").depth
            let next = try await serve.store.scheduleState(connector: "test-org")?.nextDueAt?.iso8601
            return runs.first?.outcome == .succeeded && depth == 0 && next?.hasSuffix("T02:00:00.000Z") == true
        }
        #expect(done)
        let status = try JSONCoding.decode(JSONValue.self, from: try await serve.get("/api/status").body)
        guard case .array(let connectors)? = status["connectors"], let connector = connectors.first else {
            Issue.record("no connectors in \(status)")
            await serve.stop()
            return
        }
        #expect(connector["slug"] == "test-org")
        #expect(connector["outboxDepth"] == .integer(0))
        #expect(connector["health"] == "running")
        #expect(connector["failedEvents"] == .integer(0))
        #expect(connector["nextDue"]?.stringValue?.hasSuffix("T02:00:00.000Z") == true)
        guard case .array(let runs)? = connector["runs"] else {
            Issue.record("no runs")
            await serve.stop()
            return
        }
        #expect(runs.first?["trigger"] == "startup")

        let metrics = try await serve.get("/metrics").body
        for name in [
            "okta_connector_okta_calls_total", "okta_connector_outbox_depth", "okta_connector_inbox_depth",
            "okta_connector_reconcile_drift", "okta_connector_reconcile_users",
            "okta_connector_records_forwarded_total",
            "okta_connector_reconcile_duration_seconds", "okta_connector_apply_lag_seconds",
            "okta_connector_events_failed", "okta_connector_okta_credentials_rejected",
        ] {
            #expect(metrics.contains(name), "\(name) missing")
        }
        #expect(
            metrics.contains(
                #"okta_connector_okta_calls_total{connector="test-org",endpoint="GET /api/v1/users",status="200"}"#))
        #expect(metrics.contains(#"okta_connector_health{connector="test-org",state="running"} 1"#))

        let page = try await serve.get("/").body
        #expect(page.hasPrefix("<!doctype html>"))
        #expect(page.contains("data-connector=\"test-org\""))
        #expect(page.contains("<dd class=\"health ok\">running</dd>"))
        #expect(page.contains("<svg class=\"chart\""))
        for external in ["<link", "src=", "@import", "url("] {
            #expect(!page.contains(external), "no external assets (\(external))")
        }
        #expect(!page.contains("<script"))
        await serve.stop()
    }

    @Test func reconcileNowAndResyncOneUser() async throws {
        let serve = try await ServeHarness()
        #expect(
            try await eventually(timeout: 60) {
                try await serve.store.runs(connector: "test-org", limit: 1).first?.outcome == .succeeded
            }, "waited for in time")
        // The startup run's record is written a moment before its gate is left (the schedule's
        // bookkeeping comes last): until then a manual run is refused with 409, as designed.
        var status = 0
        #expect(
            try await eventually(timeout: 60) {
                status = try await serve.get("/api/connectors/test-org/reconcile", method: .POST).status
                return status != 409
            }, "waited for in time")
        #expect(status == 202)
        let manual = try await eventually(timeout: 60) {
            try await serve.store.runs(connector: "test-org", limit: 5).contains {
                $0.trigger == .manual && $0.outcome == .succeeded
            }
        }
        #expect(manual)
        let runs = try await serve.get("/api/connectors/test-org/runs")
        #expect(runs.body.contains("\"trigger\":\"manual\""))
        #expect(try await serve.get("/api/connectors/nope/runs").status == 404)

        let user = try #require(serve.simulator.org.allUsers().first { $0.status == .active })
        try serve.simulator.org.updateProfile(id: user.id, changes: ["title": "Resynced"])
        let resync = try await serve.get("/api/connectors/test-org/users/\(user.id)/resync", method: .POST)
        #expect(resync.status == 200)
        #expect(resync.body.contains("updated"))
        #expect(
            try await serve.store.user(connector: "test-org", id: user.id)?.recordJSON?.contains("Resynced") == true)
        await serve.stop()
    }

    @Test func metricsForAlertingExistFromTheStartWithHelpText() async throws {
        let serve = try await ServeHarness()
        let done = try await eventually(timeout: 60) {
            try await serve.store.runs(connector: "test-org", limit: 1).first?.outcome == .succeeded
        }
        #expect(done)
        let metrics = try await serve.get("/metrics").body
        // Counters exist before anything happened (at 0 in a fresh process; the registry is the
        // process's, so other tests in this process may have counted already): alerts see a value,
        // never "no data".
        for series in [
            #"okta_connector_dead_letters_total{connector="test-org"} "#,
            #"okta_connector_okta_rate_limited_total{connector="test-org"} "#,
            #"okta_connector_sink_errors_total{connector="test-org",kind="credentials"} "#,
            #"okta_connector_deliveries_total{connector="test-org",result="unauthorized"} "#,
        ] {
            #expect(metrics.contains(series), "\(series) missing")
        }
        #expect(metrics.contains(#"okta_connector_reconcile_in_progress{connector="test-org"} 0"#))
        #expect(metrics.contains(#"okta_connector_last_successful_reconcile_timestamp_seconds{connector="test-org"} "#))
        // Every metric family has its help text.
        let families = Set(
            metrics.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        #expect(!families.isEmpty)
        for family in families {
            #expect(metrics.contains("# HELP \(family) "), "no # HELP for \(family)")
        }
        await serve.stop()
    }

    @Test func theAdminAPIAcceptsTheNameAndNamesTheProcessHoldingTheRun() async throws {
        let serve = try await ServeHarness(name: "Test org")
        #expect(
            try await eventually(timeout: 60) {
                try await serve.store.runs(connector: "test-org", limit: 1).first?.outcome == .succeeded
            }, "waited for in time")
        // The name, percent-encoded with its space, as well as the URL name.
        #expect(try await serve.get("/api/connectors/Test%20org/runs").status == 200)
        #expect(try await serve.get("/api/connectors/test-org/runs").status == 200)
        // The startup run's record is written before its lease is given back.
        #expect(
            try await eventually(timeout: 60) { try await serve.store.runLease(connector: "test-org") == nil },
            "the startup run gave its lease back")
        // A CLI reconcile in another live process (pid 1) holds the connector's run lease.
        let cli = ProcessIdentity(host: ProcessIdentity.current.host, pid: 1, incarnation: "cli")
        let now = Date()
        #expect(
            try await serve.store.acquireRunLease(
                connector: "test-org", holder: cli, at: Timestamp(now),
                expiresAt: Timestamp(now.addingTimeInterval(300)))
                == .acquired)
        let refused = try await serve.get("/api/connectors/Test%20org/reconcile", method: .POST)
        #expect(refused.status == 409)
        #expect(refused.body.contains("a reconcile of test-org is running in process 1 on host"), "\(refused.body)")
        try await serve.store.releaseRunLease(connector: "test-org", holder: cli)
        #expect(try await serve.get("/api/connectors/Test%20org/reconcile", method: .POST).status == 202)
        await serve.stop()
    }
}

@Suite("Status page in a real browser", .timeLimit(.minutes(3)))
struct StatusPageBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs headless Chromium (at most a minute) and returns what it printed on standard output.
    func runChromium(_ arguments: [String]) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-chromium-\(UUID().uuidString).out"
        ).path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try TestProcess(
            Self.chromium!,
            arguments: ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=none"]
                + arguments, log: output)
        defer { process.stop(timeout: 2) }
        #expect(await process.waitForExit(timeout: 60) != nil, "chromium finished within a minute")
        return process.output
    }

    @Test func headlessChromiumRendersEachConnector() async throws {
        guard Self.chromium != nil else {
            print(
                "SKIPPED headlessChromiumRendersEachConnector: chromium is not installed (scripts/install-build-deps.sh installs it)"
            )
            return
        }
        let serve = try await ServeHarness()
        // A loaded machine may take a while; the page is rendered once the startup run is recorded.
        let ran = try await eventually(timeout: 60) {
            try await serve.store.runs(connector: "test-org", limit: 1).first?.outcome == .succeeded
        }
        #expect(ran, "the startup reconcile succeeded")
        let html = try await serve.get("/").body
        await serve.stop()
        // The page is self-contained: loaded from a file it renders the same, with nothing fetched.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-status-\(UUID().uuidString).html")
        try html.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let dom = try await runChromium(["--dump-dom", file.absoluteString])
        #expect(dom.contains("data-connector=\"test-org\""))
        #expect(dom.contains("<svg class=\"chart\""))
        #expect(dom.contains("Next run"))
        #expect(dom.contains("succeeded"))
        let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-status-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: screenshot) }
        _ = try await runChromium(["--screenshot=\(screenshot.path)", "--window-size=1100,800", file.absoluteString])
        let png = try Data(contentsOf: screenshot)
        #expect(png.count > 5_000, "a real picture was rendered")
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        if let keep = ProcessInfo.processInfo.environment["OKTA_STATUS_SCREENSHOT"] {
            try png.write(to: URL(fileURLWithPath: keep))
        }
    }
}

@Suite("Configuration reload (SPEC §2, §3)", .timeLimit(.minutes(3)))
struct ReloadTests {
    @Test func reactivatingAConnectorRunsACatchUpReconcileAndOtherServersAreNotRun() async throws {
        var options = SimulatorOptions()
        options.users = 60
        options.rateLimits = nil
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        var inactive = connectorSettings(org: simulator.baseURL, active: false)
        inactive.sink = .ndjson(
            NDJSONSinkSettings(path: directory.appendingPathComponent("a.ndjson").path, batchSize: 500))
        var elsewhere = connectorSettings(slug: "other-server", org: simulator.baseURL)
        elsewhere.server = "onprem-1"
        func configuration(_ connectors: [ConnectorSettings]) -> ServiceConfiguration {
            ServiceConfiguration(
                file: "(test)",
                server: ServerSettings(
                    listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil, admin: nil, connectorServer: "Cloud",
                    maxBodyBytes: 1 << 20),
                store: StoreSettings(backend: .sqlite(path: "unused")),
                logging: LoggingSettings(format: .json, level: "error"),
                connectors: connectors)
        }
        let application = try ConnectorApplication(
            configuration: configuration([inactive, elsewhere]), store: store, httpClient: .shared,
            clock: SystemWallClock(),
            logger: quietLogger)
        let group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) }, gracefulShutdownSignals: [],
                logger: quietLogger))
        let task = Task { try await group.run() }
        #expect(await eventually(timeout: 30) { application.runtimes.count == 1 })
        #expect(
            application.runtimes.map(\.settings.slug) == ["test-org"], "the other server's connector is not run here")
        #expect(try await store.runs(connector: "test-org", limit: 5).isEmpty, "inactive: no reconcile")

        var active = inactive
        active.active = true
        let reactivatedAt = Timestamp(Date())
        try await application.reload(configuration([active, elsewhere]))
        let reactivated = try await eventually(timeout: 60) {
            try await store.runs(connector: "test-org", limit: 5).contains {
                $0.trigger == .reactivation && $0.outcome == .succeeded
            }
        }
        #expect(reactivated, "reactivation triggers a catch-up reconcile")
        // No fixed wait proves the absence: any run of the inactive period would be recorded before this instant.
        #expect(
            try await store.runs(connector: "test-org", limit: 20).allSatisfy {
                $0.startedAt.millisecondsSinceEpoch >= reactivatedAt.millisecondsSinceEpoch
            }, "inactive: no reconcile")
        #expect(application.runtimes.first?.settings.active == true)

        try await application.reload(configuration([elsewhere]))
        #expect(application.runtimes.isEmpty, "a removed connector stops")
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await simulator.stop()
    }

    @Test func aReloadThatCannotStartOneConnectorKeepsTheOthersAndSaysWhich() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        var healthy = connectorSettings(slug: "healthy", active: false)
        healthy.sink = .ndjson(
            NDJSONSinkSettings(path: directory.appendingPathComponent("a.ndjson").path, batchSize: 5))
        // A sink path below a regular file: the sink cannot be opened.
        let blocker = directory.appendingPathComponent("not-a-folder")
        try Data().write(to: blocker)
        var broken = connectorSettings(slug: "broken", active: false)
        broken.eventHook.path = "/hooks/okta/broken"
        broken.sink = .ndjson(NDJSONSinkSettings(path: blocker.appendingPathComponent("b.ndjson").path, batchSize: 5))
        func configuration(_ connectors: [ConnectorSettings]) -> ServiceConfiguration {
            ServiceConfiguration(
                file: "(test)",
                server: ServerSettings(
                    listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil, admin: nil, connectorServer: "Cloud",
                    maxBodyBytes: 1 << 20),
                store: StoreSettings(backend: .sqlite(path: "unused")),
                logging: LoggingSettings(format: .json, level: "error"),
                connectors: connectors)
        }
        let application = try ConnectorApplication(
            configuration: configuration([healthy]), store: store, httpClient: .shared, clock: SystemWallClock(),
            logger: quietLogger)
        let group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) }, gracefulShutdownSignals: [],
                logger: quietLogger))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        #expect(await eventually(timeout: 30) { application.runtimes.count == 1 })
        let before = try #require(application.runtimes.first)

        await #expect {
            try await application.reload(configuration([healthy, broken]))
        } throws: { error in
            "\(error)".contains("connector broken") && "\(error)".contains("not-a-folder")
        }
        #expect(application.runtimes.map(\.settings.slug) == ["healthy"], "the healthy one keeps running")
        #expect(
            application.runtimes.first?.operations.parts?.applier === before.operations.parts?.applier,
            "untouched, not restarted")

        broken.sink = .ndjson(NDJSONSinkSettings(path: directory.appendingPathComponent("b.ndjson").path, batchSize: 5))
        try await application.reload(configuration([healthy, broken]))
        #expect(application.runtimes.map(\.settings.slug) == ["broken", "healthy"])
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
