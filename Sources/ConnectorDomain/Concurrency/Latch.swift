import Synchronization

/// Opens once; every waiter, before or after, goes on.
public final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Whether it is open.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Opens it: every waiter goes on, and every later wait returns at once.
    public func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once it is open.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let openNow = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if openNow { continuation.resume() }
        }
    }
}
