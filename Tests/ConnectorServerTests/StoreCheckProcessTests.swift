import ConnectorTestSupport
import Foundation
import Logging
import OktaSimulator
import PostgreSQLStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `check-config --online` checks the store before `serve` would trip on it, as a real process:
/// a PostgreSQL without TLS under the default `sslmode=verify-full` is reported with what to do,
/// and a SQLite file in a folder that does not exist is reported too. The PostgreSQL cases need
/// `OKTA_TEST_POSTGRES_URL` (scripts/with-postgres.sh, whose server has TLS off); SKIPPED without.
@Suite("check-config --online checks the store", .serialized, .timeLimit(.minutes(3)))
struct StoreCheckProcessTests {
    static let serverURL = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    func checkConfig(
        store: String, in directory: TestDirectory, simulator: OktaSimulator, environment: [String: String] = [:]
    )
        async throws -> (status: Int32?, output: String)
    {
        let config = try directory.write(
            "config-\(UUID().uuidString).yaml",
            """
            server: { insecure_plain_http: true, listen: 127.0.0.1:8443 }
            store: \(store)
            connectors:
              - name: Acme
                okta: { url: \(simulator.baseURL), allow_insecure_http: true, api_token: sim-api-token }
                schedule: { repeats: daily, start_time: "02:00" }
                event_hook: { secrets: [a-secret-of-at-least-32-bytes-0123456789] }
                sink: { type: ndjson, path: \(directory.path("out.ndjson")) }
            """)
        return try await TestProcess.run(
            TestProcess.executable("okta-connector"), arguments: ["check-config", "--online", "--config", config],
            log: directory.path("check-\(UUID().uuidString).log"), timeout: 60, environment: environment)
    }

    func startSimulator() async throws -> OktaSimulator {
        var options = SimulatorOptions()
        options.users = 5
        options.rateLimits = nil
        options.logger.logLevel = .critical
        return try await OktaSimulator.start(options)
    }

    @Test func aSQLiteFileInAFolderThatDoesNotExistIsReported() async throws {
        let directory = try TestDirectory("okta-store-check")
        defer { directory.remove() }
        let simulator = try await startSimulator()
        defer { Task { await simulator.stop() } }
        let missing = directory.path("no-such-folder/state.db")
        let failed = try await checkConfig(
            store: "{ url: \"sqlite://\(missing)\" }", in: directory, simulator: simulator)
        #expect(failed.status == 1, "\(failed.output)")
        #expect(
            failed.output.contains("store: FAILED — the folder \(directory.path("no-such-folder"))"), "\(failed.output)"
        )
        let fine = try await checkConfig(
            store: "{ url: \"sqlite://\(directory.path("state.db"))\" }", in: directory, simulator: simulator)
        #expect(fine.status == 0, "\(fine.output)")
        #expect(fine.output.contains("  store: ok"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("state.db")), "a check creates nothing")
    }

    /// An Okta that takes the connection and never answers: the command says what it is waiting
    /// for before the wait, not after it.
    @Test func whileOktaDoesNotAnswerItSaysWhatItIsWaitingFor() async throws {
        let directory = try TestDirectory("okta-store-check-silent")
        defer { directory.remove() }
        let port = freePort()
        // Listening, never accepting: the kernel completes the connection, nobody ever answers.
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0 && listen(descriptor, 16) == 0)
        let config = try directory.write(
            "config.yaml",
            """
            server: { insecure_plain_http: true, listen: 127.0.0.1:8443 }
            store: { url: "sqlite://\(directory.path("state.db"))" }
            connectors:
              - name: Acme
                okta: { url: "http://127.0.0.1:\(port)", allow_insecure_http: true, api_token: sim-api-token }
                schedule: { repeats: daily, start_time: "02:00" }
                event_hook: { secrets: [a-secret-of-at-least-32-bytes-0123456789] }
                sink: { type: ndjson, path: \(directory.path("out.ndjson")) }
            """)
        let check = try TestProcess(
            TestProcess.executable("okta-connector"), arguments: ["check-config", "--online", "--config", config],
            log: directory.path("check.log"))
        defer { check.stop() }
        let said = await eventually(timeout: 20) {
            check.output.contains("Acme: asking Okta at http://127.0.0.1:\(port)")
        }
        #expect(said, "\(check.output)")
        #expect(check.isRunning, "said while it waits, not after")
        #expect(await check.waitForExit(timeout: 90) == 1, "\(check.output)")
    }

    @Test func aPostgreSQLWithoutTLSUnderTheDefaultSSLModeIsReportedWithWhatToDo() async throws {
        guard let serverURL = Self.serverURL else {
            print("SKIPPED: check-config --online on PostgreSQL (OKTA_TEST_POSTGRES_URL is not set)")
            return
        }
        let server = try PostgreSQLLocation(url: serverURL)
        let directory = try TestDirectory("okta-store-check-pg")
        defer { directory.remove() }
        let simulator = try await startSimulator()
        defer { Task { await simulator.stop() } }
        let environment = ["TEST_PG_PASSWORD": server.password ?? ""]
        // No sslmode: verify-full, the default, against the throwaway server, which has TLS off.
        let base = "postgres://\(server.user)@\(server.host):\(server.port)/\(server.database)"
        let refused = try await checkConfig(
            store: "{ url: \"\(base)\", password: \"${TEST_PG_PASSWORD}\" }", in: directory, simulator: simulator,
            environment: environment)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("store: FAILED"), "\(refused.output)")
        #expect(refused.output.contains("the server does not offer TLS, and sslmode=verify-full (the default)"))
        #expect(refused.output.contains("?sslmode=disable"), "says what to do instead: \(refused.output)")
        #expect(!refused.output.contains(server.password ?? "never-printed"), "no password in the output")

        let wrongPassword = try await checkConfig(
            store: "{ url: \"\(base)?sslmode=disable\", password: not-the-password }", in: directory,
            simulator: simulator)
        #expect(wrongPassword.status == 1)
        #expect(
            wrongPassword.output.contains("authentication failed for user \(server.user)"), "\(wrongPassword.output)")

        let fine = try await checkConfig(
            store: "{ url: \"\(base)?sslmode=disable\", password: \"${TEST_PG_PASSWORD}\" }", in: directory,
            simulator: simulator, environment: environment)
        #expect(fine.status == 0, "\(fine.output)")
        #expect(fine.output.contains("  store: ok"))
    }
}
