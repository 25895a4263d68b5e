public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorEngine
public import ConnectorStore
import Hummingbird
public import Logging
import OktaClient
public import ServiceLifecycle

/// Wires the connector's parts into services (SPEC §1): the HTTPS event hook listener, and per
/// connector run by this process the event applier, the reconcile scheduler and the outbox forwarder.
public struct ConnectorApplication: Sendable {
    /// The services to run in one `ServiceGroup`.
    public let services: [any Service]
    /// The receiver's counts.
    public let receiverStats: ReceiverStats
    /// The appliers by connector slug.
    public let appliers: [String: EventApplier]
    /// The running parts of each connector.
    public let runtimes: [ConnectorRuntime]

    /// Builds the services for a configuration.
    /// - Parameters:
    ///   - configuration: The validated configuration.
    ///   - store: The opened store.
    ///   - httpClient: The process's HTTP client (Okta and, later, the sinks).
    ///   - onServerRunning: Told the listener's port once it listens (tests, the demo).
    public init(
        configuration: ServiceConfiguration, store: any StateStore, httpClient: HTTPClient, clock: any WallClock,
        logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        let connectors = configuration.connectorsForThisServer
        for skipped in configuration.connectors where skipped.server != configuration.server.connectorServer {
            logger.notice(
                "connector not run by this process: its server differs",
                metadata: [
                    "connector": "\(skipped.slug)", "server": "\(skipped.server)",
                    "connector_server": "\(configuration.server.connectorServer)",
                ])
        }
        let gate = RunGate()
        var appliers: [String: EventApplier] = [:]
        var runtimes: [ConnectorRuntime] = []
        var services: [any Service] = []
        for connector in connectors {
            let client = OktaAPIClient.make(for: connector, httpClient: httpClient, clock: clock, logger: logger)
            let applier = EventApplier(connector: connector, store: store, client: client, clock: clock, logger: logger)
            appliers[connector.slug] = applier
            let reconciler = Reconciler(
                connector: connector, client: client, store: store, clock: clock, logger: logger)
            let sink = try RecordSinkFactory.make(
                for: connector, store: store, httpClient: httpClient, clock: clock, logger: logger)
            let snapshots = sink.snapshots
            let scheduler = ReconcileScheduler(
                connector: connector, store: store, clock: clock, gate: gate, logger: logger
            ) { trigger in
                let record = try await reconciler.run(ReconcileOptions(trigger: trigger))
                // The CSV sink writes a complete snapshot after each successful reconcile.
                if record.outcome == .succeeded, let snapshots {
                    do {
                        try await snapshots.writeNow()
                    } catch {
                        logger.error("CSV snapshot after the reconcile failed", metadata: ["error": "\(error)"])
                    }
                }
                return record
            }
            let forwarder = OutboxForwarder(
                connector: connector.slug, store: store, sink: sink.sink, clock: clock, logger: logger,
                batchSize: connector.sink.batchSize)
            if connector.active { services.append(applier) }
            services.append(scheduler)
            services.append(forwarder)
            if let snapshots { services.append(snapshots) }
            runtimes.append(
                ConnectorRuntime(
                    settings: connector, client: client, applier: applier, reconciler: reconciler, forwarder: forwarder,
                    snapshots: snapshots))
        }
        let stats = ReceiverStats()
        let wakers = appliers
        let receiver = EventHookReceiver(
            connectors: connectors, committer: InboxGroupCommitter(inbox: store), stats: stats, clock: clock,
            logger: logger, onStored: { slug in wakers[slug]?.wake() })
        let router = Router()
        receiver.register(on: router, maximumBodyBytes: configuration.server.maxBodyBytes)
        let listen = configuration.server.listen
        let app = Application(
            router: router, server: try HookListener.serverBuilder(tls: configuration.server.tls),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        let metrics = ConnectorMetrics()
        if let admin = configuration.server.admin {
            let adminRouter = Router()
            AdminAPI(
                view: ConnectorRuntimeView(connectors: runtimes, store: store, receiver: stats, gate: gate),
                token: admin.token, metrics: metrics, logger: logger
            ).register(on: adminRouter)
            services.append(
                Application(
                    router: adminRouter,
                    configuration: .init(
                        address: .hostname(admin.listen.host, port: admin.listen.port), serverName: nil),
                    onServerRunning: { channel in await onAdminRunning(channel.localAddress?.port ?? 0) },
                    logger: logger))
        }
        self.runtimes = runtimes
        self.services = [app] + services
        self.receiverStats = stats
        self.appliers = appliers
    }
}
