public import ConnectorConfiguration
public import ConnectorDomain
import Hummingbird
public import Logging
public import ServiceLifecycle

/// The two HTTP listeners as services, for the composition root: the event hook listener and, with
/// `server.admin`, the admin listener (probes, metrics, admin API, console).
public enum Listeners {
    /// The event hook listener: the receiver's routes on `server.listen`, with its TLS, limits and
    /// request deadline.
    /// - Parameters:
    ///   - receiver: The receiver whose routes it serves.
    ///   - server: The server settings.
    ///   - logger: The logger.
    ///   - onRunning: Told the port once it listens.
    /// - Returns: The listener as a service.
    public static func hooks(
        receiver: EventHookReceiver, server: ServerSettings, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void
    ) throws -> any Service {
        Application(
            router: buildHookRouter(receiver: receiver, maximumBodyBytes: server.maxBodyBytes),
            server: try HookListener.serverBuilder(tls: server.tls, limits: server.limits),
            configuration: HookListener.configuration(
                address: .hostname(server.listen.host, port: server.listen.port), limits: server.limits,
                logger: logger),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
    }
}

/// The admin listener (SPEC §11) and what keeps it going: the listener, and the monitor that reads
/// each connector's event hooks from Okta for the console.
public struct AdminListener: Sendable {
    /// The services to run: the hook monitor and the listener.
    public let services: [any Service]
    let token: AdminToken
    let metricsToken: MetricsToken

    /// Builds the admin listener.
    /// - Parameters:
    ///   - settings: `server.admin`.
    ///   - view: What it reads and acts on.
    ///   - logger: The logger.
    ///   - reload: Reloads the configuration file (`POST /api/reload`); says what it did.
    ///   - onRunning: Told the port once it listens.
    public init(
        settings admin: AdminSettings, view: AdminView, logger: Logger,
        reload: @escaping @Sendable () async throws -> String, onRunning: @escaping @Sendable (Int) async -> Void
    ) throws {
        let token = AdminToken(admin.token)
        let metricsToken = MetricsToken(admin.metricsToken)
        let clock = view.clock
        let hookMonitor = EventHookMonitor(runtimes: view.runtimes, store: view.store, clock: clock, logger: logger)
        ConnectorMetrics.bootstrap()
        let router = buildAdminRouter(
            AdminDependencies(
                view: view, token: token, metricsToken: metricsToken,
                sessions: ConsoleSessions(lifetime: admin.sessionLifetime, clock: clock),
                signInThrottle: SignInThrottle(clock: clock),
                cookie: ConsoleCookie(secure: admin.tls != nil, lifetime: admin.sessionLifetime), hooks: hookMonitor,
                metrics: ConnectorMetrics.shared, logger: logger, reload: reload))
        // HTTPS when configured (same certificate options as the hook listener).
        let listener = Application(
            router: router,
            server: try HookListener.serverBuilder(tls: admin.tls),
            configuration: .init(address: .hostname(admin.listen.host, port: admin.listen.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        self.services = [hookMonitor, listener]
        self.token = token
        self.metricsToken = metricsToken
    }

    /// Puts a rotated admin token in force at once: the old one is refused from now on, and console
    /// sessions started with it end. The metrics token is replaced (or removed) with it.
    public func replaceToken(with token: Secret, metricsToken: Secret? = nil) {
        self.token.replace(with: token)
        self.metricsToken.replace(with: metricsToken)
    }
}
