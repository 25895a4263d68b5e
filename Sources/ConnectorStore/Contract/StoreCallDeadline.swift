public import ConnectorDomain
public import Foundation

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
    let race = FirstAnswer<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            race.wait(continuation)
            race.add(
                Task {
                    do {
                        race.give(.success(try await call()))
                    } catch {
                        race.give(.failure(error))
                    }
                })
            race.add(
                Task {
                    do {
                        try await clock.sleep(until: clock.now.addingTimeInterval(seconds))
                        race.give(.failure(StoreCallTimeout(seconds: seconds)))
                    } catch {
                        // Cancelled: the call answered first.
                    }
                })
        }
    } onCancel: {
        race.give(.failure(CancellationError()))
    }
}
