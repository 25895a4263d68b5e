import AsyncHTTPClient
import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OktaSimulator
import Testing

/// `okta-connector serve` as a real process with a configuration file, against the simulator.
@Suite("serve as a process (SPEC §11)", .serialized, .timeLimit(.minutes(5)))
struct ServeProcessTests {
    static var binary: String { TestProcess.executable("okta-connector") }

    static func freePort() -> Int { ConnectorTestSupport.freePort() }

    func connectorYAML(name: String, simulator: String, sink: String) -> String {
        """
          - name: \(name)
            okta:
              url: \(simulator)
              allow_insecure_http: true
              api_token: sim-api-token
            schedule: { repeats: daily, start_time: "02:00" }
            event_hook: { secrets: [hook-secret-\(name.lowercased())-of-at-least-32-bytes-0123456789] }
            sink: { type: ndjson, path: \(sink) }
        """
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func start(_ config: String, log: String) throws -> TestProcess {
        try TestProcess(Self.binary, arguments: ["serve", "--config", config], log: log)
    }

    func ready(adminPort: Int) async -> Bool {
        await eventually(timeout: 60) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)/readyz")
            request.method = .GET
            return (try? await HTTPClient.shared.execute(request, timeout: .seconds(2)).status) == .ok
        }
    }

    @Test func serveRunsReloadsStopsAndResumes() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("the okta-connector executable was not built at \(Self.binary)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-serve-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = try SelfSignedCertificate()
        let tls = try certificate.write(to: directory.appendingPathComponent("tls"))
        var options = SimulatorOptions()
        options.users = 150
        options.rateLimits = nil
        options.logger.logLevel = .critical
        options.hookTrustRootsPEM = [certificate.certificatePEM]
        let simulator = try await OktaSimulator.start(options)
        let listenPort = Self.freePort()
        let adminPort = Self.freePort()
        try "admin-token-of-at-least-32-bytes-0123".write(
            to: directory.appendingPathComponent("admin-token"), atomically: true, encoding: .utf8)
        let header = """
            server:
              listen: 127.0.0.1:\(listenPort)
              tls: { certificate: \(tls.certificate), private_key: \(tls.privateKey) }
              admin: { listen: 127.0.0.1:\(adminPort), token_file: admin-token }
            store: { url: sqlite://state.db }
            logging: { format: json, level: info }
            connectors:

            """
        let configPath = directory.appendingPathComponent("config.yaml").path
        let firstSink = directory.appendingPathComponent("first.ndjson").path
        let secondSink = directory.appendingPathComponent("second.ndjson").path
        try (header + connectorYAML(name: "First", simulator: simulator.baseURL, sink: firstSink) + "\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("serve.log").path

        var process = try start(configPath, log: log)
        defer { process.stop() }
        #expect(await ready(adminPort: adminPort), "serve answers /readyz")
        let expected = simulator.org.allUsers().filter { $0.status != .deprovisioned }.count
        #expect(
            await eventually(timeout: 60) { lines(firstSink).count == expected },
            "the initial reconcile fills the sink")

        // The hook: registered and verified against the running process, then live changes flow.
        let register = try await TestProcess.run(
            Self.binary,
            arguments: [
                "hooks", "register", "--config", configPath, "--connector", "First", "--url",
                "https://localhost:\(listenPort)/hooks/okta/first",
            ], log: directory.appendingPathComponent("register.log").path, timeout: 60)
        #expect(register.status == 0, "hooks register verified the hook")
        let user = try #require(simulator.org.allUsers().first { $0.status == .active })
        try simulator.org.updateProfile(id: user.id, changes: ["title": "Live From Okta"])
        #expect(await eventually(timeout: 30) { lines(firstSink).contains { $0.contains("Live From Okta") } })

        // SIGHUP: a second connector appears and runs its initial reconcile.
        try
            (header + connectorYAML(name: "First", simulator: simulator.baseURL, sink: firstSink) + "\n"
            + connectorYAML(name: "Second", simulator: simulator.baseURL, sink: secondSink) + "\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        #expect(await eventually(timeout: 60) { lines(secondSink).count == expected }, "the reloaded connector ran")

        // SIGTERM: a clean stop in bounded time.
        let stopping = Date()
        #expect(await process.terminate(timeout: 25) == 0)
        #expect(Date().timeIntervalSince(stopping) < 15)

        // Restart: resumes from the store, no second initial run, changes keep flowing.
        let before = lines(firstSink).count
        process = try start(configPath, log: log)
        #expect(await ready(adminPort: adminPort))
        try simulator.org.updateProfile(id: user.id, changes: ["title": "After Restart"])
        #expect(await eventually(timeout: 30) { lines(firstSink).contains { $0.contains("After Restart") } })
        #expect(lines(firstSink).count < before + 5, "no full re-send after a restart")
        #expect(await process.terminate(timeout: 25) == 0)
        await simulator.stop()
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(logText.contains("\"msg\":\"configuration reloaded\""), "JSON logs, one line per event")
        #expect(!logText.contains("hook-secret-first"), "no secret in the logs")
    }
}
