public import AsyncHTTPClient
public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorEngine
public import ConnectorStore
public import Foundation
public import Logging
public import NeuronsSinks
public import OktaClient

/// What every connector of a process shares, handed to ``ConnectorAssembly``.
public struct ConnectorEnvironment: Sendable {
    public var store: any StateStore
    /// The process's outgoing HTTP client (Okta, the sink and its token endpoint).
    public var httpClient: HTTPClient
    /// One reconcile per connector across every process sharing the store.
    public var gate: RunGate
    /// The mode and group of the files the ndjson and csv sinks write.
    public var fileAccess: PrivateFileAccess
    public var clock: any WallClock
    public var logger: Logger
    /// Where operator-started reconciles run in the background (`serve`); `nil` for a command.
    public var jobs: BackgroundJobs?
    /// Told a running reconcile's progress (the `reconcile` command's progress line).
    public var progress: (@Sendable (ReconcileProgress) -> Void)?
    /// Whether the connectors' worker parts write under this replica's worker lease: `true` where the
    /// supervisor runs them (`serve`, the demo); `false` for a command or a benchmark that runs them
    /// itself, outside any lease.
    public var fenced: Bool

    /// Collects what the connectors share.
    public init(
        store: any StateStore, httpClient: HTTPClient, gate: RunGate, fileAccess: PrivateFileAccess = .ownerOnly,
        clock: any WallClock, logger: Logger, jobs: BackgroundJobs? = nil,
        progress: (@Sendable (ReconcileProgress) -> Void)? = nil, fenced: Bool = false
    ) {
        self.store = store
        self.httpClient = httpClient
        self.gate = gate
        self.fileAccess = fileAccess
        self.clock = clock
        self.logger = logger
        self.jobs = jobs
        self.progress = progress
        self.fenced = fenced
    }
}

/// One connector, built: what the operator surfaces see, and the services to run.
public struct AssembledConnector: Sendable {
    /// Its settings, operations and health.
    public let runtime: ConnectorRuntime
    /// Its services; the supervisor runs the worker parts only while this replica holds the lease.
    public let parts: [ConnectorPart]
    /// The worker lease this replica holds for the connector, if it holds it.
    public let fence: WorkerFenceHolder
    /// The sink, whose resources ``release()`` gives back.
    let sink: ConnectorSink

    /// Releases what the connector's sink owns, for a command that ran no service group.
    public func release() async { await sink.shutdown() }
}

/// Builds a connector's parts from its settings: the one place that makes an Okta client, a sink,
/// an applier, a reconciler, a scheduler, a forwarder and a poller. `serve`, `reconcile`, `demo`,
/// `check-config --online`, `hooks` and the benchmarks all build through it; a new connector part is
/// added here and nowhere else.
public enum ConnectorAssembly {
    /// Builds one connector.
    /// - Parameters:
    ///   - connector: The connector's settings.
    ///   - environment: What the process's connectors share.
    ///   - board: Where its parts report trouble (the supervisor keeps it across restarts of a part).
    /// - Returns: The connector's runtime and services.
    /// - Throws: When its sink cannot be opened (an unwritable NDJSON file).
    public static func assemble(
        _ connector: ConnectorSettings, in environment: ConnectorEnvironment,
        board: ConnectorHealthBoard = ConnectorHealthBoard()
    ) throws -> AssembledConnector {
        let (store, clock, logger) = (environment.store, environment.clock, environment.logger)
        let okta = oktaClient(for: connector, httpClient: environment.httpClient, clock: clock, logger: logger)
        let sink = try self.sink(for: connector, in: environment)
        let fence = WorkerFenceHolder()
        // The lease keeper fills the holder; the parts' writes carry it only where a lease is kept.
        let writeFence = environment.fenced ? fence : nil
        let applier = EventApplier(
            connector: connector, store: store, client: okta, clock: clock, logger: logger, health: board,
            fence: writeFence)
        let reconciler = Reconciler(
            connector: connector, client: okta, store: store, clock: clock, logger: logger,
            progress: environment.progress)
        let forwarder = OutboxForwarder(
            connector: connector.slug, store: store, sink: sink.sink, clock: clock, logger: logger,
            batchSize: connector.sink.batchSize, fence: writeFence)
        let operations = ConnectorOperations(
            settings: connector, store: store,
            parts: ConnectorParts(
                okta: okta, hooks: okta, applier: applier, reconciler: reconciler, forwarder: forwarder,
                snapshots: sink.snapshots,
                gate: environment.gate, board: board, fence: fence, jobs: environment.jobs),
            clock: clock, logger: logger)
        let scheduler = ReconcileScheduler(
            connector: connector, store: store, clock: clock, gate: environment.gate, logger: logger
        ) { trigger in try await operations.reconcileAdmitted(ReconcileOptions(trigger: trigger)).record }
        // The sink's lifetime first: a group stops its services in reverse, so it is released last.
        var parts = [
            ConnectorPart(name: "sink", service: sink.lifetime, worker: false),
            ConnectorPart(name: "scheduler", service: scheduler, mayFinish: !connector.active),
            ConnectorPart(name: "forwarder", service: forwarder),
        ]
        if connector.active { parts.append(ConnectorPart(name: "applier", service: applier)) }
        parts += watches(connector, okta: okta, store: store, clock: clock, logger: logger)
        if let snapshots = sink.snapshots { parts.append(ConnectorPart(name: "csv-snapshots", service: snapshots)) }
        // System Log polling (SPEC §17) is a worker part: one replica polls, into the shared inbox.
        if connector.active, connector.eventSource.polls {
            let poller = SystemLogPoller(
                connector: connector, store: store, client: okta, clock: clock, logger: logger, health: board,
                onStored: { [applier] in applier.wake() }, fence: writeFence)
            parts.append(ConnectorPart(name: "system-log-poller", service: poller))
        }
        return AssembledConnector(
            runtime: ConnectorRuntime(operations: operations), parts: parts, fence: fence, sink: sink)
    }

    /// The parts that watch what the connector uses of Okta: its credentials, kept alive whether the
    /// connector is active or not (an API token unused for 30 days expires, SPEC §19), and its
    /// share of Okta's daily hook cap, from every replica's counts (SPEC §20).
    static func watches(
        _ connector: ConnectorSettings, okta: OktaAPIClient, store: any StateStore, clock: any WallClock,
        logger: Logger
    ) -> [ConnectorPart] {
        var parts = [
            ConnectorPart(
                name: "okta-keep-alive",
                service: OktaKeepAlive(
                    connector: connector.slug, credential: connector.okta.credentials.kind, okta: okta, store: store,
                    clock: clock, logger: logger))
        ]
        if connector.eventSource.takesHooks {
            parts.append(
                ConnectorPart(
                    name: "hook-budget",
                    service: HookEventBudgetWatch(
                        connector: connector.slug, budget: connector.eventHook.dailyBudget,
                        eventTypes: connector.eventHook.eventTypes, store: store, clock: clock, logger: logger)))
        }
        return parts
    }

    /// The Okta client of a configured connector: its credentials, its own rate limiter at its
    /// `rate_limit_share`, on the process's shared HTTP client.
    /// - Parameters:
    ///   - connector: The connector's settings.
    ///   - httpClient: The process's HTTP client.
    ///   - retry: The retry policy (one attempt for `check-config --online`).
    ///   - pause: Holds calls once Okta rejected the credentials (`.never` for a one-off check).
    ///   - callTimeout: How long one call may take.
    /// - Returns: The client.
    public static func oktaClient(
        for connector: ConnectorSettings, httpClient: HTTPClient, clock: any WallClock, logger: Logger,
        retry: RetryPolicy = .okta, pause: OktaCredentialPause = OktaCredentialPause(), callTimeout: TimeInterval = 60
    ) -> OktaAPIClient {
        let method: OktaCredentialsProvider.Method
        switch connector.okta.credentials {
        case .apiToken(let token): method = .apiToken(token)
        case .oauth(let app):
            let authentication: OktaCredentialsProvider.ClientAuthentication =
                switch app.authentication {
                case .privateKey(let pem, let keyId): .privateKey(pem: pem, keyId: keyId)
                case .clientSecret(let secret): .clientSecret(secret)
                }
            method = .serviceApp(
                clientId: app.clientId, authentication: authentication, scopes: app.scopes,
                dpop: OktaCredentialsProvider.DPoPMode(rawValue: app.dpop.rawValue) ?? .auto)
        }
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        // Okta's concurrency limit (75 per org by default) is shared like its buckets.
        let concurrency = max(2, Int((75 * connector.okta.rateLimitShare).rounded(.down)) / 2)
        return OktaAPIClient(
            orgURL: connector.okta.url,
            credentials: OktaCredentialsProvider(
                method: method, orgURL: connector.okta.url, httpClient: httpClient, clock: clock,
                // Scope by group cannot do without okta.groups.read: then it is not optional.
                optionalScopes: connector.scopeGroups.isEmpty ? OAuthServiceApp.optionalScopes : [], logger: log),
            httpClient: httpClient, limiter: OktaRateLimiter(share: connector.okta.rateLimitShare, clock: clock),
            clock: clock, retry: retry, maximumConcurrency: concurrency,
            stats: OktaCallStats(connector: connector.slug), pause: pause, logger: log, callTimeout: callTimeout)
    }

    /// The sink of a connector: what the forwarder hands batches to and, for CSV, the snapshot writer.
    /// - Parameters:
    ///   - connector: The connector's settings.
    ///   - environment: The store the CSV snapshots read, the HTTP client, the files' access.
    /// - Returns: The sink and what it owns.
    public static func sink(for connector: ConnectorSettings, in environment: ConnectorEnvironment) throws
        -> ConnectorSink
    {
        switch connector.sink {
        case .ndjson(let settings):
            return ConnectorSink(
                sink: try NDJSONSink(path: settings.path, access: environment.fileAccess), snapshots: nil)
        case .http(let settings):
            let (sink, owned) = neuronsSink(settings, httpClient: environment.httpClient, clock: environment.clock)
            return ConnectorSink(sink: sink, snapshots: nil, ownedHTTPClient: owned)
        case .csv(let settings):
            let tracker = CSVChangeTracker()
            let writer = CSVSnapshotWriter(
                directory: settings.directory, delimiter: settings.delimiter, keep: settings.keep,
                prefix: connector.slug, neutralizeFormulas: settings.neutralizeFormulas,
                access: environment.fileAccess)
            return ConnectorSink(
                sink: tracker,
                snapshots: CSVSnapshots(
                    connector: connector.slug, store: environment.store, writer: writer, tracker: tracker,
                    interval: settings.realtimeInterval, clock: environment.clock, logger: environment.logger))
        }
    }

    /// The Neurons endpoint's sink, on the process's HTTP client or, with a private CA (`ca_file`),
    /// on a client of its own, which the caller shuts down.
    /// - Returns: The sink and the client it owns, if any.
    public static func neuronsSink(_ settings: HTTPSinkSettings, httpClient: HTTPClient, clock: any WallClock) -> (
        NeuronsHTTPSink, owned: HTTPClient?
    ) {
        var client = httpClient
        var owned: HTTPClient?
        if let caFile = settings.caFile {
            // A private CA for the Neurons endpoint: its own client, trusting it besides the system roots.
            client = OutgoingHTTPClient.make(caFile: caFile)
            owned = client
        }
        let sink = NeuronsHTTPSink(
            endpoint: settings.endpoint, tokenURL: settings.tokenURL, clientId: settings.clientId,
            clientSecret: settings.clientSecret, scope: settings.scope, httpClient: client, clock: clock)
        return (sink, owned)
    }
}
