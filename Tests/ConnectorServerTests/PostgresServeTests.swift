import AsyncHTTPClient
import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Logging
import NIOHTTP1
import OktaSimulator
import PostgreSQLStore
import PostgresNIO
import Testing

/// `serve` and the read-only commands on a PostgreSQL store, as real processes. Needs a server
/// (`OKTA_TEST_POSTGRES_URL`, set by `scripts/with-postgres.sh`, which `.ci/run` uses); says SKIPPED
/// without one.
@Suite("serve on PostgreSQL", .serialized, .timeLimit(.minutes(3)))
struct PostgresServeTests {
    static let serverURL = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    @Test func serveReconcilesForwardsAndStopsOnPostgreSQLAndReadOnlyCommandsReadIt() async throws {
        guard let serverURL = Self.serverURL else {
            print(
                "SKIPPED: serve on PostgreSQL (OKTA_TEST_POSTGRES_URL is not set; run scripts/with-postgres.sh swift test)"
            )
            return
        }
        let server = try PostgreSQLLocation(url: serverURL)
        let database = "okta_serve_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let logger: Logger = {
            var logger = Logger(label: "postgres-serve-test")
            logger.logLevel = .critical
            return logger
        }()
        _ = try await PostgreSQLStateStore.administer(server, logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: logger)
        }
        var options = SimulatorOptions()
        options.users = 120
        options.rateLimits = nil
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let directory = try TestDirectory("okta-pg-serve")
        defer { directory.remove() }
        let admin = freePort()
        // The password goes through the environment, never the file.
        let url = "postgres://\(server.user)@\(server.host):\(server.port)/\(database)?sslmode=disable"
        let config = try directory.write(
            "config.yaml",
            """
            server:
              insecure_plain_http: true
              listen: 127.0.0.1:\(freePort())
              admin: { listen: 127.0.0.1:\(admin), token: admin-token-of-at-least-32-bytes-0123 }
              shutdown_timeout: 10s
            store:
              url: \(url)
              password: ${TEST_PG_PASSWORD}
            connectors:
              - name: Acme
                okta: { url: \(simulator.baseURL), allow_insecure_http: true, api_token: sim-api-token }
                schedule: { repeats: daily, start_time: "02:00" }
                event_hook: { secrets: [a-secret-of-at-least-32-bytes-0123456789] }
                sink: { type: ndjson, path: \(directory.path("out.ndjson")) }
            """)
        let environment = ["TEST_PG_PASSWORD": server.password ?? ""]
        let serve = try TestProcess(
            TestProcess.executable("okta-connector"), arguments: ["serve", "--config", config],
            log: directory.path("serve.log"), environment: environment)
        defer { serve.stop() }
        let expected = simulator.org.allUsers().filter { $0.status != .deprovisioned }.count
        let forwarded = await eventually(timeout: 60) { directory.lines("out.ndjson").count >= expected }
        #expect(
            forwarded, "\(directory.lines("out.ndjson").count) of \(expected) records forwarded; log:\n\(serve.output)")

        let status = try await HTTPClient.shared.get(
            url: "http://127.0.0.1:\(admin)/api/status",
            headers: ["Authorization": "Bearer admin-token-of-at-least-32-bytes-0123"])
        #expect(status.contains(#""health":"running""#), "\(status)")
        #expect(status.contains(#""outcome":"succeeded""#), "\(status)")

        serve.signal(SIGTERM)
        #expect(await serve.waitForExit(timeout: 20) == 0, "serve exits 0 on SIGTERM; log:\n\(serve.output)")

        let runs = try await TestProcess.run(
            TestProcess.executable("okta-connector"),
            arguments: ["runs", "--config", config, "--connector", "Acme"], log: directory.path("runs.log"),
            environment: environment)
        #expect(runs.status == 0, "\(runs.output)")
        #expect(runs.output.contains("succeeded"), "\(runs.output)")
        await simulator.stop()
    }
}

extension HTTPClient {
    /// The body of a GET, as text.
    fileprivate func get(url: String, headers: [String: String]) async throws -> String {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await execute(request, timeout: .seconds(30))
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }
}
