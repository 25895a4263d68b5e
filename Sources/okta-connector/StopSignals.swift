import ConnectorConfiguration
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT for a command: the first asks it to stop, later ones are only logged, and the
/// command can tell afterwards whether a signal (and not a failure) ended it (SPEC §11).
final class StopSignals: Sendable {
    /// The first signal, shared with the listening task.
    private final class FirstSignal: Sendable {
        let value = Mutex<UnixSignal?>(nil)
    }

    private let received = FirstSignal()
    private let stops: AsyncStream<UnixSignal>
    private let listener: Task<Void, Never>

    /// Starts trapping SIGTERM and SIGINT.
    /// - Parameter onStop: Called once, with the first signal.
    init(logger: Logger, onStop: @escaping @Sendable (UnixSignal) async -> Void = { _ in }) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let (stops, continuation) = AsyncStream.makeStream(of: UnixSignal.self, bufferingPolicy: .bufferingNewest(1))
        self.stops = stops
        let received = received
        listener = Task {
            for await signal in signals {
                let first = received.value.withLock { value -> Bool in
                    guard value == nil else { return false }
                    value = signal
                    return true
                }
                if first {
                    logger.notice("stopping", metadata: ["signal": "\(signal)"])
                    continuation.yield(signal)
                    continuation.finish()
                    await onStop(signal)
                } else {
                    logger.notice("already stopping", metadata: ["signal": "\(signal)"])
                }
            }
        }
    }

    deinit { listener.cancel() }

    /// The signal that asked the command to stop, if one did.
    var signal: UnixSignal? { received.value.withLock { $0 } }

    /// Waits for the first signal; returns at once when it came already, `nil` if the wait is cancelled.
    func wait() async -> UnixSignal? {
        if let signal { return signal }
        var iterator = stops.makeAsyncIterator()
        return await iterator.next() ?? signal
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
            let first = try await group.next() ?? nil
            return signal == nil ? first : nil
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
