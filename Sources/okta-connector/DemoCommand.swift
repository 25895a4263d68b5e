import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorServer
import ConnectorStore
import Foundation
import Logging
import OktaClient
import OktaSimulator
import ServiceLifecycle
import UnixSignals

/// `okta-connector demo`: the simulator and the connector together on the embedded defaults.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a simulated Okta org and the connector against it, and watch records arrive.",
        discussion: """
            No Okta account needed. Starts the Okta simulator with a few thousand users, runs the \
            connector on the embedded defaults (SQLite, NDJSON sink, a self-signed certificate made on \
            the spot), registers and verifies its event hook, runs the initial reconcile, then makes \
            changes in the simulated org and prints the changed records as they reach the sink (the \
            initial reconcile's records are counted, not printed). Ctrl-C stops it.
            """
    )

    @Option(help: "Users in the simulated org.") var users = 3000
    @Option(help: "Changes per second made in the simulated org.") var changes: Double = 1
    @Option(help: "Folder for the demo's files (default: a new temporary folder).") var directory: String?
    @Option(help: "Stop after this many seconds (0: run until Ctrl-C).") var seconds: Double = 0
    @Option(
        help:
            "Where events come from: hooks (Okta posts to the listener), system_log (the connector polls Okta's System Log every 10 s; no hook is registered), or both."
    )
    var eventSource: EventSourceArgument = .hooks

    @Option(help: "Seconds Ctrl-C may take to stop everything (a running reconcile is cancelled).")
    var shutdownTimeout: Double = 5

    func run() async throws {
        let folder = URL(
            fileURLWithPath: directory
                ?? FileManager.default.temporaryDirectory
                .appendingPathComponent("okta-connector-demo-\(Int(Date().timeIntervalSince1970))").path)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let level: Logger.Level = ProcessInfo.processInfo.environment["OKTA_DEMO_DEBUG"] != nil ? .debug : .warning

        say("okta-connector demo — files in \(folder.path)")
        say("1. Starting a simulated Okta org with \(users) users (seeded, realistic profiles, apps and devices)…")
        let certificate = try SelfSignedCertificate()
        let tls = try certificate.write(to: folder.appendingPathComponent("tls"))
        var options = SimulatorOptions()
        options.users = users
        options.rateLimits = nil
        options.hookTrustRootsPEM = [certificate.certificatePEM]
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        say("   Okta org at \(simulator.baseURL) (API token sim-api-token; rate limits off for the demo)")

        // The listener's port is chosen now, so that the hook's one public URL is in the configuration
        // (event_hook.public_url, the only URL a registration uses) like in a real deployment.
        let port = try Self.freeLoopbackPort()
        let connector = ConnectorSettings(
            name: "Demo org", slug: "demo-org", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: simulator.baseURL)!, credentials: .apiToken(Secret("sim-api-token")),
                rateLimitShare: 0.5),
            userStatuses: OktaUserStatus.allCases.filter { $0 != .deprovisioned },
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/demo-org", authHeader: "Authorization", secrets: [Secret(UUID().uuidString)],
                publicURL: URL(string: "https://localhost:\(port)/hooks/okta/demo-org")),
            enrich: EnrichSettings(apps: true, devices: true, plan: .auto), mapper: UserMapper(),
            sink: .ndjson(
                NDJSONSinkSettings(path: folder.appendingPathComponent("out/users.ndjson").path, batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2), eventSource: eventSource.source)
        let configuration = ServiceConfiguration(
            file: "(demo)",
            server: ServerSettings(
                listen: ListenAddress(host: "127.0.0.1", port: port),
                tls: TLSFiles(certificatePath: tls.certificate, privateKeyPath: tls.privateKey), admin: nil,
                connectorServer: "Cloud", maxBodyBytes: 1 << 20, shutdownTimeout: shutdownTimeout),
            store: StoreSettings(backend: .sqlite(path: folder.appendingPathComponent("state.db").path)),
            logging: LoggingSettings(format: .logfmt, level: level.rawValue), connectors: [connector])
        // Its log lines in its configuration's format, as every command's.
        let logger = CommandSupport.logger(configuration.logging, level: level)
        let ndjson = folder.appendingPathComponent("out/users.ndjson").path
        // The store is open while the connector runs and closed once it has stopped, as for every command.
        try await CommandSupport.withStore(configuration, logger: logger) { store in
            try await runConnector(
                connector, of: configuration, on: store, simulator: simulator, ndjson: ndjson, folder: folder,
                logger: logger)
        }
        say("Stopped. Files of this demo:")
        say("  store (SQLite):      \(folder.appendingPathComponent("state.db").path)")
        say("  sink output (NDJSON): \(ndjson)")
        say("  TLS certificate:     \(tls.certificate)")
    }

    /// Step 2 on: runs the connector on the opened store with the walkthrough beside it until the
    /// walkthrough ends or a signal stops it, then stops the simulated Okta and the connector.
    func runConnector(
        _ connector: ConnectorSettings, of configuration: ServiceConfiguration, on store: any StateStore,
        simulator: OktaSimulator, ndjson: String, folder: URL, logger: Logger
    ) async throws {
        let http = OutgoingHTTPClient.make()
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = try ConnectorApplication(
            configuration: configuration, store: store, httpClient: http, clock: SystemWallClock(), logger: logger,
            onServerRunning: { port in portContinuation.yield(port) })
        say("2. Starting the connector: HTTPS event hook listener, applier, scheduler, forwarder (SQLite at state.db)…")
        let group = ServiceGroup(
            configuration: .bounded(
                services: application.services, shutdownTimeout: configuration.server.shutdownTimeout,
                logger: logger))
        // Ctrl-C (or SIGTERM) ends the walkthrough wherever it is, then everything stops within the bound.
        let stop = await StopSignals(logger: logger)
        let running = Task { try await group.run() }
        let seconds = seconds
        let changes = changes
        do {
            _ = try await stop.untilStopped {
                try await walkthrough(
                    ports: ports, connector: connector, runtimes: { application.runtimes }, store: store,
                    simulator: simulator,
                    ndjson: ndjson, seconds: seconds, changes: changes, logger: logger)
            }
        } catch {
            say("The demo stopped: \(error)")
        }
        if let signal = stop.signal {
            say("\n\(signal): stopping (at most \(Int(shutdownTimeout)) s); the demo's files are in \(folder.path)")
        }
        // The simulated Okta first: its hook deliveries hold connections to the listener open.
        simulator.churn.stop()
        await simulator.stop()
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try? await http.shutdown()
    }

    /// A loopback port free now (bound and released; the listener binds it a moment later).
    static func freeLoopbackPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ValidationError("no socket for the demo's listener port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw ValidationError("no free loopback port for the demo's listener") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Steps 3 to 5: register the hook, wait for the initial reconcile, then churn and show records.
    func walkthrough(
        ports: AsyncStream<Int>, connector: ConnectorSettings, runtimes: @Sendable () -> [ConnectorRuntime],
        store: any StateStore,
        simulator: OktaSimulator, ndjson: String, seconds: Double, changes: Double, logger: Logger
    ) async throws {
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        let hookURL = URL(string: "https://localhost:\(port)\(connector.eventHook.path)")!
        say("   listening at \(hookURL.absoluteString)")

        if connector.eventSource.takesHooks {
            say("3. Registering the event hook in Okta and letting Okta verify it…")
            // The connector starts right after the listener: its operations register the hook. A
            // connector that does not start within 30 s (its sink cannot be opened) ends the demo.
            var runtime = runtimes().first
            let deadline = Date().addingTimeInterval(30)
            while runtime == nil, Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
                runtime = runtimes().first
            }
            guard let runtime else { throw DemoConnectorDidNotStart() }
            say("   " + (await runtime.operations.registerHook(url: "")))
            if connector.eventSource == .both {
                say("   and the connector polls the System Log every 10 s to fill the deliveries Okta misses")
            }
        } else {
            say("3. No event hook: the connector polls Okta's System Log (GET /api/v1/logs) every 10 s instead.")
        }

        say("4. Initial full reconcile (every user listed from the Management API, mapped, written, forwarded)…")
        var lastRun: RunRecord?
        while lastRun == nil || lastRun?.outcome == .running {
            try await Task.sleep(for: .milliseconds(200))
            lastRun = try await store.runs(connector: connector.slug, limit: 1).first
        }
        if let run = lastRun {
            say(
                "   run \(run.id) \(run.outcome.rawValue): \(run.counts.listed) users listed, \(run.counts.created) records created, "
                    + "\(run.oktaCalls.values.reduce(0, +)) Okta calls")
        }
        // The forwarder sends the run's records in batches after the run ended: they are counted
        // here, once they are all out, so that step 5 shows only the live changes.
        let forwarded = try await waitForTheInitialRecords(store: store, connector: connector.slug, ndjson: ndjson)
        var offset = forwarded.bytes
        say(
            "   \(forwarded.records) records of the initial reconcile reached the sink (out/users.ndjson, one JSON line each)"
                + (forwarded.complete
                    ? "" : "; the rest are still being forwarded and will be printed below with the changes"))

        say("5. Now changing the simulated org (\(changes)/s): sign-ins, profile edits, status changes, apps, devices.")
        say(
            "   "
                + (connector.eventSource.takesHooks
                    ? "Okta sends event hooks" : "The connector reads the new events from the System Log")
                + "; the connector applies them and forwards the changed records. Ctrl-C stops.")
        simulator.churn.start(perSecond: changes, duration: nil)
        let end = seconds > 0 ? Date().addingTimeInterval(seconds) : Date.distantFuture
        while Date() < end {
            try await Task.sleep(for: .milliseconds(300))
            guard let handle = FileHandle(forReadingAtPath: ndjson) else { continue }
            try? handle.seek(toOffset: offset)
            let data = handle.readDataToEndOfFile()
            try? handle.close()
            offset += UInt64(data.count)
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                say("   → " + describe(String(line)))
            }
        }
    }

    /// Waits (at most two minutes) until the outbox is empty, then counts the sink file's records.
    /// - Returns: The records in the sink file, its size in bytes, and whether the outbox emptied.
    func waitForTheInitialRecords(
        store: any StateStore, connector: String, ndjson: String
    ) async throws -> (records: Int, bytes: UInt64, complete: Bool) {
        let deadline = Date().addingTimeInterval(120)
        var complete = false
        while Date() < deadline {
            if (try? await store.outboxStats(connector: connector).depth) == 0 {
                complete = true
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let data = FileManager.default.contents(atPath: ndjson) ?? Data()
        return (data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }, UInt64(data.count), complete)
    }

    func describe(_ line: String) -> String {
        guard let json = try? JSONCoding.decode(JSONValue.self, from: line) else { return line }
        let op = json["op"]?.stringValue ?? "?"
        let key = json["key"]?.stringValue ?? "?"
        var version = ""
        if case .integer(let number)? = json["version"] { version = " v\(number)" }
        guard op == "upsert", let attributes = json["attributes"] else { return "\(op) \(key)\(version)" }
        let fields = ["User.FullName", "User.AccountStatus", "User.JobTitle", "User.LastLogon"].compactMap { name in
            attributes[name]?.stringValue.map { "\(name.dropFirst(5))=\($0)" }
        }
        return "upsert \(key)\(version): " + fields.joined(separator: ", ")
    }

    func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
}

/// `--event-source` values.
enum EventSourceArgument: String, ExpressibleByArgument, CaseIterable {
    case hooks
    case systemLog = "system_log"
    case both

    var source: EventSource {
        switch self {
        case .hooks: .hooks
        case .systemLog: .systemLog
        case .both: .both
        }
    }
}

/// The demo's connector did not start (the service group says why in the log).
struct DemoConnectorDidNotStart: Error, CustomStringConvertible {
    var description: String { "the connector did not start within 30 s; see the log lines above" }
}
