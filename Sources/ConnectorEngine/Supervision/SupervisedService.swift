public import ConnectorDomain
import Foundation
public import Logging
public import ServiceLifecycle

/// Runs one of a connector's services and restarts it when it ends unexpectedly (SPEC §11): the
/// failure is logged at error level with its cause, the connector's health says `restarting`, and
/// the restart waits a capped exponential backoff (1 s, 2 s, 4 s … 60 s; reset once the service ran
/// for five minutes). Never throws, so one part's failure neither stops the connector's other parts
/// nor another connector. Returns only at graceful shutdown or cancellation.
public struct SupervisedService: Service {
    /// The part's name in logs and health, e.g. `applier`.
    public let name: String
    let service: any Service
    /// Whether the service may return on its own (an inactive connector's scheduler): it is then
    /// left ended until shutdown instead of restarted.
    let mayFinish: Bool
    let health: ConnectorHealthBoard
    let clock: any WallClock
    let logger: Logger
    let backoff: RetryPolicy

    /// Wraps a service.
    public init(
        name: String, service: any Service, mayFinish: Bool = false, health: ConnectorHealthBoard,
        clock: any WallClock, logger: Logger, backoff: RetryPolicy = RetryPolicy(initialDelay: 1, maximumDelay: 60)
    ) {
        self.name = name
        self.service = service
        self.mayFinish = mayFinish
        self.health = health
        self.clock = clock
        self.logger = logger
        self.backoff = backoff
    }

    /// Whether the task is stopping (cancelled or shutting down gracefully).
    static var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    public func run() async {
        var failures = 0
        while !Self.stopping {
            let started = clock.now
            let reason: String
            do {
                try await service.run()
                if Self.stopping { return }
                if mayFinish {
                    try? await gracefulShutdown()
                    return
                }
                reason = "ended unexpectedly"
            } catch {
                if Self.stopping { return }
                reason = "failed: \(error)"
            }
            if clock.now.timeIntervalSince(started) > 300 { failures = 0 }
            failures += 1
            let delay = backoff.delay(afterAttempt: failures, random: Double.random(in: 0..<1))
            logger.error(
                "connector service \(reason); restarting",
                metadata: [
                    "service": "\(name)", "restart": "\(failures)",
                    "restart_in_seconds": "\(String(format: "%.1f", delay))",
                ])
            health.report(name, .restarting(reason: "\(reason); restart \(failures)"))
            try? await cancelWhenGracefulShutdown {
                try await clock.sleep(until: clock.now.addingTimeInterval(delay))
            }
            if Self.stopping { return }
            health.clear(name)
        }
    }
}
