import ArgumentParser
import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import ConnectorStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import OktaSimulator
import Synchronization

/// The ingest benchmark of SPEC §14: deliveries per second and acknowledgement latency over HTTPS
/// with full durability (each `200` after the inbox transaction committed: SQLite `synchronous=FULL`,
/// PostgreSQL with its default `synchronous_commit=on`), beside the same server stack answering a
/// bare `200 OK` as the ceiling. PostgreSQL rows when a server is given (`--postgres-url`, or
/// `OKTA_TEST_POSTGRES_URL` as `scripts/with-postgres.sh` sets it).
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Event hook deliveries/s and p50/p99 acknowledgement latency over HTTPS.")

    @Option(help: "Concurrent senders to measure.") var concurrency: [Int] = [1, 8, 32]
    @Option(help: "Seconds per measurement.") var seconds: Double = 5
    @Option(help: "Events per delivery.") var events = 1
    @Option(help: "A PostgreSQL server to measure beside SQLite (a database of its own is created on it).")
    var postgresURL: String = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"] ?? ""
    @Option(
        help:
            "The load generator: `wrk` (Debian's wrk with a Lua script, in its own process, so the figures are the server's alone) or `in-process`."
    )
    var loadGenerator: LoadGenerator = .inProcess

    enum LoadGenerator: String, ExpressibleByArgument {
        case wrk
        case inProcess = "in-process"
    }

    /// Runs `body` with the stores measured open and running: SQLite in `directory`, and PostgreSQL
    /// when a server is given; each is closed (its database dropped) once `body` ends.
    func withMeasuredStores(
        in directory: URL, _ body: ([(name: String, store: any StateStore)]) async throws -> Void
    ) async throws {
        try await BenchStore.using(postgresURL: nil, directory: directory) { sqlite in
            guard !postgresURL.isEmpty else {
                print("(no PostgreSQL rows: pass --postgres-url or run under scripts/with-postgres.sh)")
                return try await body([("sqlite", sqlite)])
            }
            try await BenchStore.using(postgresURL: postgresURL, directory: directory) { postgresql in
                try await body([("sqlite", sqlite), ("postgresql", postgresql)])
            }
        }
    }

    /// A scratch folder (the caller removes it) holding a self-signed certificate for the listener.
    func scratch() throws -> (directory: URL, certificate: SelfSignedCertificate, tls: TLSFiles) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = try SelfSignedCertificate()
        let files = try certificate.write(to: directory.appendingPathComponent("tls"))
        return (directory, certificate, TLSFiles(certificatePath: files.certificate, privateKeyPath: files.privateKey))
    }

    func run() async throws {
        if loadGenerator == .wrk {
            try await runWithWrk()
            return
        }
        let (directory, certificate, tls) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withMeasuredStores(in: directory) { stores in
            try await measureInProcess(stores, certificate: certificate, tls: tls)
        }
    }

    /// The in-process load generator's measurements: each store's receiver beside the bare-TLS
    /// ceiling, then half of the best durable rate, paced.
    func measureInProcess(
        _ stores: [(name: String, store: any StateStore)], certificate: SelfSignedCertificate, tls: TLSFiles
    ) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let connector = benchConnector()
        // The ceiling: the same stack answering 200 without reading or storing anything.
        let bareRouter = Router()
        bareRouter.post(RouterPath(connector.eventHook.path)) { _, _ in Response(status: .ok) }

        // The receiver as `serve` runs it, once per store.
        var receiverPorts: [Int] = []
        for (_, store) in stores {
            let receiverRouter = buildHookRouter(
                receiver: EventHookReceiver(
                    connectors: [connector], committer: InboxGroupCommitter(inbox: store), stats: ReceiverStats(),
                    clock: SystemWallClock(), logger: logger),
                maximumBodyBytes: 1 << 20)
            receiverPorts.append(try await start(receiverRouter, tls: tls, logger: logger))
        }
        let barePort = try await start(bareRouter, tls: tls, logger: logger)
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.additionalTrustRoots = [
            .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)))
        ]
        var configuration = HTTPClient.Configuration(tlsConfiguration: clientTLS)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

        print(
            "ingest benchmark: HTTPS (TLS 1.2+, HTTP/1.1 keep-alive), \(events) event(s) per delivery, \(format(seconds, 0)) s per row"
        )
        print(
            "receivers: SQLite WAL synchronous=FULL, PostgreSQL synchronous_commit=on, both with group commit; "
                + "ceiling: the same server stack answering a bare 200 OK")
        print("store       senders  ceiling/s  ceiling p50/p99 ms  durable/s  durable p50/p99 ms  durable/ceiling")
        var best = [Double](repeating: 0, count: stores.count)
        for senders in concurrency {
            // The ceiling measured next to each store's row, so that both see the same machine state.
            for (index, (name, _)) in stores.enumerated() {
                let ceiling = try await measure(client, port: barePort, senders: senders, rate: nil)
                let durable = try await measure(client, port: receiverPorts[index], senders: senders, rate: nil)
                best[index] = max(best[index], durable.perSecond)
                print(
                    "\(name.padding(toLength: 10, withPad: " ", startingAt: 0))  \(String(senders).leftPad(7))  "
                        + "\(format(ceiling.perSecond, 0).leftPad(9))  "
                        + "\((format(ceiling.p50, 2) + " / " + format(ceiling.p99, 2)).leftPad(18))  "
                        + "\(format(durable.perSecond, 0).leftPad(9))  \((format(durable.p50, 2) + " / " + format(durable.p99, 2)).leftPad(18))  "
                        + "\(format(durable.perSecond / ceiling.perSecond, 2).leftPad(15))")
            }
        }
        // At half the best durable throughput, paced (open loop): the latency Okta sees on a normal day.
        for (index, (name, store)) in stores.enumerated() {
            let half = best[index] / 2
            let paced = try await measure(client, port: receiverPorts[index], senders: 16, rate: half)
            print(
                "\(name) at half load (\(format(half, 0))/s offered, paced): \(format(paced.perSecond, 0))/s acknowledged, "
                    + "p50 \(format(paced.p50, 2)) ms, p99 \(format(paced.p99, 2)) ms (target p99 < 10 ms)")
            let stored = try await store.inboxDepth(connector: connector.slug)
            print("\(name): events committed to the inbox during the run: \(stored)")
        }
        try await client.shutdown()
    }

    struct Measurement {
        var perSecond: Double
        var p50: Double
        var p99: Double
    }

    func measure(_ client: HTTPClient, port: Int, senders: Int, rate: Double?) async throws -> Measurement {
        let url = "https://localhost:\(port)/hooks/okta/bench"
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let interval: Duration? = rate.map { .nanoseconds(Int64(Double(senders) / $0 * 1e9)) }
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for sender in 0..<senders {
                group.addTask {
                    var samples: [Double] = []
                    var next = ContinuousClock.now + (interval.map { $0 * Double(sender) / Double(senders) } ?? .zero)
                    while ContinuousClock.now < end {
                        if let interval {
                            try await Task.sleep(until: next, clock: .continuous)
                            next += interval
                        }
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "bench-secret")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: deliveryBody()))
                        let started = ContinuousClock.now
                        let response = try await client.execute(request, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        guard response.status == .ok else { throw ValidationError("answer \(response.status)") }
                        samples.append((ContinuousClock.now - started).seconds * 1000)
                    }
                    return samples
                }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return all.sorted()
        }
        guard !latencies.isEmpty else { return Measurement(perSecond: 0, p50: 0, p99: 0) }
        return Measurement(
            perSecond: Double(latencies.count) / seconds, p50: latencies[latencies.count / 2],
            p99: latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))])
    }

    func deliveryBody() -> String {
        let now = Timestamp(Date()).iso8601
        let list = (0..<events).map { _ in
            """
            {"uuid":"\(UUID().uuidString)","published":"\(now)","eventType":"user.session.start","version":"0","severity":"INFO",
             "actor":{"id":"00uBENCH\(Int.random(in: 0..<100_000))","type":"User","alternateId":"u@example.com","displayName":"U"},
             "outcome":{"result":"SUCCESS"},"target":[]}
            """
        }.joined(separator: ",")
        return """
            {"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","eventId":"\(UUID().uuidString)",
             "eventTime":"\(now)","contentType":"application/json","data":{"events":[\(list)]}}
            """
    }

    // MARK: - wrk

    /// The same measurements with `wrk` as the load generator, in its own process: the receiver on
    /// SQLite and (with a server URL) on PostgreSQL, each beside the bare-TLS ceiling; then half of
    /// the best durable rate, paced by wrk's `delay()` per connection.
    func runWithWrk() async throws {
        let (directory, _, tls) = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("delivery.lua")
        try Self.wrkScript(events: events).write(to: script, atomically: true, encoding: .utf8)
        try await withMeasuredStores(in: directory) { stores in
            try await runWithWrk(stores, tls: tls, script: script)
        }
    }

    /// wrk's measurements on the stores' receivers (``runWithWrk()``).
    func runWithWrk(_ stores: [(name: String, store: any StateStore)], tls: TLSFiles, script: URL) async throws {
        let logger: Logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .critical
            return logger
        }()
        let connector = benchConnector()

        let bareRouter = Router()
        bareRouter.post(RouterPath(connector.eventHook.path)) { _, _ in Response(status: .ok) }
        let barePort = try await start(bareRouter, tls: tls, logger: logger)

        print(
            "ingest benchmark: wrk \(Self.wrkVersion()) in its own process (2 threads), HTTPS keep-alive, \(events) event(s) per delivery, \(format(seconds, 0)) s per row"
        )
        print("receiver: group commit, each 200 after the inbox transaction committed (SQLite WAL synchronous=FULL)")
        print("store       senders  ceiling/s  ceiling p50/p99 ms  durable/s  durable p50/p99 ms  durable/ceiling")
        for (name, store) in stores {
            let receiverRouter = buildHookRouter(
                receiver: EventHookReceiver(
                    connectors: [connector], committer: InboxGroupCommitter(inbox: store), stats: ReceiverStats(),
                    clock: SystemWallClock(), logger: logger),
                maximumBodyBytes: 1 << 20)
            let receiverPort = try await start(receiverRouter, tls: tls, logger: logger)
            var best = 0.0
            var bestAt8: (Double, Double)?
            for senders in concurrency {
                let ceiling = try wrk(port: barePort, senders: senders, script: script, delayMilliseconds: 0)
                let durable = try wrk(port: receiverPort, senders: senders, script: script, delayMilliseconds: 0)
                best = max(best, durable.perSecond)
                if senders == 8 { bestAt8 = (durable.perSecond, durable.p50) }
                print(
                    name.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                        + "\(String(senders).leftPad(7))  \(format(ceiling.perSecond, 0).leftPad(9))  "
                        + "\((format(ceiling.p50, 2) + " / " + format(ceiling.p99, 2)).leftPad(18))  "
                        + "\(format(durable.perSecond, 0).leftPad(9))  \((format(durable.p50, 2) + " / " + format(durable.p99, 2)).leftPad(18))  "
                        + "\(format(durable.perSecond / ceiling.perSecond, 2).leftPad(15))")
            }
            // Half of the best durable rate from 8 connections, each pausing between deliveries.
            let (rate, p50) = bestAt8 ?? (best, 1)
            let half = rate / 2
            let pause = max(0, 8 / half * 1000 - p50)
            let paced = try wrk(port: receiverPort, senders: 8, script: script, delayMilliseconds: pause)
            print(
                "\(name): at half load (\(format(half, 0))/s aimed at, 8 connections pausing \(format(pause, 2)) ms): "
                    + "\(format(paced.perSecond, 0))/s, p50 \(format(paced.p50, 2)) ms, p99 \(format(paced.p99, 2)) ms (target p99 < 10 ms)"
            )
            print("\(name): events committed to the inbox: \(try await store.inboxDepth(connector: connector.slug))")
        }
    }

    /// One wrk run; its Lua `done()` prints the figures as one JSON line.
    func wrk(port: Int, senders: Int, script: URL, delayMilliseconds: Double) throws -> Measurement {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let threads = min(2, senders)
        process.arguments = [
            "wrk", "-t", String(threads), "-c", String(senders), "-d", "\(Int(seconds.rounded(.up)))s",
            "--timeout", "10s", "-s", script.path, "https://localhost:\(port)/hooks/okta/bench",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["INGEST_DELAY_MS"] = String(format: "%.3f", delayMilliseconds)
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            throw ValidationError("cannot run wrk (apt-get install wrk, or scripts/bench-ingest.sh): \(error)")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{\"requests\"") })
        else { throw ValidationError("wrk failed (status \(process.terminationStatus)): \(output)") }
        struct Summary: Decodable {
            var requests: Int
            var duration_us: Double
            var errors: Int
            var p50_us: Double
            var p99_us: Double
        }
        let summary = try JSONDecoder().decode(Summary.self, from: Data(line.utf8))
        guard summary.errors == 0 else {
            throw ValidationError("wrk saw \(summary.errors) failed deliveries (non-200 or socket errors): \(output)")
        }
        return Measurement(
            perSecond: Double(summary.requests) / (summary.duration_us / 1e6), p50: summary.p50_us / 1000,
            p99: summary.p99_us / 1000)
    }

    static func wrkVersion() -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["wrk", "--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return "?" }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: " ").dropFirst().first.map(String.init) ?? "?"
    }

    /// Deliveries with an `eventId` and event `uuid`s unique across threads and runs, so that none
    /// is deduplicated; `delay()` paces each connection for the half-load row.
    static func wrkScript(events: Int) -> String {
        #"""
        local counter = 0
        local threads = {}
        local pause = tonumber(os.getenv("INGEST_DELAY_MS") or "0")
        local events = \#(events)

        function setup(thread)
          table.insert(threads, thread)
          thread:set("number", #threads)
        end

        function init(args)
          prefix = string.format("%08x%04x", os.time() % 4294967296, (number or 0) % 65536)
          math.randomseed(os.time() * 1000 + (number or 0))
          prefix = prefix .. string.format("%04x", math.random(0, 65535))
        end

        function request()
          counter = counter + 1
          local now = os.date("!%Y-%m-%dT%H:%M:%S.000Z")
          local list = {}
          for index = 1, events do
            local uuid = string.format("%s-%04x-4000-8000-%012x", string.sub(prefix, 1, 8), index % 65536, counter)
            uuid = uuid .. string.sub(prefix, 9)
            list[index] = '{"uuid":"' .. uuid .. '","published":"' .. now
              .. '","eventType":"user.session.start","version":"0","severity":"INFO",'
              .. '"actor":{"id":"00uBENCH' .. (counter % 100000) .. '","type":"User","alternateId":"u@example.com","displayName":"U"},'
              .. '"outcome":{"result":"SUCCESS"},"target":[]}'
          end
          local body = '{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",'
            .. '"eventId":"wrk-' .. prefix .. '-' .. counter .. '","eventTime":"' .. now
            .. '","contentType":"application/json","data":{"events":[' .. table.concat(list, ",") .. ']}}'
          return wrk.format("POST", nil,
            {["Authorization"] = "bench-secret", ["Content-Type"] = "application/json"}, body)
        end

        function delay()
          return pause
        end

        function done(summary, latency, requests)
          local e = summary.errors
          io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
            summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
            latency:percentile(50), latency:percentile(99)))
        end
        """#
    }

    func start(_ router: Router<BasicRequestContext>, tls: TLSFiles, logger: Logger) async throws -> Int {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, server: try HookListener.serverBuilder(tls: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        return await iterator.next() ?? 0
    }

    func benchConnector() -> ConnectorSettings {
        ConnectorSettings(
            name: "bench", slug: "bench", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: "https://example.okta.com")!, credentials: .apiToken(Secret("x")), rateLimitShare: 0.5),
            userStatuses: [.active],
            schedule: try! Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/bench", authHeader: "Authorization", secrets: [Secret("bench-secret")]),
            enrich: EnrichSettings(apps: true, devices: true, plan: .auto), mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
    }
}
