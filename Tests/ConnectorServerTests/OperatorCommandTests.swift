import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import SQLiteStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI as an operator meets it, as real processes: a taken port, read-only commands without
/// secrets, a reconcile refused while another process runs one.
@Suite("Operator commands as processes (SPEC §11)", .serialized, .timeLimit(.minutes(3)))
struct OperatorCommandTests {
    static var binary: String { TestProcess.executable("okta-connector") }

    /// A folder with a configuration whose secrets come from variables nobody sets.
    func prepare(listen: Int, admin: Int) throws -> (directory: URL, config: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-operator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "admin-token-of-at-least-32-bytes-0123".write(
            to: directory.appendingPathComponent("admin-token"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("config.yaml").path
        try """
        server:
          listen: 127.0.0.1:\(listen)
          insecure_plain_http: true
          admin: { listen: 127.0.0.1:\(admin), token_file: admin-token }
        store: { url: sqlite://state.db }
        connectors:
          - name: Okta production
            okta:
              url: https://acme.okta.com
              api_token: ${OKTA_OPERATOR_TEST_TOKEN_NEVER_SET}
            schedule: { repeats: daily, start_time: "02:00" }
            event_hook: { secrets: ["${OKTA_OPERATOR_TEST_HOOK_SECRET_NEVER_SET}"] }
            sink: { type: ndjson, path: out.ndjson }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return (directory, config)
    }

    /// Holds a TCP port on 127.0.0.1 (listening) until closed.
    func occupy(_ port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(descriptor, 1)
        return descriptor
    }

    func run(_ arguments: [String], in directory: URL, name: String, environment: [String: String] = [:])
        async throws -> (status: Int32?, output: String)
    {
        let process = try TestProcess(
            Self.binary, arguments: arguments, log: directory.appendingPathComponent("\(name).log").path,
            environment: environment)
        let status = await process.waitForExit(timeout: 60)
        if status == nil { await process.terminate(timeout: 2) }
        return (status, process.output)
    }

    @Test func serveWithATakenPortFailsAtOnceNamingTheListenerAndTheAddress() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("the okta-connector executable was not built at \(Self.binary)")
            return
        }
        let listenPort = freePort()
        let adminPort = freePort()
        let (directory, config) = try prepare(listen: listenPort, admin: adminPort)
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = [
            "OKTA_OPERATOR_TEST_TOKEN_NEVER_SET": "token",
            "OKTA_OPERATOR_TEST_HOOK_SECRET_NEVER_SET": "secret-of-at-least-32-bytes-0123456789",
        ]
        let taken = occupy(listenPort)
        let hook = try await run(["serve", "--config", config], in: directory, name: "hook", environment: environment)
        close(taken)
        #expect(hook.status != nil && hook.status != 0)
        #expect(
            hook.output.contains(
                "the event hook listener cannot listen on 127.0.0.1:\(listenPort): address already in use"),
            "\(hook.output)")
        #expect(!hook.output.contains("connector running"))
        #expect(!hook.output.contains("next run at"))
        // The hook listener on port 0 here: the port freed above may meanwhile belong to another test.
        let adminConfig = directory.appendingPathComponent("admin-taken.yaml").path
        try (try String(contentsOfFile: config, encoding: .utf8))
            .replacingOccurrences(of: "127.0.0.1:\(listenPort)", with: "127.0.0.1:0")
            .write(toFile: adminConfig, atomically: true, encoding: .utf8)
        let adminTaken = occupy(adminPort)
        let admin = try await run(
            ["serve", "--config", adminConfig], in: directory, name: "admin", environment: environment)
        close(adminTaken)
        #expect(admin.status != nil && admin.status != 0)
        #expect(
            admin.output.contains("the admin listener cannot listen on 127.0.0.1:\(adminPort): address already in use"),
            "\(admin.output)")
    }

    @Test func readOnlyCommandsNeedNoSecretsAndReconcileNamesTheProcessRunningOne() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("the okta-connector executable was not built at \(Self.binary)")
            return
        }
        let (directory, config) = try prepare(listen: freePort(), admin: freePort())
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, arguments) in [
            ("status", ["status", "--config", config]),
            ("runs", ["runs", "--config", config, "--connector", "Okta production"]),
            ("dead-letters", ["dead-letters", "list", "--config", config, "--connector", "okta-production"]),
            ("events", ["events", "list-failed", "--config", config, "--connector", "okta-production"]),
        ] {
            let result = try await run(arguments, in: directory, name: name)
            #expect(result.status == 0, "\(name) without secrets: \(result.output)")
        }
        let status = try await run(["status", "--config", config], in: directory, name: "status-text")
        #expect(status.output.contains("not scheduled yet (serve has not run)"), "\(status.output)")
        // A command that calls Okta still says which variable is missing.
        let reconcile = try await run(
            ["reconcile", "--config", config, "--connector", "okta-production"], in: directory, name: "reconcile")
        #expect(reconcile.status == 2)
        #expect(reconcile.output.contains("OKTA_OPERATOR_TEST_TOKEN_NEVER_SET"))

        // Another live process (pid 1 on this host) runs a reconcile of the connector.
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        let other = ProcessIdentity(host: ProcessIdentity.current.host, pid: 1, incarnation: "serve")
        let now = Date()
        _ = try await store.acquireRunLease(
            connector: "okta-production", holder: other, at: Timestamp(now),
            expiresAt: Timestamp(now.addingTimeInterval(300)))
        let busy = try await run(
            ["reconcile", "--config", config, "--connector", "okta-production"], in: directory, name: "busy",
            environment: [
                "OKTA_OPERATOR_TEST_TOKEN_NEVER_SET": "token",
                "OKTA_OPERATOR_TEST_HOOK_SECRET_NEVER_SET": "secret-of-at-least-32-bytes-0123456789",
            ])
        #expect(busy.status == 4, "\(busy.output)")
        #expect(
            busy.output.contains(
                "a reconcile of okta-production is running in process 1 on host \(ProcessIdentity.current.host) since"),
            "\(busy.output)")
        #expect(busy.output.contains("try again when it ends"))
        #expect(try await store.runs(connector: "okta-production", limit: 5).isEmpty, "no second run was started")
    }
}
