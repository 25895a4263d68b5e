import ConnectorTestSupport
import Foundation
import Logging
import OktaSimulator
import Testing

/// `okta-connector hooks …` as a real process against the simulator (no `serve` running).
@Suite struct HooksCommandProcessTests {
    static var binary: String { TestProcess.executable("okta-connector") }

    @Test func hooksCommandsRefuseAWrongPathExplainAFailedVerificationListAndDeleteOnlyWhenConfirmed()
        async throws
    {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("the okta-connector executable was not built at \(Self.binary)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-hooks-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = SimulatorOptions()
        options.users = 5
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
        // Nothing listens here, so Okta's verification cannot succeed.
        let closedPort = freePort()
        func run(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
            try await TestProcess.run(
                Self.binary, arguments: ["hooks"] + arguments + ["--config", config],
                log: directory.appendingPathComponent("hooks-\(UUID().uuidString).log").path, timeout: 60)
        }

        let wrongPath = try await run(["register", "--url", "https://localhost:\(closedPort)/hooks/other"])
        #expect(wrongPath.status == 2)
        #expect(wrongPath.output.contains("/hooks/other") && wrongPath.output.contains("/hooks/okta/first"))
        #expect(simulator.eventHooks.isEmpty, "nothing registered with a wrong path")

        let unverified = try await run(["register", "--url", "https://localhost:\(closedPort)/hooks/okta/first"])
        #expect(unverified.status == 1)
        #expect(unverified.output.contains("verification FAILED"))
        #expect(unverified.output.contains("publicly trusted"))
        #expect(unverified.output.contains("hooks verify"))
        let hook = try #require(simulator.eventHooks.first)
        #expect(hook.verificationStatus == "UNVERIFIED")

        let list = try await run(["list"])
        #expect(list.status == 0)
        #expect(list.output.contains(hook.id ?? "?") && list.output.contains("UNVERIFIED"))
        #expect(list.output.contains("First"), "the hook's path is the connector's")

        let unconfirmed = try await run(["delete"])
        #expect(unconfirmed.status == 2, "no terminal and no --yes: nothing deleted")
        #expect(simulator.eventHooks.count == 1)

        let deleted = try await run(["delete", "--yes"])
        #expect(deleted.status == 0)
        #expect(simulator.eventHooks.isEmpty)
        await simulator.stop()
    }
}
