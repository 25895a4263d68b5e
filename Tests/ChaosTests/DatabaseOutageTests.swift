import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import NIOHTTP1
import PostgreSQLStore
import PostgresNIO
import Testing

/// A PostgreSQL server of the test's own (initdb and pg_ctl from the installed PostgreSQL, in a
/// temporary folder, on a free loopback port), which the test can stop and start again: the
/// shared server of `scripts/with-postgres.sh` is not the test's to stop.
final class LocalPostgres: @unchecked Sendable {
    let bin: String
    let folder: URL
    let port = freePort()
    let password = "outage-\(UUID().uuidString.prefix(8))"
    /// PostgreSQL refuses to run as root: then every command runs as the `postgres` user.
    private let prefix: [String]

    /// The newest installed server's programs, if any.
    static var installedBin: String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    init(bin: String) throws {
        self.bin = bin
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "okta-outage-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        prefix = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
    }

    /// Creates the cluster (a superuser `okta` with the password).
    func create() async throws {
        if getuid() == 0 { try await run(["/bin/chown", "postgres", folder.path]) }
        let passwordFile = folder.appendingPathComponent("password").path
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        if getuid() == 0 { try await run(["/bin/chown", "postgres", passwordFile]) }
        try await run(
            prefix + [
                "\(bin)/initdb", "-D", folder.appendingPathComponent("data").path, "-U", "okta",
                "--pwfile=\(passwordFile)", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
            ])
    }

    var url: String { "postgres://okta@127.0.0.1:\(port)/postgres?sslmode=disable" }

    /// Starts the server and waits until it accepts connections.
    func start() async throws {
        try await run(
            prefix + [
                "\(bin)/pg_ctl", "-D", folder.appendingPathComponent("data").path,
                "-l", folder.appendingPathComponent("server.log").path, "-w", "-t", "60",
                "-o", "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1", "start",
            ])
    }

    /// Stops the server at once, as a crash or a lost host would (no shutdown checkpoint).
    func stopImmediately() async throws {
        try await run(
            prefix + [
                "\(bin)/pg_ctl", "-D", folder.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop",
            ])
    }

    /// Stops the server if it runs and removes its folder (for a test's `defer`, without blocking it).
    func destroy() {
        let stop = Process()
        stop.executableURL = URL(fileURLWithPath: prefix.first ?? "\(bin)/pg_ctl")
        stop.arguments =
            Array(prefix.dropFirst()) + (prefix.isEmpty ? [] : ["\(bin)/pg_ctl"])
            + ["-D", folder.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"]
        stop.standardOutput = FileHandle.nullDevice
        stop.standardError = FileHandle.nullDevice
        guard (try? stop.run()) != nil else {
            try? FileManager.default.removeItem(at: folder)
            return
        }
        // On a thread of its own, not the caller's (see onOwnThread); not waitUntilExit: it can miss
        // the exit of a child on Linux. The stop takes well under a second.
        let folder = self.folder
        let stopping = stop
        Thread.detachNewThread {
            let end = Date().addingTimeInterval(30)
            while stopping.isRunning, Date() < end { usleep(20_000) }
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// Runs a command to its end (at most two minutes), its output in a log shown on failure.
    /// Spawned and reaped here (posix_spawn, waitpid) rather than through Foundation's `Process`,
    /// which on Linux can miss the exit of `runuser` once `pg_ctl` has left the server running.
    private func run(_ command: [String]) async throws {
        let log = NSTemporaryDirectory() + "okta-outage-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var arguments = command.map { strdup($0) }
        arguments.append(nil)
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, arguments, environ)
        guard spawned == 0 else { throw ChaosError.didNotStart("\(command[0]): posix_spawn failed (\(spawned))") }
        var status: Int32 = 0
        let end = Date().addingTimeInterval(120)
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard Date() < end else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ChaosError.didNotStart("\(command.joined(separator: " ")): still running after 120 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Exited normally with status 0 (the wait status's low 7 bits are the signal, the next 8 the code).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ChaosError.didNotStart("\(command.joined(separator: " ")) (wait status \(status)): \(output)")
        }
    }
}

extension ChaosSuite {
    /// `serve` on PostgreSQL while the database goes away and comes back (SPEC §10, §15), as real
    /// processes: deliveries are answered `503` while it is away (Okta retries them), the process keeps
    /// running and says it is not ready, and once the database is back every acknowledged event is
    /// applied and forwarded. Needs an installed PostgreSQL server (`postgresql-15`); says SKIPPED without.
    @Suite("The database goes away under serve", .serialized, .timeLimit(.minutes(6)))
    struct DatabaseOutageTests {
        static let logger: Logger = {
            var logger = Logger(label: "outage-test")
            logger.logLevel = .critical
            return logger
        }()

        /// One delivery of a profile update about a user; its status, or `nil` without an answer.
        func deliver(_ serve: ServeProcess, user: String, uuid: String) async -> Int? {
            let published = Timestamp(Date()).iso8601
            let body = """
                {"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",\
                "source":"https://chaos.okta.com/api/v1/eventHooks/who1","eventId":"\(UUID().uuidString)",\
                "eventTime":"\(published)","contentType":"application/json","data":{"events":[\
                {"uuid":"\(uuid)","published":"\(published)","eventType":"user.account.update_profile","version":"0",\
                "severity":"INFO","actor":{"id":"00uADMIN","type":"User","alternateId":"a@example.com","displayName":"A"},\
                "outcome":{"result":"SUCCESS","reason":null},"target":[{"id":"\(user)","type":"User",\
                "alternateId":"u@example.com","displayName":"U"}]}]}}
                """
            return await call(
                serve.hookURL, method: .POST, body: body, headers: [("Authorization", serve.secret)], timeout: 10)?
                .status
        }

        @Test func deliveriesAre503WhileTheDatabaseIsAwayAndWorkResumesWhenItIsBack() async throws {
            guard let bin = LocalPostgres.installedBin else {
                print(
                    "SKIPPED: database outage under serve (no PostgreSQL server installed; apt-get install postgresql-15)"
                )
                return
            }
            guard ChaosTests.binariesBuilt else {
                Issue.record("okta-connector and okta-sim must be built")
                return
            }
            let postgres = try LocalPostgres(bin: bin)
            defer { postgres.destroy() }
            try await postgres.create()
            try await postgres.start()

            let directory = try TestDirectory("okta-outage")
            let simulator = try await SimulatorProcess(users: 300, directory: directory)
            defer { simulator.process.stop() }
            let store = "{ url: \"\(postgres.url)\", password: \"${TEST_PG_PASSWORD}\" }"
            let serve = try ServeProcess(
                directory: directory, simulator: simulator,
                sink: "{ type: ndjson, path: \(directory.path("users.ndjson")) }",
                store: store, environment: ["TEST_PG_PASSWORD": postgres.password])
            defer { serve.stop() }
            try await serve.start()
            let users = await simulator.userIds()
            try #require(!users.isEmpty)

            var acknowledged: Set<String> = []
            func send() async -> Int? {
                let uuid = UUID().uuidString.lowercased()
                let status = await deliver(serve, user: users.randomElement()!, uuid: uuid)
                if status == 200 { acknowledged.insert(uuid) }
                return status
            }
            for _ in 0..<20 { #expect(await send() == 200, "deliveries are taken while the database is up") }

            // The database goes away.
            try await postgres.stopImmediately()
            let stoppedAt = Date()
            var firstRefusal: TimeInterval?
            var duringOutage: [Int?] = []
            for _ in 0..<6 {
                let status = await send()
                duringOutage.append(status)
                if status == 503, firstRefusal == nil { firstRefusal = Date().timeIntervalSince(stoppedAt) }
            }
            #expect(duringOutage.allSatisfy { $0 == 503 }, "answers while the database is away: \(duringOutage)")
            #expect(
                await call("http://127.0.0.1:\(serve.adminPort)/readyz", timeout: 10)?.status == 503,
                "not ready while the store is away")
            #expect(serve.isRunning, "serve keeps running")

            // It comes back: deliveries are taken again, and everything acknowledged is applied and forwarded.
            try await postgres.start()
            let restartedAt = Date()
            var resumed: TimeInterval?
            _ = await eventually(timeout: 90) {
                if await send() == 200 {
                    resumed = Date().timeIntervalSince(restartedAt)
                    return true
                }
                try? await Task.sleep(for: .milliseconds(200))
                return false
            }
            let resumedAfter = try #require(resumed, "deliveries taken again once the database is back")
            for _ in 0..<20 { #expect(await send() == 200) }
            #expect(serve.isRunning)

            var location = try PostgreSQLLocation(url: postgres.url)
            location.password = postgres.password
            let settled = try await PostgresChaosStore.drained(location)
            let left = settled ? "" : await PostgresChaosStore.depths(location)
            // Commits that finished after the receiver had answered 503 are found by the applier's own
            // next look (their re-deliveries are duplicates, which wake nobody).
            #expect(settled, "every acknowledged event applied and every change forwarded after the outage (\(left))")
            let drainedAfter = Date().timeIntervalSince(restartedAt)
            let stored = try await PostgresChaosStore.storedEventUUIDs(location)
            let lost = acknowledged.subtracting(stored).count
            #expect(lost == 0, "\(lost) acknowledged events lost")
            let log =
                (try? String(contentsOf: directory.url.appendingPathComponent("serve.log"), encoding: .utf8)) ?? ""
            let poolReplacements = log.components(separatedBy: "the database connection pool was replaced").count - 1
            print(
                "chaos database outage: PostgreSQL stopped (immediate) under serve; first 503 after "
                    + String(format: "%.1f s", firstRefusal ?? -1) + ", \(duringOutage.count) deliveries refused, "
                    + "deliveries taken again " + String(format: "%.1f s", resumedAfter)
                    + " after the database was back, inbox and outbox drained "
                    + String(format: "%.1f s", drainedAfter)
                    + " after it, \(acknowledged.count) events acknowledged, \(lost) lost, connection pool replaced "
                    + "\(poolReplacements) times")
            if settled { directory.remove() } else { print("kept for inspection: \(directory.url.path)") }
        }
    }
}
