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
import OktaClient
import OktaSimulator
import SQLiteStore
import ServiceLifecycle
import Testing

/// A connector moved from hooks to System Log polling while Okta still has its hook ACTIVE
/// (SPEC §20): the reload log, the hook monitor's log, `/api/status`, the console and the `status`
/// command all say so, with the command that deactivates the hook. The simulator is real (HTTPS),
/// the application runs in-process, `status` as a process.
@Suite("Switching a connector away from hooks", .serialized, .timeLimit(.minutes(3)))
struct EventSourceSwitchTests {
    @Test func aLiveHookOfAConnectorThatNowPollsIsReportedEverywhereWithTheCommand() async throws {
        var options = SimulatorOptions()
        options.users = 20
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-switch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = directory.appendingPathComponent("state.db").path
        let store = try SQLiteStateStore(path: database)
        var hooks = connectorSettings(org: simulator.baseURL, secrets: ["hook-secret-of-at-least-32-bytes-0123456789"])
        hooks.sink = .ndjson(
            NDJSONSinkSettings(path: directory.appendingPathComponent("out.ndjson").path, batchSize: 500))
        // Okta has the connector's hook, ACTIVE (as `hooks register` left it).
        let okta = ConnectorAssembly.oktaClient(
            for: hooks, httpClient: HTTPClient.shared, clock: SystemWallClock(), logger: quietLogger)
        _ = try await okta.createEventHook(
            OktaEventHook(
                name: "okta-connector test-org", uri: "https://connector.example.com/hooks/okta/test-org",
                eventTypes: hooks.eventHook.subscribedEventTypes, authHeader: "Authorization",
                secret: hooks.eventHook.secrets[0]))
        func configuration(_ connector: ConnectorSettings) -> ServiceConfiguration {
            ServiceConfiguration(
                file: directory.appendingPathComponent("config.yaml").path,
                server: ServerSettings(
                    listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil,
                    admin: AdminSettings(
                        listen: ListenAddress(host: "127.0.0.1", port: 0),
                        token: Secret("admin-token-of-at-least-32-bytes-0123")),
                    connectorServer: "Cloud", maxBodyBytes: 1 << 20),
                store: StoreSettings(backend: .sqlite(path: database)),
                logging: LoggingSettings(format: .json, level: "info"), connectors: [connector])
        }
        let logs = CapturedLogs()
        let running = try await InProcessApplication.start(
            configuration(hooks), store: store, logger: logs.logger(level: .info))
        let application = running.application
        defer {
            Task {
                await running.stop()
                await simulator.stop()
                try? FileManager.default.removeItem(at: directory)
            }
        }
        let admin = running.adminPort
        func get(_ path: String) async throws -> String {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(admin)\(path)")
            request.headers.add(name: "Authorization", value: "Bearer admin-token-of-at-least-32-bytes-0123")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return String(buffer: try await response.body.collect(upTo: 4 << 20))
        }
        // While the connector takes deliveries, its ACTIVE hook is as it should be: no warning once
        // the monitor has read it (the console's hook card shows it).
        #expect(
            await eventually(timeout: 60) {
                (try? await get("/connectors/test-org"))?.contains("connector.example.com/hooks/okta/test-org") == true
            })
        #expect(!logs.contains("Okta still delivers to the hook"))
        #expect(try await store.oktaContact(connector: "test-org")?.hookWarning == nil)

        var polling = hooks
        polling.eventSource = .systemLog
        polling.systemLog = SystemLogSettings(interval: 60)
        try await application.reload(configuration(polling))
        let command = "okta-connector hooks deactivate --config \(directory.path)/config.yaml --connector \"test-org\""
        #expect(logs.all.contains { $0.contains("no longer takes event hook deliveries") && $0.contains(command) })
        // The monitor reads the hooks again at once (the event source changed) and keeps the warning.
        let kept = await eventually(timeout: 60) {
            (try? await store.oktaContact(connector: "test-org"))?.hookWarning != nil
        }
        #expect(kept)
        #expect(logs.contains("Okta still delivers to the hook of a connector that does not take hook deliveries"))

        let status = try JSONCoding.decode(JSONValue.self, from: try await get("/api/status"))
        guard case .array(let connectors)? = status["connectors"],
            case .string(let warning)? = connectors.first?["hookWarning"]
        else {
            Issue.record("no hookWarning in \(status)")
            return
        }
        #expect(warning.contains("okta-connector hooks deactivate --connector \"test-org\" --config FILE"))
        let page = try await get("/connectors/test-org")
        #expect(page.contains("still has an ACTIVE hook for its path"))

        // `status` reads only the store, and says it too.
        let config = directory.appendingPathComponent("config.yaml").path
        try """
        server: { insecure_plain_http: true }
        store: { url: "sqlite://\(database)" }
        connectors:
          - name: test-org
            okta: { url: "\(simulator.baseURL)", api_token: "${NEVER_SET_TOKEN}", allow_insecure_http: true }
            schedule: { repeats: daily, start_time: "02:00" }
            event_source: system_log
            sink: { type: ndjson, path: out.ndjson }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try TestProcess(
            TestProcess.executable("okta-connector"), arguments: ["status", "--config", config],
            log: directory.appendingPathComponent("status.log").path)
        defer { process.stop() }
        #expect(await process.waitForExit(timeout: 60) == 0, "\(process.output)")
        #expect(process.output.contains("WARNING: Okta still has an ACTIVE event hook for this connector's path"))
        #expect(process.output.contains("okta-connector hooks deactivate --connector \"test-org\""))
    }
}
