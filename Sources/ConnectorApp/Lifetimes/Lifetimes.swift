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
            do {
                // The group stops services in reverse order: by now every connector and listener has
                // stopped and released its leases.
                try await gracefulShutdown()
                await store.close()
            } catch {
                // Cancelled: the shutdown bound passed and every service is being cancelled at once;
                // connectors may still be releasing their leases through the store, so it is not
                // closed under them (seen in containers: `SQLite error 21` on a lease release). The
                // process exits next; SQLite's WAL needs no close to stay consistent, and
                // PostgreSQL's pool ends with its own `run()`, cancelled with this task.
            }
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
