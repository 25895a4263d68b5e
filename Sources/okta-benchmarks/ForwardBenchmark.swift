import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NeuronsSinks
import OktaClient
import OktaSimulator
import SQLiteStore

/// The forwarding benchmark of SPEC §14: records per second from the outbox to an HTTP sink (a
/// local Neurons stand-in over loopback), against sending the same batches without the outbox as
/// the baseline; and a reconcile of an unchanged org, which must forward zero records.
struct ForwardBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward", abstract: "Outbox → HTTP sink records/s; an unchanged reconcile forwards nothing.")

    @Option(help: "Records queued in the outbox.") var records = 100_000
    @Option(help: "Records per batch.") var batchSize = 500

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-forward-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)

        // A local Neurons stand-in: token endpoint and ingestion endpoint that read the body and accept.
        let router = Router()
        router.post("/token") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: #"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#)))
        }
        router.post("/ingest") { request, _ -> Response in
            var copy = request
            _ = try await copy.collectBody(upTo: 64 << 20)
            return Response(status: .ok)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let sinkSettings = HTTPSinkSettings(
            endpoint: URL(string: "http://127.0.0.1:\(port)/ingest")!,
            tokenURL: URL(string: "http://127.0.0.1:\(port)/token")!,
            clientId: "bench", clientSecret: Secret("bench"), scope: nil, batchSize: batchSize, caFile: nil)
        let (sink, _) = ConnectorAssembly.neuronsSink(sinkSettings, httpClient: http, clock: SystemWallClock())
        let environment = ConnectorEnvironment(
            store: store, httpClient: http, gate: RunGate(leases: store, logger: logger), clock: SystemWallClock(),
            logger: logger)

        // Queue the records: realistic mapped users from the simulator's generator.
        let blueprint = OrgBlueprint(seed: 7, userCount: records)
        let org = SimulatedOrg(blueprint: blueprint)
        let simulatorView = SnapshotMaker(org: org)
        var queued = 0
        var next: Int? = 0
        var sample: [SinkRecord] = []
        while let from = next {
            let page = org.users(from: from, limit: 1000, status: { _ in true })
            let changes = page.users.map { user -> UserChange in
                let snapshot = simulatorView.snapshot(user)
                return .upsert(snapshot: snapshot, record: UserMapper().record(for: snapshot))
            }
            if sample.count < records {
                for case .upsert(_, let record) in changes {
                    sample.append(
                        SinkRecord(
                            operation: "upsert", key: record.key, version: 1,
                            attributesJSON: record.canonicalAttributesJSON))
                }
            }
            _ = try await store.commit(UserWriteBatch(connector: "bench", changes: changes, at: Timestamp(Date())))
            queued += changes.count
            next = page.next
        }

        // Baseline: the same batches sent straight to the sink, no outbox.
        let baselineStarted = ContinuousClock.now
        for start in stride(from: 0, to: sample.count, by: batchSize) {
            try await sink.deliver(
                SinkBatch(
                    connector: "bench", batchId: "baseline-\(start)",
                    records: Array(sample[start..<min(sample.count, start + batchSize)])))
        }
        let baselineSeconds = (ContinuousClock.now - baselineStarted).seconds

        let bench = try ConnectorAssembly.assemble(
            try Self.connector("bench", okta: "http://127.0.0.1:\(port)", sink: .http(sinkSettings)), in: environment)
        let started = ContinuousClock.now
        let forwarded = try await bench.runtime.operations.forwardQueued().records
        let seconds = (ContinuousClock.now - started).seconds
        print("forwarding benchmark: outbox (SQLite) → HTTP sink on loopback, \(batchSize) records per batch")
        print("records   seconds  records/s  baseline records/s (same batches, no outbox)  ratio")
        print(
            "\(String(queued).leftPad(7))  \(format(seconds, 2).leftPad(7))  \(format(Double(forwarded) / seconds, 0).leftPad(9))  "
                + "\(format(Double(sample.count) / baselineSeconds, 0).leftPad(43))  \(format(baselineSeconds / seconds, 2).leftPad(5))"
        )

        // An unchanged org's second reconcile forwards zero records.
        var options = SimulatorOptions()
        options.users = 2000
        options.rateLimits = nil
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let zero = try ConnectorAssembly.assemble(
            try Self.connector("zero", okta: simulator.baseURL, sink: .http(sinkSettings)), in: environment)
        let operations = zero.runtime.operations
        _ = try await operations.reconcile(ReconcileOptions(trigger: .manual))
        let first = try await operations.forwardQueued().entries
        _ = try await operations.reconcile(ReconcileOptions(trigger: .manual))
        let second = try await operations.forwardQueued().entries
        print(
            "unchanged reconcile: first run forwarded \(first) records, the second (nothing changed) forwarded \(second)"
        )
        await simulator.stop()
        try await http.shutdown()
    }

    /// A benchmark connector on an Okta org and a sink.
    static func connector(_ slug: String, okta: String, sink: SinkSettings) throws -> ConnectorSettings {
        ConnectorSettings(
            name: slug, slug: slug, server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: okta)!, credentials: .apiToken(Secret("sim-api-token")), rateLimitShare: 0.5),
            userStatuses: OktaUserStatus.allCases.filter { $0 != .deprovisioned },
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/\(slug)", authHeader: "Authorization", secrets: [Secret("s")]),
            enrich: EnrichSettings(apps: true, devices: true, plan: .auto), mapper: UserMapper(), sink: sink,
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
    }
}
/// The connector-side view of simulated users (what a reconcile would map).
struct SnapshotMaker {
    let org: SimulatedOrg

    func snapshot(_ user: SimUser) -> UserSnapshot {
        UserSnapshot(user: user.oktaUser, apps: [], devices: [])
    }
}
