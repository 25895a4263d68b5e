import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
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
import Testing

@Suite("serve with event_source: system_log (SPEC §17)", .serialized, .timeLimit(.minutes(3)))
struct SystemLogServeTests {
    @Test func withoutAnEventHookChangesReachTheSinkWithinTheIntervalAndStatusShowsPolling() async throws {
        var options = SimulatorOptions()
        options.users = 80
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-poll-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        let ndjson = directory.appendingPathComponent("out.ndjson").path
        var connector = connectorSettings(org: simulator.baseURL, secrets: [])
        connector.eventSource = .systemLog
        connector.systemLog = SystemLogSettings(interval: 1)
        connector.sink = .ndjson(NDJSONSinkSettings(path: ndjson, batchSize: 500))
        let configuration = ServiceConfiguration(
            file: "(test)",
            server: ServerSettings(
                listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil,
                admin: AdminSettings(listen: ListenAddress(host: "127.0.0.1", port: 0), token: Secret("admin-token")),
                connectorServer: "Cloud", maxBodyBytes: 1 << 20),
            store: StoreSettings(backend: .sqlite(path: "unused")),
            logging: LoggingSettings(format: .json, level: "error"), connectors: [connector])
        let running = try await InProcessApplication.start(configuration, store: store)
        defer {
            Task {
                await running.stop()
                await simulator.stop()
                try? FileManager.default.removeItem(at: directory)
            }
        }
        let admin = running.adminPort
        let listener = running.hookPort

        // The initial reconcile, forwarded (generous: the whole suite shares two cores).
        let synced = try await eventually(timeout: 90) {
            let run = try await store.runs(connector: "test-org", limit: 1).first
            let depth = try await store.outboxStats(connector: "test-org").depth
            return run?.outcome == .succeeded && depth == 0
        }
        #expect(synced)
        #expect(simulator.eventHooks.isEmpty, "no hook is registered")
        // A change in Okta reaches the sink through the System Log alone, within the interval and a few seconds.
        let user = try #require(simulator.org.allUsers().first { $0.status == .active })
        let started = Date()
        _ = try simulator.org.updateProfile(id: user.id, changes: ["title": "Found by polling"])
        let arrived = await eventually(timeout: 30) {
            (try? String(contentsOfFile: ndjson, encoding: .utf8))?.contains("Found by polling") == true
        }
        #expect(arrived)
        // The interval (1 s) plus a few seconds; generous, as the machine may be shared by several
        // builds (the lag target itself is measured by the System Log chaos test).
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 1 + 20, "arrived after \(elapsed) s")

        // The listener serves no hook path for a connector that only polls.
        var post = HTTPClientRequest(url: "http://127.0.0.1:\(listener)/hooks/okta/test-org")
        post.method = .POST
        post.headers.add(name: "Content-Type", value: "application/json")
        post.body = .bytes(.init(string: delivery([])))
        #expect(try await HTTPClient.shared.execute(post, timeout: .seconds(5)).status.code == 404)

        func get(_ path: String) async throws -> String {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(admin)\(path)")
            request.headers.add(name: "Authorization", value: "Bearer admin-token")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return String(buffer: try await response.body.collect(upTo: 4 << 20))
        }
        let metrics = try await get("/metrics")
        for series in [
            "okta_connector_system_log_polls_total{connector=\"test-org\",result=\"ok\"}",
            "okta_connector_system_log_events_total{connector=\"test-org\",kind=\"new\"}",
            "okta_connector_system_log_lag_seconds{connector=\"test-org\"}",
            "okta_connector_system_log_last_poll_succeeded{connector=\"test-org\"} 1",
        ] {
            #expect(metrics.contains(series), "missing \(series)")
        }
        let status = try JSONCoding.decode(JSONValue.self, from: try await get("/api/status"))
        guard case .array(let connectors)? = status["connectors"], let first = connectors.first else {
            Issue.record("no connectors in \(status)")
            return
        }
        #expect(first["eventSource"] == "system_log")
        #expect(first["systemLog"]?["lastOutcome"] == "ok")
        if case .integer(let polled)? = first["systemLog"]?["polledEvents"] {
            #expect(polled >= 1)
        } else {
            Issue.record("no polledEvents in \(first)")
        }
    }
}
