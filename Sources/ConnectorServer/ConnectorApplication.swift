public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
import ConnectorEngine
public import ConnectorStore
import Hummingbird
public import Logging
import OktaClient
public import ServiceLifecycle
import Synchronization

/// Wires the connector's parts into services (SPEC §1): the HTTPS event hook listener, and per
/// connector run by this process the event applier, the reconcile scheduler and the outbox forwarder.
public struct ConnectorApplication: Sendable {
    /// The services to run in one `ServiceGroup`.
    public let services: [any Service]
    /// The receiver's counts.
    public let receiverStats: ReceiverStats
    /// Runs the connectors; reloads change it.
    public let supervisor: ConnectorSupervisor
    let reloader: Reloader

    /// The running parts of each connector.
    public var runtimes: [ConnectorRuntime] { supervisor.runtimes }

    /// Applies a reloaded configuration: connectors added, removed, changed, activated or deactivated;
    /// the listeners keep their connections (their own settings need a restart).
    public func reload(_ configuration: ServiceConfiguration) async throws {
        try await reloader.reload(configuration)
    }

    /// Builds the services for a configuration.
    /// - Parameters:
    ///   - configuration: The validated configuration.
    ///   - store: The opened store.
    ///   - httpClient: The process's HTTP client (Okta and, later, the sinks).
    ///   - onServerRunning: Told the listener's port once it listens (tests, the demo).
    public init(
        configuration: ServiceConfiguration, store: any StateStore, httpClient: HTTPClient, clock: any WallClock,
        logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        reload: @escaping @Sendable () async throws -> String = { "no configuration file to reload" }
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
        // One run per connector across every process sharing the store (a CLI `reconcile` included).
        let gate = RunGate(leases: store, logger: logger)
        let stats = ReceiverStats()
        let appliers = ApplierDirectory()
        let supervisor = ConnectorSupervisor(
            initial: connectors, gate: gate, leases: store, clock: clock, logger: logger
        ) {
            connector, health in
            // Every per-connector counter exists at 0 from the start: alerts never see "no data".
            ConnectorMetrics.registerZeroCounters(connector: connector.slug)
            let client = OktaAPIClient.make(for: connector, httpClient: httpClient, clock: clock, logger: logger)
            let fence = WorkerFenceHolder()
            let applier = EventApplier(
                connector: connector, store: store, client: client, clock: clock, logger: logger, health: health,
                fence: fence)
            let reconciler = Reconciler(
                connector: connector, client: client, store: store, clock: clock, logger: logger)
            let sink = try RecordSinkFactory.make(
                for: connector, store: store, httpClient: httpClient,
                fileAccess: configuration.store.fileAccess, clock: clock, logger: logger)
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
                batchSize: connector.sink.batchSize, fence: fence)
            // The sink's lifetime first: the group stops services in reverse, so it is released last.
            var parts = [
                ConnectorPart(name: "sink", service: sink.lifetime, worker: false),
                ConnectorPart(name: "scheduler", service: scheduler, mayFinish: !connector.active),
                ConnectorPart(name: "forwarder", service: forwarder),
            ]
            if connector.active {
                parts.append(ConnectorPart(name: "applier", service: applier))
                appliers.set(connector.slug, applier)
            } else {
                appliers.set(connector.slug, nil)
            }
            if let snapshots { parts.append(ConnectorPart(name: "csv-snapshots", service: snapshots)) }
            // System Log polling (SPEC §17) is a worker part: one replica polls, into the shared inbox.
            var poller: SystemLogPoller?
            if connector.active, connector.eventSource.polls {
                let polling = SystemLogPoller(
                    connector: connector, store: store, client: client, clock: clock, logger: logger, health: health,
                    onStored: { [applier] in applier.wake() }, fence: fence)
                parts.append(ConnectorPart(name: "system-log-poller", service: polling))
                poller = polling
            }
            return (
                ConnectorRuntime(
                    settings: connector, client: client, applier: applier, reconciler: reconciler, forwarder: forwarder,
                    snapshots: snapshots, poller: poller, board: health, fence: fence), parts
            )
        }
        let receiver = EventHookReceiver(
            connectors: connectors, committer: InboxGroupCommitter(inbox: store), stats: stats, clock: clock,
            logger: logger, onStored: { slug in appliers.get(slug)?.wake() })
        let router = Router()
        receiver.register(on: router, maximumBodyBytes: configuration.server.maxBodyBytes)
        let listen = configuration.server.listen
        let app = Application(
            router: router,
            server: try HookListener.serverBuilder(tls: configuration.server.tls, limits: configuration.server.limits),
            configuration: HookListener.configuration(
                address: .hostname(listen.host, port: listen.port), limits: configuration.server.limits,
                logger: logger),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        ConnectorMetrics.bootstrap()
        let metrics = ConnectorMetrics.shared
        var services: [any Service] = [
            supervisor,
            StoreMaintenance(store: store, retention: configuration.store.retention, clock: clock, logger: logger),
        ]
        let adminToken = configuration.server.admin.map { AdminToken($0.token) }
        let reloader = Reloader(
            receiver: receiver, supervisor: supervisor, server: configuration.server, adminToken: adminToken,
            logger: logger)
        if let admin = configuration.server.admin, let adminToken {
            let adminRouter = Router(context: AdminRequestContext.self)
            let hookMonitor = EventHookMonitor(runtimes: { supervisor.runtimes }, clock: clock, logger: logger)
            AdminAPI(
                view: ConnectorRuntimeView(
                    runtimes: { supervisor.runtimes }, store: store, receiver: stats, gate: gate,
                    startManualRun: { supervisor.startManualRun($0, options: $1) }, clock: clock),
                token: adminToken, sessions: ConsoleSessions(lifetime: admin.sessionLifetime, clock: clock),
                signInThrottle: SignInThrottle(clock: clock),
                cookie: ConsoleCookie(secure: admin.tls != nil, lifetime: admin.sessionLifetime), hooks: hookMonitor,
                metrics: metrics, logger: logger, reload: reload
            ).register(on: adminRouter)
            services.append(hookMonitor)
            // HTTPS when configured (same certificate options as the hook listener), with the same
            // request deadline and header limits.
            services.append(
                Application(
                    router: adminRouter,
                    server: try HookListener.serverBuilder(tls: admin.tls),
                    configuration: .init(
                        address: .hostname(admin.listen.host, port: admin.listen.port), serverName: nil),
                    onServerRunning: { channel in await onAdminRunning(channel.localAddress?.port ?? 0) },
                    logger: logger))
        }
        self.supervisor = supervisor
        self.reloader = reloader
        self.services = [app] + services
        self.receiverStats = stats
    }
}

/// The appliers by connector, for waking them when deliveries are stored.
final class ApplierDirectory: Sendable {
    private let appliers = Mutex<[String: EventApplier]>([:])

    func set(_ slug: String, _ applier: EventApplier?) { appliers.withLock { $0[slug] = applier } }
    func get(_ slug: String) -> EventApplier? { appliers.withLock { $0[slug] } }
}

/// Applies reloaded configurations.
struct Reloader: Sendable {
    let receiver: EventHookReceiver
    let supervisor: ConnectorSupervisor
    let server: ServerSettings
    /// The admin token in force, when the admin listener runs.
    let adminToken: AdminToken?
    let logger: Logger

    func reload(_ configuration: ServiceConfiguration) async throws {
        if configuration.server.listen != server.listen || configuration.server.tls != server.tls
            || configuration.server.admin?.listen != server.admin?.listen
            || configuration.server.admin?.tls != server.admin?.tls
            || configuration.server.admin?.sessionLifetime != server.admin?.sessionLifetime
            || configuration.server.limits != server.limits
        {
            logger.warning("listener settings changed: they take effect at the next restart")
        }
        // A rotated admin token takes effect at once: the old one is refused from now on.
        if let adminToken {
            if let admin = configuration.server.admin {
                adminToken.replace(with: admin.token)
            } else {
                logger.warning("server.admin removed: the admin listener keeps its token until the next restart")
            }
        }
        let connectors = configuration.connectorsForThisServer
        receiver.update(connectors: connectors)
        try await supervisor.apply(connectors)
        logger.notice(
            "configuration reloaded", metadata: ["connectors": "\(connectors.map(\.slug).joined(separator: ","))"])
    }
}
