import Synchronization

/// The first of several racing answers, given once to one waiting caller: a call against its
/// deadline, a service against the time it has to stop. The racers still running when the answer
/// is given are cancelled and left to end on their own; the caller does not wait for them.
public final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var result: Result<Value, any Error>?
        var racers: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Creates a race without an answer yet.
    public init() {}

    /// Hands the answer to `continuation` once there is one (at once when there is already).
    public func wait(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Adds a racer, cancelled when the answer is given (at once when it was given already).
    public func add(_ racer: Task<Void, Never>) {
        let late = state.withLock { state -> Bool in
            guard state.result == nil else { return true }
            state.racers.append(racer)
            return false
        }
        if late { racer.cancel() }
    }

    /// Gives the answer unless one was given already.
    /// - Returns: Whether this one was the first.
    @discardableResult
    public func give(_ result: Result<Value, any Error>) -> Bool {
        let given = state.withLock { state -> (CheckedContinuation<Value, any Error>?, [Task<Void, Never>])? in
            guard state.result == nil else { return nil }
            state.result = result
            defer {
                state.continuation = nil
                state.racers = []
            }
            return (state.continuation, state.racers)
        }
        guard let (continuation, racers) = given else { return false }
        racers.forEach { $0.cancel() }
        continuation?.resume(with: result)
        return true
    }
}
