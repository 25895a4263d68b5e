public import AsyncHTTPClient
public import ConnectorStore
public import ServiceLifecycle

/// Runs the store (its pool and watchdog) while the process runs and closes it at shutdown. Listed
/// first among the services, it is stopped last: every connector and listener has stopped using it
/// by then.
public struct StoreLifetime: Service {
    let store: any StateStore

    /// Owns a store's lifetime.
    public init(store: any StateStore) { self.store = store }

    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await store.run() }
            try? await gracefulShutdown()
            await store.close()
        }
    }
}

/// Keeps the process's outgoing HTTP client until shutdown, then shuts it down (its connections
/// closed, nothing in flight left behind).
public struct HTTPClientLifetime: Service {
    let client: HTTPClient

    /// Owns an HTTP client's lifetime.
    public init(client: HTTPClient) { self.client = client }

    public func run() async {
        try? await gracefulShutdown()
        try? await client.shutdown()
    }
}
