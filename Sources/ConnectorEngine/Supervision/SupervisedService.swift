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
                try await runOnce()
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

    /// How long a cancelled service may take to end before it is left behind.
    public static let abandonAfter: Double = 5

    /// Runs the service once, in a task of its own (it keeps the task-local graceful shutdown): a
    /// service stuck in a call that ignores cancellation (a request PostgresNIO's pool lost while the
    /// database was away never answers, nor fails when cancelled) would keep its group, and the
    /// connector's worker with it, from ever stopping or starting again. Once cancelled, it gets
    /// `abandonAfter` seconds to end; then it is left behind, cancelled, with an error saying so.
    func runOnce() async throws {
        let inner = Task { try await service.run() }
        let answer = FirstAnswer<Void>()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                answer.wait(continuation)
                answer.add(Task { answer.give(await inner.result) })
            }
        } onCancel: {
            inner.cancel()
            answer.add(
                Task { [clock, name, logger] in
                    do {
                        try await clock.sleep(until: clock.now.addingTimeInterval(Self.abandonAfter))
                    } catch {
                        return  // the service ended in time
                    }
                    if answer.give(.failure(CancellationError())) {
                        logger.error(
                            "connector service did not stop when cancelled (stuck in a call that ignores cancellation); left behind",
                            metadata: ["service": "\(name)", "waited_s": "\(Int(Self.abandonAfter))"])
                    }
                })
        }
    }
}
