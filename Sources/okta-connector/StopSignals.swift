import ConnectorConfiguration
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT for a command: the first asks it to stop, later ones are only logged, and the
/// command can tell afterwards whether a signal (and not a failure) ended it (SPEC §11).
final class StopSignals: Sendable {
    /// The first signal and who waits for it. Waiters are continuations, not iterations of a shared
    /// stream: a wait that is cancelled (its operation finished first) leaves later waits intact.
    private struct State {
        var signal: UnixSignal?
        var waiters: [Int: CheckedContinuation<UnixSignal?, Never>] = [:]
        var nextId = 0
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    private let listener: Task<Void, Never>

    /// Starts trapping SIGTERM and SIGINT.
    /// - Parameter onStop: Called once, with the first signal.
    init(logger: Logger, onStop: @escaping @Sendable (UnixSignal) async -> Void = { _ in }) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let shared = shared
        listener = Task {
            for await signal in signals {
                let waiters = shared.state.withLock { state -> [CheckedContinuation<UnixSignal?, Never>]? in
                    guard state.signal == nil else { return nil }
                    state.signal = signal
                    defer { state.waiters = [:] }
                    return Array(state.waiters.values)
                }
                if let waiters {
                    logger.notice("stopping", metadata: ["signal": "\(signal)"])
                    for waiter in waiters { waiter.resume(returning: signal) }
                    await onStop(signal)
                } else {
                    logger.notice("already stopping", metadata: ["signal": "\(signal)"])
                }
            }
        }
    }

    deinit { listener.cancel() }

    /// The signal that asked the command to stop, if one did.
    var signal: UnixSignal? { shared.state.withLock { $0.signal } }

    /// Waits for the first signal; returns at once when it came already, `nil` if the wait is cancelled.
    func wait() async -> UnixSignal? {
        let id = shared.state.withLock { state -> Int in
            state.nextId += 1
            return state.nextId
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<UnixSignal?, Never>) in
                let now = shared.state.withLock { state -> UnixSignal?? in
                    if let signal = state.signal { return .some(signal) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = shared.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }

    /// Runs an operation until it ends or a stop signal comes, whichever is first; on a signal the
    /// operation is cancelled and awaited.
    /// - Returns: The operation's result, or `nil` when a signal stopped it.
    func untilStopped<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                _ = await self.wait()
                return nil
            }
            defer { group.cancelAll() }
            // The operation's result, unless a signal came first; the waiting child only returns
            // on a signal (or when cancelled, after the operation ended).
            while let result = try await group.next() {
                if let value = result { return signal == nil ? value : nil }
                if signal != nil { return nil }
            }
            return nil
        }
    }

    /// The exit status conventional for a command ended by a signal: 128 plus its number.
    static func exitStatus(for signal: UnixSignal) -> Int32 { 128 + signal.rawValue }
}

extension ServiceGroupConfiguration {
    /// A group for `serve` and `demo`: no signals of its own (``StopSignals`` traps them), a graceful
    /// shutdown of half the configured bound, then cancellation for the rest of it.
    /// - Parameters:
    ///   - services: The services, started in order and stopped in reverse.
    ///   - shutdownTimeout: `server.shutdown_timeout`, in seconds.
    static func bounded(services: [any Service], shutdownTimeout: Double, logger: Logger) -> Self {
        var configuration = ServiceGroupConfiguration(services: services.map { .init(service: $0) }, logger: logger)
        let milliseconds = Int(shutdownTimeout * 1000)
        configuration.maximumGracefulShutdownDuration = .milliseconds(milliseconds / 2)
        configuration.maximumCancellationDuration = .milliseconds(milliseconds - milliseconds / 2)
        return configuration
    }
}
