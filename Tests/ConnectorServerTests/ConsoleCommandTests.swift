import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaSimulator
import SQLiteStore
import Testing

/// The CLI's side of the console's actions, as real processes against the simulator: `runs show`,
/// `resync --all`, `hooks status`.
@Suite("Console actions on the command line (SPEC §11)", .serialized, .timeLimit(.minutes(3)))
struct ConsoleCommandTests {
    static var binary: String { TestProcess.executable("okta-connector") }

    @Test func runsShowResyncAllAndHooksStatus() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("the okta-connector executable was not built at \(Self.binary)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-console-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = SimulatorOptions()
        options.users = 40
        options.rateLimits = nil
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let config = directory.appendingPathComponent("config.yaml").path
        try """
        server: { insecure_plain_http: true }
        store: { url: sqlite://state.db }
        connectors:
          - name: First
            okta: { url: \(simulator.baseURL), allow_insecure_http: true, api_token: sim-api-token }
            schedule: { repeats: daily, start_time: "02:00" }
            event_hook: { secrets: [a-hook-secret-of-at-least-32-bytes-0123456789] }
            sink: { type: ndjson, path: out.ndjson }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        func run(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
            try await TestProcess.run(
                Self.binary, arguments: arguments + ["--config", config],
                log: directory.appendingPathComponent("cli-\(UUID().uuidString).log").path, timeout: 60)
        }

        #expect(try await run(["reconcile", "--connector", "First"]).status == 0)
        let first = try await run(["runs", "show", "1", "--connector", "First"])
        #expect(first.status == 0)
        #expect(first.output.contains("Run 1 of \"First\": succeeded"), "\(first.output)")
        #expect(first.output.contains("GET /api/v1/users"))
        #expect(first.output.contains("errors:      none"))
        #expect(try await run(["runs", "show", "99", "--connector", "First"]).status == 2)
        #expect(
            try await run(["runs", "--connector", "First"]).output.contains("succeeded"), "the list stays the default")

        // A held run names the users it would remove, and how to apply.
        let gone = simulator.org.allUsers().filter { $0.status == .active }.prefix(12).map(\.id)
        for id in gone {
            _ = try simulator.org.apply(.deactivate, to: id)
            _ = try simulator.org.apply(.delete, to: id)
        }
        #expect(try await run(["reconcile", "--connector", "First"]).status == 3, "held by the circuit breaker")
        let held = try await run(["runs", "show", "2", "--connector", "First"])
        #expect(held.output.contains("would remove \(gone.count) users:"), "\(held.output)")
        for id in gone { #expect(held.output.contains(id)) }
        #expect(held.output.contains("--confirm-removals"))

        // Re-send every stored user without calling Okta.
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        let present = try await store.presentUserCount(connector: "first")
        let depthBefore = try await store.outboxStats(connector: "first").depth
        simulator.requestCounters.reset()
        #expect(try await run(["resync", "--connector", "First"]).status == 64, "--all is required")
        let resync = try await run(["resync", "--all", "--connector", "First"])
        #expect(resync.status == 0)
        #expect(resync.output.contains("Queued \(present) user records of \"First\" for the sink again."))
        #expect(try await store.outboxStats(connector: "first").depth == depthBefore + present)
        #expect(simulator.requestCounters.snapshot.values.reduce(0, +) == 0, "Okta was not called")

        // No hook delivers to the connector: status says so and exits 1.
        let none = try await run(["hooks", "status"])
        #expect(none.status == 1)
        #expect(none.output.contains("no event hook"))
        let closedPort = freePort()
        _ = try await run(["hooks", "register", "--url", "https://localhost:\(closedPort)/hooks/okta/first"])
        let unverified = try await run(["hooks", "status"])
        #expect(unverified.status == 1)
        #expect(unverified.output.contains("UNVERIFIED"))
        #expect(unverified.output.contains("no hook is both ACTIVE and VERIFIED"))
        await simulator.stop()
    }
}
