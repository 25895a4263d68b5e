public import ConnectorDomain
public import Foundation
import Synchronization

/// A store call that did not answer in time.
public struct StoreCallTimeout: Error, CustomStringConvertible, Sendable {
    /// The deadline it missed, in seconds.
    public var seconds: TimeInterval

    public var description: String { "the store did not answer within \(seconds.formatted()) s" }
}

/// Runs a call that must answer within `seconds` of `clock`. A database that went away keeps calls
/// waiting rather than failing them; a caller that must act in time (the worker lease keeper stops
/// its parts before its lease can lapse) cannot wait with them. A call still running at the
/// deadline is cancelled and left to end on its own; the caller gets ``StoreCallTimeout``.
/// Cancelling the caller cancels the call.
public func withStoreDeadline<Value: Sendable>(
    _ seconds: TimeInterval, clock: any WallClock, _ call: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let race = DeadlineRace<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            race.start(
                continuation,
                work: Task {
                    do {
                        race.finish(.success(try await call()))
                    } catch {
                        race.finish(.failure(error))
                    }
                },
                timer: Task {
                    do {
                        try await clock.sleep(until: clock.now.addingTimeInterval(seconds))
                        race.finish(.failure(StoreCallTimeout(seconds: seconds)))
                    } catch {
                        // Cancelled: the call answered first.
                    }
                })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The one answer of ``withStoreDeadline(_:clock:_:)``: whichever of the call, the deadline or a
/// cancellation comes first gives it, and the others are cancelled.
final class DeadlineRace<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var result: Result<Value, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    /// Notes the waiting caller and the racing tasks; answers at once when one finished already.
    func start(
        _ continuation: CheckedContinuation<Value, any Error>, work: Task<Void, Never>, timer: Task<Void, Never>
    ) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            state.work = work
            state.timer = timer
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early {
            work.cancel()
            timer.cancel()
            continuation.resume(with: early)
        }
    }

    func finish(_ result: Result<Value, any Error>) {
        let (continuation, work, timer) = state.withLock {
            state -> (CheckedContinuation<Value, any Error>?, Task<Void, Never>?, Task<Void, Never>?) in
            guard state.result == nil else { return (nil, nil, nil) }
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, state.work, state.timer)
        }
        work?.cancel()
        timer?.cancel()
        continuation?.resume(with: result)
    }
}
