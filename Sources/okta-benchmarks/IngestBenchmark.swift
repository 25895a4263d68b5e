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
    var postgresURL: String? = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-ingest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = try SelfSignedCertificate()
        let files = try certificate.write(to: directory.appendingPathComponent("tls"))
        let tls = TLSFiles(certificatePath: files.certificate, privateKeyPath: files.privateKey)
        let connector = benchConnector()
        var stores: [(name: String, store: any StateStore)] = [
            ("sqlite", try await BenchStore.make(postgresURL: nil, directory: directory))
        ]
        if let postgresURL {
            stores.append(("postgresql", try await BenchStore.make(postgresURL: postgresURL, directory: directory)))
        } else {
            print("(no PostgreSQL rows: pass --postgres-url or run under scripts/with-postgres.sh)")
        }
        // The ceiling: the same stack answering 200 without reading or storing anything.
        let bareRouter = Router()
        bareRouter.post(RouterPath(connector.eventHook.path)) { _, _ in Response(status: .ok) }

        // The receiver as `serve` runs it, once per store.
        var receiverPorts: [Int] = []
        for (_, store) in stores {
            let receiverRouter = Router()
            EventHookReceiver(
                connectors: [connector], committer: InboxGroupCommitter(inbox: store), stats: ReceiverStats(),
                clock: SystemWallClock(), logger: logger
            ).register(on: receiverRouter, maximumBodyBytes: 1 << 20)
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
