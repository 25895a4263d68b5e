public import ConnectorDomain
public import Foundation

/// The whole configuration file, validated and typed (SPEC §3).
public struct ServiceConfiguration: Sendable {
    /// The file it was read from.
    public var file: String
    public var server: ServerSettings
    public var store: StoreSettings
    public var logging: LoggingSettings
    public var connectors: [ConnectorSettings]

    /// The connectors this process runs: those whose server name is the process's `connector_server`.
    public var connectorsForThisServer: [ConnectorSettings] {
        connectors.filter { $0.server == server.connectorServer }
    }

    /// The connector with a name (or slug), if any.
    public func connector(named name: String) -> ConnectorSettings? {
        connectors.first { $0.name == name || $0.slug == name }
    }

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        file: String, server: ServerSettings, store: StoreSettings, logging: LoggingSettings,
        connectors: [ConnectorSettings]
    ) {
        self.file = file
        self.server = server
        self.store = store
        self.logging = logging
        self.connectors = connectors
    }
}

/// A host and port to listen on.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port), !host.isEmpty else {
            return nil
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this host can connect: `localhost`, `127.0.0.0/8` or `::1`. A wildcard
    /// (`0.0.0.0`, `::`) or any other address is reachable from the network.
    public var isLoopback: Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" || lower == "0:0:0:0:0:0:0:1" { return true }
        let parts = lower.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// The event hook listener and the admin listener.
public struct ServerSettings: Sendable {
    public var listen: ListenAddress
    /// Certificate and key for HTTPS; `nil` only with `insecure_plain_http: true` (tests).
    public var tls: TLSFiles?
    public var admin: AdminSettings?
    /// Which connector server this process is; it runs the connectors with this server name.
    public var connectorServer: String
    /// Largest accepted delivery body (SPEC §4: 1 MiB by default).
    public var maxBodyBytes: Int
    /// Seconds a SIGTERM or SIGINT may take to stop the process (SPEC §11: 20 s by default, inside
    /// Kubernetes' 30 s grace period).
    public var shutdownTimeout: Double
    /// Limits against slow and greedy clients of the event hook listener.
    public var limits: ListenerLimits

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        listen: ListenAddress, tls: TLSFiles?, admin: AdminSettings?, connectorServer: String, maxBodyBytes: Int,
        shutdownTimeout: Double = 20, limits: ListenerLimits = ListenerLimits()
    ) {
        self.listen = listen
        self.tls = tls
        self.admin = admin
        self.connectorServer = connectorServer
        self.maxBodyBytes = maxBodyBytes
        self.shutdownTimeout = shutdownTimeout
        self.limits = limits
    }
}

/// Limits of the event hook listener against slow and greedy clients (`server.limits`): a client
/// that trickles bytes or holds connections open must not keep Okta's deliveries from being answered.
public struct ListenerLimits: Sendable, Hashable {
    /// Connections served at once; one beyond it is closed at once. `max_connections`, default 4096.
    public var maxConnections: Int
    /// Seconds one request may take to arrive, headers and body together (`408` after).
    /// `request_deadline`, default 10 s.
    public var requestDeadline: Double
    /// Seconds a kept-alive connection may wait for its next request. `idle_timeout`, default 60 s.
    public var idleTimeout: Double

    /// Creates the limits; the defaults are those of the configuration reference.
    public init(maxConnections: Int = 4096, requestDeadline: Double = 10, idleTimeout: Double = 60) {
        self.maxConnections = maxConnections
        self.requestDeadline = requestDeadline
        self.idleTimeout = idleTimeout
    }
}

/// PEM files for a TLS listener.
public struct TLSFiles: Sendable, Hashable {
    public var certificatePath: String
    public var privateKeyPath: String

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

extension ServerSettings {
    /// The listeners that serve plain HTTP on an address other than loopback (allowed only with
    /// `insecure_plain_http: true`), named for a warning: `the event hook listener on 0.0.0.0:8443`.
    public var plainListenersOffLoopback: [String] {
        var plain: [String] = []
        if tls == nil, !listen.isLoopback { plain.append("the event hook listener on \(listen)") }
        if let admin, admin.tls == nil, !admin.listen.isLoopback {
            plain.append("the admin listener on \(admin.listen)")
        }
        return plain
    }
}

/// The admin listener (SPEC §11).
public struct AdminSettings: Sendable {
    public var listen: ListenAddress
    /// Bearer token for everything but the probes; also what a person signs in to the console with.
    public var token: Secret
    /// `metrics_token`: opens `GET /metrics` and nothing else (a scraper's token).
    public var metricsToken: Secret?
    /// Certificate and key to serve the admin listener over HTTPS; `nil` serves plain HTTP (fine on
    /// loopback). With TLS the console's session cookie is `Secure`.
    public var tls: TLSFiles?
    /// Seconds a console session lasts from its sign-in, whatever its use (`session_lifetime`,
    /// default 4 h; a session also ends after 30 minutes without a request).
    public var sessionLifetime: Double

    /// `session_lifetime` when the file does not set it: four hours.
    public static let defaultSessionLifetime: Double = 4 * 3600
    /// `insecure_plain_http: true`: plain HTTP accepted on an address other than loopback (the
    /// admin token then crosses the network in clear).
    public var insecurePlainHTTP: Bool

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        listen: ListenAddress, token: Secret, tls: TLSFiles? = nil, sessionLifetime: Double = defaultSessionLifetime,
        insecurePlainHTTP: Bool = false, metricsToken: Secret? = nil
    ) {
        self.metricsToken = metricsToken
        self.insecurePlainHTTP = insecurePlainHTTP
        self.listen = listen
        self.token = token
        self.tls = tls
        self.sessionLifetime = sessionLifetime
    }
}

/// Where state is kept (SPEC §10).
public struct StoreSettings: Sendable, Hashable {
    /// The backend and its location.
    public enum Backend: Sendable, Hashable {
        /// The embedded default: one SQLite file in WAL mode.
        case sqlite(path: String)
        /// A PostgreSQL database shared by several replicas: the URL
        /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?sslmode=…`), the password when not in
        /// the URL (`store.password` / `password_file`), a CA file for `sslmode=verify-full`.
        case postgres(url: String, password: Secret?, caFile: String?)
    }

    public var backend: Backend
    /// How long what is no longer needed is kept.
    public var retention: RetentionSettings
    /// The mode and group of files holding personal data (the SQLite database and its side files,
    /// sink outputs): `0600` unless `store.file_group` names a group (then `0640`).
    public var fileAccess: PrivateFileAccess

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        backend: Backend, retention: RetentionSettings = RetentionSettings(),
        fileAccess: PrivateFileAccess = .ownerOnly
    ) {
        self.backend = backend
        self.retention = retention
        self.fileAccess = fileAccess
    }
}

/// How long the store keeps what it no longer needs (SPEC §10), in seconds; `store.retention`.
public struct RetentionSettings: Sendable, Hashable {
    /// Applied events and delivery ids, kept to deduplicate redeliveries (Okta retries within
    /// seconds; a week is a wide margin). `dedupe_window`, default 7 days.
    public var dedupeWindow: Double = 7 * 86_400
    /// Events that failed for good. `failed_events`, default 30 days.
    public var failedEvents: Double = 30 * 86_400
    /// Dead letters. `dead_letters`, default 90 days.
    public var deadLetters: Double = 90 * 86_400
    /// Finished runs. `runs`, default 90 days.
    public var runs: Double = 90 * 86_400
    /// Runs kept per connector whatever their age. `keep_runs`, default 50.
    public var keepRuns = 50
    /// How often pruning runs. `prune_interval`, default 1 hour.
    public var pruneInterval: Double = 3_600

    /// The defaults.
    public init() {}
}

/// Log output (SPEC §11).
public struct LoggingSettings: Sendable, Hashable {
    /// One line per event, as JSON objects or logfmt.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        case json, logfmt
    }

    public var format: Format
    /// `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    public var level: String

    static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(format: Format, level: String) {
        self.format = format
        self.level = level
    }
}

/// One connector: the options of SPEC §2 and its technical settings.
public struct ConnectorSettings: Sendable {
    /// Connector name, unique in the process.
    public var name: String
    /// The URL-safe name used in paths, metrics and file names.
    public var slug: String
    /// Connector server name (`Cloud` for cloud connectors).
    public var server: String
    /// Whether the connector runs and takes in events.
    public var active: Bool
    public var okta: OktaSettings
    /// The statuses to import; users in others are removed downstream.
    public var userStatuses: [OktaUserStatus]
    /// Repeats and Start time.
    public var schedule: Schedule
    public var eventHook: EventHookSettings
    public var enrich: EnrichSettings
    /// `user_scope.groups` (SPEC §19): names or ids of groups; when set, a user is in scope when
    /// their status is selected AND they are a member of at least one of them. Empty: every user.
    public var scopeGroups: [String] = []
    /// The mapping with this connector's overrides.
    public var mapper: UserMapper
    public var sink: SinkSettings
    public var reconcile: ReconcileSettings
    /// Where events come from: event hooks, System Log polling, or both (SPEC §17).
    public var eventSource: EventSource
    /// How the System Log is polled when ``eventSource`` includes it.
    public var systemLog: SystemLogSettings
    /// How long the `reconcile` command keeps retrying to forward its changes to a sink that is
    /// briefly down before it exits non-zero (`sink.forward_timeout`, SPEC §15).
    public var forwardTimeout: TimeInterval

    /// `sink.forward_timeout` when the configuration does not set it: five minutes.
    public static let defaultForwardTimeout: TimeInterval = 300

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        name: String, slug: String, server: String, active: Bool, okta: OktaSettings, userStatuses: [OktaUserStatus],
        schedule: Schedule, eventHook: EventHookSettings, enrich: EnrichSettings, mapper: UserMapper,
        sink: SinkSettings, reconcile: ReconcileSettings, eventSource: EventSource = .hooks,
        systemLog: SystemLogSettings = SystemLogSettings(), forwardTimeout: TimeInterval = defaultForwardTimeout
    ) {
        self.forwardTimeout = forwardTimeout
        self.eventSource = eventSource
        self.systemLog = systemLog
        self.name = name
        self.slug = slug
        self.server = server
        self.active = active
        self.okta = okta
        self.userStatuses = userStatuses
        self.schedule = schedule
        self.eventHook = eventHook
        self.enrich = enrich
        self.mapper = mapper
        self.sink = sink
        self.reconcile = reconcile
    }
}

/// Where a connector's events come from (SPEC §17).
public enum EventSource: String, Sendable, Hashable, CaseIterable {
    /// Okta event hook deliveries to the listener (the default).
    case hooks
    /// Polling Okta's System Log (`GET /api/v1/logs`): no inbound endpoint needed.
    case systemLog = "system_log"
    /// Hooks for latency, polling to fill the deliveries Okta missed.
    case both

    /// Whether the listener takes this connector's event hook deliveries.
    public var takesHooks: Bool { self != .systemLog }
    /// Whether the connector polls the System Log.
    public var polls: Bool { self != .hooks }
}

/// How the System Log is polled (SPEC §17).
public struct SystemLogSettings: Sendable, Hashable {
    /// Seconds between polls once the poller has caught up.
    public var interval: TimeInterval
    /// How far before the newest event already stored a poll starts when it has no `next` link to
    /// follow (first start, a cursor Okta refused): System Log data is eventually consistent, and
    /// the `uuid` dedupe makes re-reading harmless.
    public var overlap: TimeInterval
    /// With `both`: how long a polled event is left for its hook delivery before polling stores it
    /// (and counts it as a missed delivery).
    public var hookGrace: TimeInterval

    /// Creates the settings: 10 s interval, 60 s overlap, 15 s hook grace by default.
    public init(interval: TimeInterval = 10, overlap: TimeInterval = 60, hookGrace: TimeInterval = 15) {
        self.interval = interval
        self.overlap = overlap
        self.hookGrace = hookGrace
    }
}

/// How to reach and authenticate to the Okta org.
public struct OktaSettings: Sendable {
    /// The org URL, e.g. `https://acme.okta.com`.
    public var url: URL
    public var credentials: OktaCredentials
    /// Never use more than this share of any Okta rate-limit bucket.
    public var rateLimitShare: Double

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(url: URL, credentials: OktaCredentials, rateLimitShare: Double) {
        self.url = url
        self.credentials = credentials
        self.rateLimitShare = rateLimitShare
    }
}

/// Okta API credentials.
public enum OktaCredentials: Sendable {
    /// `Authorization: SSWS <token>`.
    case apiToken(Secret)
    /// OAuth 2.0 service app: a `private_key_jwt` client assertion or a client secret, with DPoP.
    case oauth(OAuthServiceApp)

    /// A description without the secret.
    public var kind: String {
        switch self {
        case .apiToken: return "API token (SSWS)"
        case .oauth(let app):
            let authentication =
                switch app.authentication {
                case .privateKey: "private_key_jwt"
                case .clientSecret: "client_secret_basic"
                }
            return
                "OAuth 2.0 service app \(app.clientId) (\(authentication), DPoP \(app.dpop.rawValue), scopes: \(app.scopes.joined(separator: " ")))"
        }
    }
}

/// An OAuth 2.0 service app's credentials.
public struct OAuthServiceApp: Sendable {
    /// How the app proves who it is at the token endpoint.
    public enum Authentication: Sendable {
        /// `private_key_jwt`: a client assertion signed with the PEM key whose public half Okta
        /// holds (`kid` when Okta has several).
        case privateKey(Secret, keyId: String?)
        /// `client_secret_basic`, for apps that cannot hold a key.
        case clientSecret(Secret)
    }

    /// Whether the token requests carry DPoP proofs (RFC 9449, SPEC §19).
    public enum DPoPMode: String, Sendable, CaseIterable {
        /// The first token request goes without a proof and switches on `invalid_dpop_proof`.
        case auto
        /// Every request carries a proof; a `Bearer` token is refused.
        case required
        /// Never: for apps with DPoP switched off.
        case off
    }

    public var clientId: String
    public var authentication: Authentication
    public var scopes: [String]
    public var dpop: DPoPMode

    /// Scopes only an optional feature needs: when Okta refuses a token request for them
    /// (`invalid_scope`), the connector asks again without them and turns the feature off (SPEC §19).
    public static let optionalScopes: Set<String> = ["okta.groups.read"]

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(clientId: String, authentication: Authentication, scopes: [String], dpop: DPoPMode = .auto) {
        self.clientId = clientId
        self.authentication = authentication
        self.scopes = scopes
        self.dpop = dpop
    }

    /// The PEM key of a `private_key_jwt` app.
    public var privateKey: Secret? {
        if case .privateKey(let key, _) = authentication { key } else { nil }
    }

    /// The `kid` of a `private_key_jwt` app's key, when Okta has several.
    public var keyId: String? {
        if case .privateKey(_, let keyId) = authentication { keyId } else { nil }
    }

    /// A `private_key_jwt` app.
    public init(clientId: String, privateKey: Secret, keyId: String?, scopes: [String], dpop: DPoPMode = .auto) {
        self.init(
            clientId: clientId, authentication: .privateKey(privateKey, keyId: keyId), scopes: scopes, dpop: dpop)
    }
}

/// The connector's event hook endpoint.
public struct EventHookSettings: Sendable {
    /// Path of the `GET`/`POST` route, e.g. `/hooks/okta/okta-production`.
    public var path: String
    /// The header Okta sends the secret in (`channel.config.authScheme.key`).
    public var authHeader: String
    /// Accepted secrets; several during a rotation.
    public var secrets: [Secret]
    /// `event_hook.public_url`: the one URL Okta delivers to, whose path is ``path``. Every
    /// registration uses it and no other (SPEC §20).
    public var publicURL: URL?
    /// `event_hook.event_types`: `all` (default) or `changes`, sign-ins left out (SPEC §20).
    public var eventTypes: HookEventTypes
    /// `event_hook.daily_budget`: the events a day this connector may take of the org's cap
    /// (default 100,000, a quarter of Okta's 400,000); a warning at half.
    public var dailyBudget: Int

    /// The default ``dailyBudget``.
    public static let defaultDailyBudget = 100_000

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        path: String, authHeader: String, secrets: [Secret], publicURL: URL? = nil, eventTypes: HookEventTypes = .all,
        dailyBudget: Int = EventHookSettings.defaultDailyBudget
    ) {
        self.path = path
        self.authHeader = authHeader
        self.secrets = secrets
        self.publicURL = publicURL
        self.eventTypes = eventTypes
        self.dailyBudget = dailyBudget
    }

    /// The event types the hook subscribes to.
    public var subscribedEventTypes: [String] { OktaLogEvent.subscribedEventTypes(eventTypes) }
}

extension ConnectorSettings {
    /// Whether `User.LastLogon` moves only with the reconcile: the hook leaves sign-ins out
    /// (`event_types: changes`) and System Log polling does not read them (SPEC §20).
    public var signInsComeFromTheReconcile: Bool {
        eventSource == .hooks && eventHook.eventTypes == .changes
    }
}

/// Which enrichment the reconcile gathers, and how.
public struct EnrichSettings: Sendable, Hashable {
    /// The plan for gathering apps and devices (SPEC §6).
    public enum Plan: String, Sendable, Hashable, CaseIterable {
        /// The cheaper of the two by the cost model.
        case auto
        /// `appLinks` and `devices` per user.
        case perUser = "per_user"
        /// All apps with their users, all devices with their users.
        case bulk
    }

    public var apps: Bool
    public var devices: Bool
    /// `User.Groups` (SPEC §19), on by default.
    public var groups: Bool
    public var plan: Plan

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(apps: Bool, devices: Bool, groups: Bool = false, plan: Plan) {
        self.apps = apps
        self.devices = devices
        self.groups = groups
        self.plan = plan
    }
}

/// Safety settings of the full reconcile.
public struct ReconcileSettings: Sendable, Hashable {
    /// A run that would remove more than this share of the connector's users is held (SPEC §6).
    public var maxRemovalShare: Double

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(maxRemovalShare: Double) {
        self.maxRemovalShare = maxRemovalShare
    }
}

/// Where mapped records go (SPEC §9).
public enum SinkSettings: Sendable {
    case ndjson(NDJSONSinkSettings)
    case csv(CSVSinkSettings)
    case http(HTTPSinkSettings)

    /// A one-line description without secrets.
    public var summary: String {
        switch self {
        case .ndjson(let sink): return "ndjson → \(sink.path == "-" ? "standard output" : sink.path)"
        case .csv(let sink):
            return
                "csv → \(sink.directory) (delimiter \"\(sink.delimiter)\", keep \(sink.keep), real-time every \(Int(sink.realtimeInterval))s, "
                + (sink.neutralizeFormulas ? "formulas neutralised)" : "formulas NOT neutralised)")
        case .http(let sink):
            return "http → \(sink.endpoint.absoluteString) (token from \(sink.tokenURL.absoluteString))"
        }
    }

    /// The OAuth token endpoint of an http sink (the first URL an online check calls).
    public var tokenURL: URL? {
        if case .http(let sink) = self { return sink.tokenURL }
        return nil
    }

    /// Records per batch handed to the sink.
    public var batchSize: Int {
        switch self {
        case .ndjson(let sink): return sink.batchSize
        case .csv(let sink): return sink.batchSize
        case .http(let sink): return sink.batchSize
        }
    }
}

/// One JSON line per change, to a file or standard output.
public struct NDJSONSinkSettings: Sendable, Hashable {
    /// The file, or `-` for standard output.
    public var path: String
    public var batchSize: Int

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(path: String, batchSize: Int) {
        self.path = path
        self.batchSize = batchSize
    }
}

/// Snapshot CSV files for the Neurons CSV connector.
public struct CSVSinkSettings: Sendable, Hashable {
    public var directory: String
    public var delimiter: Character
    /// How many snapshot files to keep.
    public var keep: Int
    /// At most one real-time snapshot per this many seconds.
    public var realtimeInterval: TimeInterval
    public var batchSize: Int
    /// Whether cells that a spreadsheet would run as formulas get a leading `'` (on by default).
    public var neutralizeFormulas: Bool

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        directory: String, delimiter: Character, keep: Int, realtimeInterval: TimeInterval, batchSize: Int,
        neutralizeFormulas: Bool = true
    ) {
        self.directory = directory
        self.delimiter = delimiter
        self.keep = keep
        self.realtimeInterval = realtimeInterval
        self.batchSize = batchSize
        self.neutralizeFormulas = neutralizeFormulas
    }
}

/// The Neurons ingestion endpoint.
public struct HTTPSinkSettings: Sendable {
    public var endpoint: URL
    public var tokenURL: URL
    public var clientId: String
    public var clientSecret: Secret
    public var scope: String?
    public var batchSize: Int
    /// A PEM CA bundle to trust instead of the system roots.
    public var caFile: String?

    /// Creates the settings; ``ConfigurationLoader`` is the usual way to get them.
    public init(
        endpoint: URL, tokenURL: URL, clientId: String, clientSecret: Secret, scope: String?, batchSize: Int,
        caFile: String?
    ) {
        self.endpoint = endpoint
        self.tokenURL = tokenURL
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.scope = scope
        self.batchSize = batchSize
        self.caFile = caFile
    }
}
