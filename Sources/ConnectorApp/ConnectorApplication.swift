public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorEngine
public import ConnectorServer
public import ConnectorStore
public import Logging
public import ServiceLifecycle
import Synchronization

/// The whole service of one process, built from its configuration (SPEC §1): the store and the
/// outgoing HTTP client as services, the connectors under their supervisor, store maintenance, the
/// HTTPS event hook listener and, with `server.admin`, the admin listener.
///
/// `services` are run in one `ServiceGroup`, which stops them in reverse order: the listeners first,
/// then the connectors, and the HTTP client and the store last, once nothing uses them.
public struct ConnectorApplication: Sendable {
    /// The services to run in one `ServiceGroup`, in start order.
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

    /// Builds the services for a configuration on a store and an HTTP client the caller owns (tests,
    /// the demo); ``build(configuration:clock:logger:onServerRunning:onAdminRunning:reload:)`` owns them.
    /// - Parameters:
    ///   - configuration: The validated configuration.
    ///   - store: The opened store.
    ///   - httpClient: The process's outgoing HTTP client.
    ///   - clock: The clock every part goes by.
    ///   - logger: The logger.
    ///   - onServerRunning: Told the hook listener's port once it listens.
    ///   - onAdminRunning: Told the admin listener's port once it listens.
    ///   - reload: Reloads the configuration file (`POST /api/reload`).
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
        ConnectorMetrics.bootstrap()
        let jobs = BackgroundJobs()
        // One run per connector across every process sharing the store (a CLI `reconcile` included).
        let environment = ConnectorEnvironment(
            store: store, httpClient: httpClient, gate: RunGate(leases: store, logger: logger),
            fileAccess: configuration.store.fileAccess, clock: clock, logger: logger, jobs: jobs, fenced: true)
        let supervisor = ConnectorSupervisor(initial: connectors, leases: store, clock: clock, logger: logger) {
            connector, board in
            // Every per-connector counter exists at 0 from the start: alerts never see "no data".
            ConnectorMetrics.registerZeroCounters(connector: connector.slug)
            return try ConnectorAssembly.assemble(connector, in: environment, board: board)
        }
        let stats = ReceiverStats()
        let receiver = EventHookReceiver(
            connectors: connectors, committer: InboxGroupCommitter(inbox: store), stats: stats, clock: clock,
            logger: logger, onStored: { slug in supervisor.runtime(for: slug)?.operations.eventsArrived() })
        // Stopped in reverse: the admin listener, maintenance, operator jobs, the connectors, and the
        // hook listener last, so that deliveries keep being taken while the connectors stop.
        var services: [any Service] = [
            try Listeners.hooks(
                receiver: receiver, server: configuration.server, logger: logger, onRunning: onServerRunning),
            supervisor, jobs,
            StoreMaintenance(store: store, retention: configuration.store.retention, clock: clock, logger: logger),
        ]
        var admin: AdminListener?
        if let settings = configuration.server.admin {
            let view = AdminView(runtimes: { supervisor.runtimes }, store: store, receiver: stats, clock: clock)
            let listener = try AdminListener(
                settings: settings, view: view, logger: logger, reload: reload, onRunning: onAdminRunning)
            services += listener.services
            admin = listener
        }
        self.supervisor = supervisor
        self.reloader = Reloader(
            receiver: receiver, supervisor: supervisor, server: configuration.server, admin: admin,
            configFile: configuration.file, sources: Reloader.Sources(configuration.connectorsForThisServer),
            logger: logger)
        self.services = services
        self.receiverStats = stats
    }

    /// Builds the process's whole service from its configuration: opens the store (migrations
    /// applied before any listener starts) and the outgoing HTTP client, and puts both first in the
    /// services, so that they are given back last, once the connectors and listeners have stopped.
    /// - Parameters:
    ///   - configuration: The validated configuration.
    ///   - clock: The clock every part goes by.
    ///   - logger: The logger (in the configured format; the store's library logs through it too).
    ///   - onServerRunning: Told the hook listener's port once it listens.
    ///   - onAdminRunning: Told the admin listener's port once it listens.
    ///   - reload: Reloads the configuration file.
    /// - Returns: The application.
    /// - Throws: ``StoreError`` when the store cannot be opened; a listener's TLS files that cannot be read.
    public static func build(
        configuration: ServiceConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        reload: @escaping @Sendable () async throws -> String = { "no configuration file to reload" }
    ) async throws -> ConnectorApplication {
        let store = try await StoreOpening.open(configuration.store, logger: logger)
        let httpClient = OutgoingHTTPClient.make()
        let application: ConnectorApplication
        do {
            application = try ConnectorApplication(
                configuration: configuration, store: store, httpClient: httpClient, clock: clock, logger: logger,
                onServerRunning: onServerRunning, onAdminRunning: onAdminRunning, reload: reload)
        } catch {
            try? await httpClient.shutdown()
            await store.close()
            throw error
        }
        return application.owning(store: store, httpClient: httpClient)
    }

    /// The same application with the store's and the HTTP client's lifetimes first among its services.
    func owning(store: any StateStore, httpClient: HTTPClient) -> ConnectorApplication {
        ConnectorApplication(
            services: [StoreLifetime(store: store), HTTPClientLifetime(client: httpClient)] + services,
            receiverStats: receiverStats, supervisor: supervisor, reloader: reloader)
    }

    private init(
        services: [any Service], receiverStats: ReceiverStats, supervisor: ConnectorSupervisor, reloader: Reloader
    ) {
        self.services = services
        self.receiverStats = receiverStats
        self.supervisor = supervisor
        self.reloader = reloader
    }
}

/// Applies reloaded configurations.
struct Reloader: Sendable {
    let receiver: EventHookReceiver
    let supervisor: ConnectorSupervisor
    let server: ServerSettings
    /// The admin listener, when it runs (its token rotates at once).
    let admin: AdminListener?
    /// The configuration file, for the commands a warning names.
    let configFile: String
    /// Each connector's event source as last applied.
    let sources: Sources
    let logger: Logger

    /// The event source of each connector as last applied: a reload that moves one away from hooks
    /// warns that Okta may still deliver to its path (SPEC §20).
    final class Sources: Sendable {
        private let bySlug: Mutex<[String: (name: String, source: EventSource)]>

        init(_ connectors: [ConnectorSettings]) {
            bySlug = Mutex(Dictionary(uniqueKeysWithValues: connectors.map { ($0.slug, ($0.name, $0.eventSource)) }))
        }

        /// Puts the new sources in force and returns the connectors that took hooks and no longer do.
        func replace(with connectors: [ConnectorSettings]) -> [ConnectorSettings] {
            bySlug.withLock { known in
                let moved = connectors.filter {
                    !$0.eventSource.takesHooks && known[$0.slug]?.source.takesHooks == true
                }
                known = Dictionary(uniqueKeysWithValues: connectors.map { ($0.slug, ($0.name, $0.eventSource)) })
                return moved
            }
        }
    }

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
        if let admin {
            if let settings = configuration.server.admin {
                admin.replaceToken(with: settings.token, metricsToken: settings.metricsToken)
            } else {
                logger.warning("server.admin removed: the admin listener keeps its token until the next restart")
            }
        }
        let connectors = configuration.connectorsForThisServer
        for connector in sources.replace(with: connectors) {
            logger.warning(
                "connector no longer takes event hook deliveries: if its hook in Okta is still ACTIVE, Okta keeps delivering to a path that now answers 404, and those events count against the org's daily hook cap; deactivate it",
                metadata: [
                    "connector": "\(connector.slug)", "path": "\(connector.eventHook.path)",
                    "event_source": "\(connector.eventSource.rawValue)",
                    "command":
                        "okta-connector hooks deactivate --config \(configFile) --connector \"\(connector.name)\"",
                ])
        }
        receiver.update(connectors: connectors)
        try await supervisor.apply(connectors)
        logger.notice(
            "configuration reloaded", metadata: ["connectors": "\(connectors.map(\.slug).joined(separator: ","))"])
    }
}
