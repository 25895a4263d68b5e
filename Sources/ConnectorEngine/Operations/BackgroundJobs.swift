import Logging
public import ServiceLifecycle

/// Work an operator starts that outlives the request starting it (a manual reconcile), run as child
/// tasks of this service, so that it is structured and ends with the process: cancelled at graceful
/// shutdown (a reconcile is then recorded `interrupted` and removes nothing).
public final class BackgroundJobs: Service, Sendable {
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let submit: AsyncStream<@Sendable () async -> Void>.Continuation

    /// Creates the service; jobs started before it runs wait for it.
    public init() {
        (jobs, submit) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    }

    /// Starts a job; after shutdown it is dropped.
    public func start(_ work: @escaping @Sendable () async -> Void) {
        submit.yield(work)
    }

    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.submit.finish()
            }
            for await work in jobs {
                group.addTask { await cancelWhenGracefulShutdown { await work() } }
            }
        }
    }
}
