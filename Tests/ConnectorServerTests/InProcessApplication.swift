import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Logging
import ServiceLifecycle

/// The application `serve` runs, in-process in its own service group, with the ports its listeners
/// bound (0 when a listener is not configured).
struct InProcessApplication: Sendable {
    let application: ConnectorApplication
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let hookPort: Int
    let adminPort: Int

    /// Builds and starts it; returns once its listeners listen.
    static func start(
        _ configuration: ServiceConfiguration, store: any StateStore, httpClient: HTTPClient = .shared,
        logger: Logger = quietLogger
    ) async throws -> InProcessApplication {
        let (adminPorts, adminPort) = AsyncStream.makeStream(of: Int.self)
        let (hookPorts, hookPort) = AsyncStream.makeStream(of: Int.self)
        let application = try ConnectorApplication(
            configuration: configuration, store: store, httpClient: httpClient, clock: SystemWallClock(),
            logger: logger, onServerRunning: { hookPort.yield($0) }, onAdminRunning: { adminPort.yield($0) })
        let group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) }, gracefulShutdownSignals: [],
                logger: quietLogger))
        let task = Task { try await group.run() }
        var hooks = hookPorts.makeAsyncIterator()
        let hook = await hooks.next() ?? 0
        var admin = 0
        if configuration.server.admin != nil {
            var admins = adminPorts.makeAsyncIterator()
            admin = await admins.next() ?? 0
        }
        return InProcessApplication(
            application: application, group: group, task: task, hookPort: hook, adminPort: admin)
    }

    /// Stops it as a SIGTERM would, and waits until it stopped.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
