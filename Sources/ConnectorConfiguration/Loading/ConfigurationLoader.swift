import ConnectorDomain
public import Foundation
internal import Yams

/// Whether loading a configuration reads its secrets.
public enum SecretResolution: Sendable, Hashable {
    /// `${ENV}` references in secrets are substituted and `*_file` secrets read; a missing one is an
    /// error (every command that calls Okta, the sink or listens for hooks).
    case resolve
    /// Secrets are checked for shape only (exactly one of `key` / `key_file`) and not read: commands
    /// that only read the store (`status`, `runs`, `dead-letters list`) work without them.
    case unresolved
}

/// Loads and validates the configuration file (SPEC §3).
public enum ConfigurationLoader {
    /// Reads, parses and validates a configuration file.
    /// - Parameters:
    ///   - path: The YAML file.
    ///   - environment: Variables for `${NAME}` references; the process environment by default.
    ///   - secrets: Whether secrets are read; with `.unresolved` they hold placeholders.
    /// - Returns: The typed configuration.
    /// - Throws: ``ConfigurationInvalid`` listing every problem found.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        secrets: SecretResolution = .resolve
    ) throws(ConfigurationInvalid) -> ServiceConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationInvalid(errors: [
                ConfigError(file: path, keyPath: "", kind: .unreadableConfigFile(reason: describeFileError(error)))
            ])
        }
        return try parse(yaml: text, file: path, environment: environment, secrets: secrets)
    }

    /// Parses and validates configuration text.
    /// - Parameters:
    ///   - yaml: The YAML text.
    ///   - file: The file name used in errors and to resolve relative paths.
    ///   - environment: Variables for `${NAME}` references.
    ///   - fileReader: Reads `*_file` secrets; the file system by default.
    ///   - secrets: Whether secrets are read; with `.unresolved` they hold placeholders.
    /// - Returns: The typed configuration.
    /// - Throws: ``ConfigurationInvalid`` listing every problem found.
    public static func parse(
        yaml: String, file: String, environment: [String: String],
        fileReader: @escaping (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) },
        secrets: SecretResolution = .resolve
    ) throws(ConfigurationInvalid) -> ServiceConfiguration {
        let reader = ConfigReader(file: file, environment: environment, fileReader: fileReader, secrets: secrets)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigurationInvalid(errors: [
                    ConfigError(file: file, keyPath: "", kind: .syntax(reason: "the file is empty"))
                ])
            }
            root = node
        } catch let error as ConfigurationInvalid {
            throw error
        } catch {
            throw ConfigurationInvalid(errors: [
                ConfigError(file: file, keyPath: "", kind: .syntax(reason: syntaxReason(error)))
            ])
        }
        let configuration = ServiceConfigurationReader(reader: reader).read(root)
        guard reader.errors.isEmpty, let configuration else {
            throw ConfigurationInvalid(errors: reader.errors)
        }
        return configuration
    }
}

/// A YAML syntax error's first line: where and what. The parser's message goes on to quote the
/// source line, which may hold a secret written in the file; that part is left out.
/// - Parameter error: The parser's error.
/// - Returns: One line naming the line, column and problem.
func syntaxReason(_ error: any Error) -> String {
    let text = "\(error)"
    let first =
        text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true).first.map(String.init) ?? text
    return first.trimmingCharacters(in: .whitespaces)
}

/// Reads each section of the file into the typed model.
struct ServiceConfigurationReader {
    let reader: ConfigReader

    func read(_ root: Node) -> ServiceConfiguration? {
        guard let top = YAMLObject(reader: reader, path: "", node: root) else { return nil }
        let server = readServer(top.object("server"))
        let store = readStore(top.object("store"))
        let logging = readLogging(top.object("logging"))
        var connectors: [ConnectorSettings] = []
        // Each connector's own key path: indices in the file, not in the list of those that loaded.
        var connectorPaths: [String] = []
        if let items = top.list("connectors") {
            if items.isEmpty {
                reader.record(
                    "connectors", top.node, .invalidValue(value: nil, reason: "at least one connector is needed"))
            }
            for (path, node) in items {
                if let object = YAMLObject(reader: reader, path: path, node: node),
                    let connector = readConnector(object)
                {
                    connectors.append(connector)
                    connectorPaths.append(path)
                }
            }
        } else {
            top.missing("connectors")
        }
        top.finish()
        checkUniqueness(connectors, paths: connectorPaths)
        guard let server, let store, let logging else { return nil }
        return ServiceConfiguration(
            file: reader.file, server: server, store: store, logging: logging, connectors: connectors)
    }

    // MARK: server

    func readServer(_ object: YAMLObject?) -> ServerSettings? {
        let listenText = object?.string("listen") ?? "0.0.0.0:8443"
        let listen = ListenAddress(parsing: listenText)
        if listen == nil {
            reader.record("server.listen", object?.node, .invalidValue(value: listenText, reason: "expected host:port"))
        }
        let plain = object?.bool("insecure_plain_http") ?? false
        let tlsSection = object?.object("tls")
        let tls = readTLSFiles(tlsSection, path: "server.tls")
        if tlsSection == nil && !plain {
            reader.record(
                "server.tls", object?.node,
                .invalidValue(
                    value: nil,
                    reason: "the event hook listener needs a TLS certificate and key (Okta delivers only over HTTPS); "
                        + "`insecure_plain_http: true` is for tests only"))
        }
        var admin: AdminSettings?
        if let adminObject = object?.object("admin") {
            let adminListenText = adminObject.string("listen") ?? "127.0.0.1:9090"
            var token = adminObject.secret("token")
            if let secret = token {
                let key = adminObject.has("token_file") ? "token_file" : "token"
                if !isLongEnough(
                    secret, keyPath: adminObject.child(key), node: adminObject.node(key), what: "the admin token")
                {
                    token = nil
                }
            }
            var metricsToken = adminObject.secret("metrics_token", required: false)
            if let secret = metricsToken {
                let key = adminObject.has("metrics_token_file") ? "metrics_token_file" : "metrics_token"
                if !isLongEnough(
                    secret, keyPath: adminObject.child(key), node: adminObject.node(key), what: "the metrics token")
                {
                    metricsToken = nil
                } else if secret == token {
                    reader.record(
                        adminObject.child(key), adminObject.node(key),
                        .invalidValue(value: nil, reason: "the metrics token must differ from the admin token"))
                    metricsToken = nil
                }
            }
            let adminTLS = readTLSFiles(adminObject.object("tls"), path: "server.admin.tls")
            let adminPlain = adminObject.bool("insecure_plain_http") ?? false
            let sessionLifetime = adminObject.duration("session_lifetime") ?? AdminSettings.defaultSessionLifetime
            if sessionLifetime < 60 || sessionLifetime > 7 * 86_400 {
                reader.record(
                    "server.admin.session_lifetime", adminObject.node("session_lifetime"),
                    .invalidValue(value: "\(Int(sessionLifetime))s", reason: "expected between 1m and 7d"))
            }
            adminObject.finish()
            if let adminListen = ListenAddress(parsing: adminListenText) {
                // The admin token (and the console's sign-in) would cross the network in clear.
                if !adminObject.has("tls"), !adminListen.isLoopback, !adminPlain {
                    reader.record(
                        "server.admin.listen", adminObject.node("listen"),
                        .invalidValue(
                            value: adminListenText,
                            reason: "the admin listener would serve plain HTTP on an address other than loopback, "
                                + "so the admin token would cross the network in clear: set server.admin.tls, bind it "
                                + "to 127.0.0.1, or set `server.admin.insecure_plain_http: true` to accept that"))
                }
                if let token {
                    admin = AdminSettings(
                        listen: adminListen, token: token, tls: adminTLS, sessionLifetime: sessionLifetime,
                        insecurePlainHTTP: adminPlain, metricsToken: metricsToken)
                }
            } else {
                reader.record(
                    "server.admin.listen", adminObject.node,
                    .invalidValue(value: adminListenText, reason: "expected host:port"))
            }
        }
        let connectorServer = object?.string("connector_server") ?? "Cloud"
        let maxBody = object?.int("max_body_bytes", in: 1024...(64 << 20)) ?? (1 << 20)
        let shutdownTimeout = object?.duration("shutdown_timeout") ?? 20
        var limits = ListenerLimits()
        if let limitsObject = object?.object("limits") {
            limits.maxConnections = limitsObject.int("max_connections", in: 1...1_000_000) ?? limits.maxConnections
            limits.requestDeadline = limitsObject.duration("request_deadline") ?? limits.requestDeadline
            limits.idleTimeout = limitsObject.duration("idle_timeout") ?? limits.idleTimeout
            limitsObject.finish()
        }
        object?.finish()
        guard let listen else { return nil }
        return ServerSettings(
            listen: listen, tls: tls, admin: admin, connectorServer: connectorServer, maxBodyBytes: maxBody,
            shutdownTimeout: shutdownTimeout, limits: limits)
    }

    /// A `tls` section: certificate and private key files, both required and readable at start.
    func readTLSFiles(_ tlsObject: YAMLObject?, path: String) -> TLSFiles? {
        guard let tlsObject else { return nil }
        let certificate = tlsObject.string("certificate", required: true)
        let key = tlsObject.string("private_key", required: true)
        tlsObject.finish()
        guard let certificate, let key else { return nil }
        let files = TLSFiles(certificatePath: reader.resolvePath(certificate), privateKeyPath: reader.resolvePath(key))
        for (name, file) in [("certificate", files.certificatePath), ("private_key", files.privateKeyPath)] {
            if !FileManager.default.isReadableFile(atPath: file) {
                reader.record(
                    "\(path).\(name)", tlsObject.node, .unreadableFile(path: file, reason: "missing or not readable"))
            }
        }
        return files
    }

    // MARK: store

    func readStore(_ object: YAMLObject?) -> StoreSettings? {
        let url = object?.string("url") ?? "sqlite://okta-connector.db"
        let retention = readRetention(object?.object("retention"))
        var fileAccess = PrivateFileAccess.ownerOnly
        if let group = object?.string("file_group") {
            if let access = PrivateFileAccess.ownerAndGroup(group) {
                fileAccess = access
            } else {
                reader.record(
                    "store.file_group", object?.node("file_group"),
                    .invalidValue(value: group, reason: "no such group on this system"))
            }
        }
        let isPostgres = url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")
        // PostgreSQL only: the password (besides one in the URL) and a CA for sslmode=verify-full.
        let password = isPostgres ? object?.secret("password", required: false, alwaysResolve: true) : nil
        let caFile = isPostgres ? object?.string("ca_file").map(reader.resolvePath) : nil
        object?.finish()
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else {
                reader.record(
                    "store.url", object?.node, .invalidValue(value: url, reason: "the SQLite URL needs a file path"))
                return nil
            }
            return StoreSettings(
                backend: .sqlite(path: reader.resolvePath(path)), retention: retention, fileAccess: fileAccess)
        }
        if isPostgres {
            // Checked here so that the file's line is named; the URL is never echoed (it may hold a password).
            guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
                reader.record(
                    "store.url", object?.node,
                    .invalidValue(value: nil, reason: "expected postgres://USER@HOST:5432/DATABASE?sslmode=verify-full")
                )
                return nil
            }
            var problems: [String] = []
            if (components.user ?? "").isEmpty { problems.append("the URL names no user (postgres://USER@…)") }
            let database = components.path.drop { $0 == "/" }
            if database.isEmpty || database.contains("/") { problems.append("the URL names no database (…/DATABASE)") }
            for item in components.queryItems ?? [] {
                switch (item.name, item.value ?? "") {
                case ("sslmode", "disable"), ("sslmode", "require"), ("sslmode", "verify-full"), ("sslrootcert", _):
                    break
                case ("sslmode", let value):
                    problems.append("sslmode \(value) is not supported; use disable, require or verify-full")
                default:
                    problems.append("unknown URL parameter \(item.name); expected sslmode or sslrootcert")
                }
            }
            if components.password != nil, password != nil {
                problems.append("give the password either in the URL or as store.password/password_file, not both")
            }
            if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
                reader.record(
                    "store.ca_file", object?.node, .invalidValue(value: caFile, reason: "cannot read the file"))
            }
            for problem in problems {
                reader.record("store.url", object?.node, .invalidValue(value: nil, reason: problem))
            }
            guard problems.isEmpty else { return nil }
            return StoreSettings(
                backend: .postgres(url: url, password: password, caFile: caFile), retention: retention,
                fileAccess: fileAccess)
        }
        reader.record(
            "store.url", object?.node,
            .invalidValue(
                value: url,
                reason:
                    "expected sqlite:///absolute/path.db, sqlite://relative/path.db or postgres://USER@HOST/DATABASE"))
        return nil
    }

    func readRetention(_ object: YAMLObject?) -> RetentionSettings {
        var retention = RetentionSettings()
        guard let object else { return retention }
        if let value = object.duration("dedupe_window") {
            if value < 3_600 {
                reader.record(
                    object.child("dedupe_window"), object.node("dedupe_window"),
                    .invalidValue(
                        value: object.string("dedupe_window"),
                        reason: "must be at least 1h: Okta redelivers within seconds, keep a wide margin"))
            }
            retention.dedupeWindow = value
        }
        if let value = object.duration("failed_events") { retention.failedEvents = value }
        if let value = object.duration("dead_letters") { retention.deadLetters = value }
        if let value = object.duration("runs") { retention.runs = value }
        if let value = object.int("keep_runs", in: 1...100_000) { retention.keepRuns = value }
        if let value = object.duration("prune_interval") { retention.pruneInterval = max(60, value) }
        object.finish()
        return retention
    }

    // MARK: logging

    func readLogging(_ object: YAMLObject?) -> LoggingSettings? {
        let formatText = object?.string("format") ?? "logfmt"
        let level = object?.string("level") ?? "info"
        object?.finish()
        guard let format = LoggingSettings.Format(rawValue: formatText) else {
            reader.record(
                "logging.format", object?.node, .invalidValue(value: formatText, reason: "expected json or logfmt"))
            return nil
        }
        guard LoggingSettings.levels.contains(level) else {
            reader.record(
                "logging.level", object?.node,
                .invalidValue(value: level, reason: "expected one of \(LoggingSettings.levels.joined(separator: ", "))")
            )
            return nil
        }
        return LoggingSettings(format: format, level: level)
    }

    // MARK: connectors

    func readConnector(_ object: YAMLObject) -> ConnectorSettings? {
        let name = object.string("name", required: true)
        var slug: String?
        if let name {
            slug = ConnectorSlug.make(from: name)
            if slug!.isEmpty {
                reader.record(
                    object.child("name"), object.node,
                    .invalidValue(value: name, reason: "a name needs at least one letter or digit"))
            }
        }
        let server = object.string("server") ?? "Cloud"
        let active = object.bool("active") ?? true
        let eventSource = readEventSource(object)
        let enrich = readEnrich(object.object("enrich"), path: object.child("enrich"))
        let scopeGroups = readUserScope(object.object("user_scope"))
        let okta = readOkta(
            object.object("okta", required: true), polls: eventSource?.polls ?? false,
            groups: (enrich?.groups ?? true) || !(scopeGroups ?? []).isEmpty, scopeGroups: !(scopeGroups ?? []).isEmpty)
        let statuses = readStatuses(object)
        let schedule = readSchedule(object.object("schedule", required: true))
        // A connector that only polls needs no inbound endpoint, so no event hook section.
        let hook: EventHookSettings?
        if eventSource == .systemLog, object.node("event_hook") == nil {
            hook = EventHookSettings(path: "/hooks/okta/\(slug ?? "")", authHeader: "Authorization", secrets: [])
        } else {
            hook = readEventHook(object.object("event_hook", required: true), slug: slug ?? "")
        }
        let systemLog = readSystemLog(object.object("system_log"), eventSource: eventSource)
        let mapper = readMapping(object.object("mapping"))
        let sinkObject = object.object("sink", required: true)
        // How long `reconcile` retries forwarding its changes before it exits non-zero (SPEC §15).
        let forwardTimeout = sinkObject?.duration("forward_timeout") ?? ConnectorSettings.defaultForwardTimeout
        let sink = readSink(sinkObject)
        let reconcileObject = object.object("reconcile")
        let maxRemoval = reconcileObject?.double("max_removal_share", in: 0...1) ?? 0.2
        reconcileObject?.finish()
        object.finish()
        guard let name, let slug, !slug.isEmpty, let okta, let statuses, let schedule, let hook, let enrich,
            let mapper, let sink, let eventSource, let systemLog, let scopeGroups
        else { return nil }
        var settings = ConnectorSettings(
            name: name, slug: slug, server: server, active: active, okta: okta, userStatuses: statuses,
            schedule: schedule, eventHook: hook, enrich: enrich, mapper: mapper, sink: sink,
            reconcile: ReconcileSettings(maxRemovalShare: maxRemoval), eventSource: eventSource, systemLog: systemLog,
            forwardTimeout: forwardTimeout)
        settings.scopeGroups = scopeGroups
        return settings
    }

    /// `user_scope: { groups: [name or id, ...] }` (SPEC §19): `[]` when absent; `nil` when wrong.
    func readUserScope(_ object: YAMLObject?) -> [String]? {
        guard let object else { return [] }
        let groups = object.stringList("groups")
        let present = object.has("groups")
        object.finish()
        guard present else {
            reader.record(
                object.child("groups"), object.node,
                .invalidValue(value: nil, reason: "list the groups (names or ids) whose members are in scope"))
            return nil
        }
        guard let groups else { return nil }
        let trimmed = groups.map { $0.trimmingCharacters(in: .whitespaces) }
        if trimmed.isEmpty || trimmed.contains(where: \.isEmpty) {
            reader.record(
                object.child("groups"), object.node("groups"),
                .invalidValue(
                    value: groups.joined(separator: ", "),
                    reason:
                        "expected at least one group name or id, none empty (leave user_scope out to keep every user)"))
            return nil
        }
        return trimmed
    }

    func readEventSource(_ object: YAMLObject) -> EventSource? {
        guard let text = object.string("event_source") else {
            return object.has("event_source") ? nil : .hooks
        }
        guard let source = EventSource(rawValue: text.lowercased()) else {
            reader.record(
                object.child("event_source"), object.node("event_source"),
                .invalidValue(
                    value: text,
                    reason: "expected one of \(EventSource.allCases.map(\.rawValue).joined(separator: ", "))"))
            return nil
        }
        return source
    }

    func readSystemLog(_ object: YAMLObject?, eventSource: EventSource?) -> SystemLogSettings? {
        var settings = SystemLogSettings()
        guard let object else { return settings }
        if let eventSource, !eventSource.polls {
            reader.record(
                object.path, object.node,
                .invalidValue(value: nil, reason: "system_log settings need event_source: system_log or both"))
        }
        var ok = true
        if let interval = object.duration("interval") {
            if interval < 1 {
                reader.record(
                    object.child("interval"), object.node("interval"),
                    .invalidValue(value: object.string("interval"), reason: "must be at least 1s"))
                ok = false
            }
            settings.interval = interval
        } else if object.has("interval") {
            ok = false
        }
        if let overlap = object.duration("overlap") {
            settings.overlap = overlap
        } else if object.has("overlap") {
            ok = false
        }
        if let grace = object.duration("hook_grace") {
            settings.hookGrace = grace
        } else if object.has("hook_grace") {
            ok = false
        }
        object.finish()
        return ok ? settings : nil
    }

    func readOkta(_ object: YAMLObject?, polls: Bool = false, groups: Bool = true, scopeGroups: Bool = false)
        -> OktaSettings?
    {
        guard let object else { return nil }
        let urlText = object.string("url", required: true)
        let allowHTTP = object.bool("allow_insecure_http") ?? false
        var url: URL?
        if let urlText {
            let parsed = URL(string: urlText)
            if let parsed, let scheme = parsed.scheme?.lowercased(), let host = parsed.host, !host.isEmpty,
                parsed.path.isEmpty || parsed.path == "/", parsed.query == nil
            {
                if scheme == "https" || (scheme == "http" && allowHTTP) {
                    url = parsed
                } else {
                    reader.record(
                        object.child("url"), object.node,
                        .invalidValue(
                            value: urlText,
                            reason:
                                "the Okta URL must use https (http only with `allow_insecure_http: true`, for tests)"))
                }
            } else {
                reader.record(
                    object.child("url"), object.node,
                    .invalidValue(value: urlText, reason: "expected the org URL, e.g. https://acme.okta.com"))
            }
        }
        var credentials: OktaCredentials?
        let hasToken = object.has("api_token") || object.has("api_token_file")
        if let oauth = object.object("oauth") {
            if hasToken {
                reader.record(
                    object.child("oauth"), oauth.node,
                    .invalidValue(value: nil, reason: "set either api_token or oauth, not both"))
            }
            let clientId = oauth.string("client_id", required: true)
            let authentication = readClientAuthentication(oauth)
            let dpop = readDPoPMode(oauth)
            // Polling the System Log needs `okta.logs.read` too (SPEC §17).
            let explicit = oauth.stringList("scopes")
            if let explicit, polls, !explicit.contains("okta.logs.read") {
                reader.record(
                    oauth.child("scopes"), oauth.node,
                    .invalidValue(
                        value: explicit.joined(separator: " "),
                        reason: "polling the System Log (event_source) needs the okta.logs.read scope too"))
            }
            if let explicit, scopeGroups, !explicit.contains("okta.groups.read") {
                reader.record(
                    oauth.child("scopes"), oauth.node,
                    .invalidValue(
                        value: explicit.joined(separator: " "),
                        reason: "user_scope.groups needs the okta.groups.read scope too"))
            }
            // `okta.groups.read` is optional (SPEC §19): an app without it still works, without groups.
            let scopes =
                explicit ?? ["okta.users.read", "okta.apps.read", "okta.devices.read"]
                + (groups ? ["okta.groups.read"] : []) + (polls ? ["okta.logs.read"] : [])
            oauth.finish()
            if let clientId, let authentication {
                credentials = .oauth(
                    OAuthServiceApp(clientId: clientId, authentication: authentication, scopes: scopes, dpop: dpop))
            }
        } else if let token = object.secret("api_token", required: false) {
            credentials = .apiToken(token)
        } else if !hasToken {
            reader.record(
                object.child("api_token"), object.node,
                .invalidValue(value: nil, reason: "set api_token, api_token_file or oauth"))
        }
        let share = object.double("rate_limit_share", in: 0...1, exclusiveLower: true) ?? 0.5
        object.finish()
        guard let url, let credentials else { return nil }
        return OktaSettings(url: url, credentials: credentials, rateLimitShare: share)
    }

    /// `private_key` (with `key_id`) or `client_secret`: exactly one.
    func readClientAuthentication(_ oauth: YAMLObject) -> OAuthServiceApp.Authentication? {
        let hasKey = oauth.has("private_key") || oauth.has("private_key_file")
        let hasSecret = oauth.has("client_secret") || oauth.has("client_secret_file")
        if hasKey && hasSecret {
            reader.record(
                oauth.child("client_secret"), oauth.node,
                .invalidValue(
                    value: nil,
                    reason:
                        "set either private_key (private_key_jwt) or client_secret (client_secret_basic), not both"))
            return nil
        }
        if hasSecret {
            guard oauth.string("key_id") == nil else {
                reader.record(
                    oauth.child("key_id"), oauth.node,
                    .invalidValue(value: nil, reason: "key_id names a private key; this app uses client_secret"))
                return nil
            }
            return oauth.secret("client_secret").map { .clientSecret($0) }
        }
        let keyId = oauth.string("key_id")
        return oauth.secret("private_key").map { .privateKey($0, keyId: keyId) }
    }

    /// `dpop: auto | required | off` (default `auto`).
    func readDPoPMode(_ oauth: YAMLObject) -> OAuthServiceApp.DPoPMode {
        guard let text = oauth.string("dpop") else { return .auto }
        guard let mode = OAuthServiceApp.DPoPMode(rawValue: text) else {
            reader.record(
                oauth.child("dpop"), oauth.node("dpop"),
                .invalidValue(value: text, reason: "expected auto, required or off"))
            return .auto
        }
        return mode
    }

    func readStatuses(_ object: YAMLObject) -> [OktaUserStatus]? {
        guard let items = object.list("user_statuses") else {
            // The default selection imports every status but DEPROVISIONED, as the example shows.
            if object.node("user_statuses") == nil, !object.has("user_statuses") {
                return OktaUserStatus.allCases.filter { $0 != .deprovisioned }
            }
            return nil
        }
        guard !items.isEmpty else {
            reader.record(
                object.child("user_statuses"), object.node,
                .invalidValue(value: nil, reason: "select at least one status"))
            return nil
        }
        var statuses: [OktaUserStatus] = []
        var ok = true
        for (path, node) in items {
            guard let text = object.scalarString(node, path: path) else {
                ok = false
                continue
            }
            guard let status = OktaUserStatus(rawValue: text.uppercased()) else {
                reader.record(
                    path, node,
                    .invalidValue(
                        value: text,
                        reason:
                            "unknown status; expected one of \(OktaUserStatus.allCases.map(\.rawValue).joined(separator: " "))"
                    ))
                ok = false
                continue
            }
            if statuses.contains(status) {
                reader.record(
                    path, node, .duplicate(value: status.rawValue, firstAt: "an earlier entry of user_statuses"))
                ok = false
            }
            statuses.append(status)
        }
        return ok ? statuses : nil
    }

    func readSchedule(_ object: YAMLObject?) -> Schedule? {
        guard let object else { return nil }
        let repeats = object.string("repeats", required: true)
        let on = object.string("on")
        let start = object.string("start_time", required: true)
        let zone = object.string("time_zone")
        object.finish()
        guard let repeats, let start else { return nil }
        do {
            return try Schedule(repeats: repeats, on: on, startTime: start, timeZone: zone)
        } catch {
            reader.record(
                object.child(error.field.rawValue), object.node,
                .invalidValue(value: error.value.isEmpty ? nil : error.value, reason: error.reason))
            return nil
        }
    }

    /// The shortest admin token and event hook secret accepted, in bytes: shorter ones can be
    /// guessed. `openssl rand -base64 32` makes one of 44.
    static let minimumSecretBytes = 32

    /// Whether a secret that guards an inbound endpoint (the admin token, a hook secret) is long
    /// enough; records an error naming the key otherwise. Placeholders (secrets not resolved) pass.
    func isLongEnough(_ secret: Secret, keyPath: String, node: Node?, what: String) -> Bool {
        guard reader.secrets == .resolve else { return true }
        let bytes = secret.reveal().utf8.count
        guard bytes < Self.minimumSecretBytes else { return true }
        reader.record(
            keyPath, node,
            .invalidValue(
                value: nil,
                reason: "\(what) is \(bytes) bytes; at least \(Self.minimumSecretBytes) are needed so that it "
                    + "cannot be guessed (make one with `openssl rand -base64 32`)"))
        return false
    }

    func readEventHook(_ object: YAMLObject?, slug: String) -> EventHookSettings? {
        guard let object else { return nil }
        let path = object.string("path") ?? "/hooks/okta/\(slug)"
        let header = object.string("auth_header") ?? "Authorization"
        let publicURLText = object.string("public_url")
        let dailyBudget = object.int("daily_budget", in: 1...400_000) ?? EventHookSettings.defaultDailyBudget
        var eventTypes = HookEventTypes.all
        if let text = object.string("event_types") {
            if let profile = HookEventTypes(rawValue: text) {
                eventTypes = profile
            } else {
                reader.record(
                    object.child("event_types"), object.node("event_types"),
                    .invalidValue(
                        value: text, reason: "expected all (sign-ins included) or changes (sign-ins left out)"))
            }
        }
        var secrets: [Secret] = []
        if let items = object.list("secrets") {
            for (itemPath, node) in items {
                if let text = object.secretString(node, path: itemPath) {
                    if text.isEmpty {
                        reader.record(itemPath, node, .invalidValue(value: nil, reason: "the secret is empty"))
                    } else if isLongEnough(Secret(text), keyPath: itemPath, node: node, what: "the hook secret") {
                        secrets.append(Secret(text))
                    }
                }
            }
        }
        if let fileNode = object.node("secrets_file"),
            let file = object.scalarString(fileNode, path: object.child("secrets_file"))
        {
            if reader.secrets == .unresolved {
                secrets.append(Secret("file \(reader.resolvePath(file))"))
            } else if let content = object.readSecretFile(
                file, keyPath: object.child("secrets_file"), node: fileNode)
            {
                let lines = content.reveal().components(separatedBy: .newlines)
                for (number, line) in lines.enumerated() {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    guard !trimmed.isEmpty else { continue }
                    if isLongEnough(
                        Secret(trimmed), keyPath: object.child("secrets_file"), node: fileNode,
                        what: "the hook secret on line \(number + 1) of \(reader.resolvePath(file))")
                    {
                        secrets.append(Secret(trimmed))
                    }
                }
            }
        }
        if secrets.isEmpty, reader.errors.allSatisfy({ !$0.keyPath.hasPrefix(object.path) }) {
            reader.record(
                object.child("secrets"), object.node,
                .invalidValue(value: nil, reason: "at least one secret is needed (secrets or secrets_file)"))
        }
        object.finish()
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"), !path.contains(" ") else {
            reader.record(
                object.child("path"), object.node,
                .invalidValue(value: path, reason: "expected an absolute URL path like /hooks/okta/NAME"))
            return nil
        }
        var publicURL: URL?
        if let publicURLText {
            let url = URL(string: publicURLText)
            let loopback = ["localhost", "127.0.0.1", "::1"].contains(url?.host ?? "")
            guard let url, let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil,
                url.scheme == "https" || (url.scheme == "http" && loopback)
            else {
                reader.record(
                    object.child("public_url"), object.node("public_url"),
                    .invalidValue(
                        value: publicURLText,
                        reason:
                            "expected the https URL Okta reaches the listener at, e.g. https://connector.example.com\(path)"
                    ))
                return nil
            }
            guard url.path == path else {
                reader.record(
                    object.child("public_url"), object.node("public_url"),
                    .invalidValue(value: publicURLText, reason: "its path must be the hook path \(path)"))
                return nil
            }
            publicURL = url
        }
        guard !header.isEmpty,
            header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            reader.record(
                object.child("auth_header"), object.node,
                .invalidValue(value: header, reason: "not an HTTP header name"))
            return nil
        }
        guard !secrets.isEmpty else { return nil }
        return EventHookSettings(
            path: path, authHeader: header, secrets: secrets, publicURL: publicURL, eventTypes: eventTypes,
            dailyBudget: dailyBudget)
    }

    func readEnrich(_ object: YAMLObject?, path: String) -> EnrichSettings? {
        let apps = object?.bool("apps") ?? true
        let devices = object?.bool("devices") ?? true
        let groups = object?.bool("groups") ?? true
        let planText = object?.string("plan") ?? "auto"
        object?.finish()
        guard let plan = EnrichSettings.Plan(rawValue: planText) else {
            reader.record(
                "\(path).plan", object?.node,
                .invalidValue(value: planText, reason: "expected auto, per_user or bulk"))
            return nil
        }
        return EnrichSettings(apps: apps, devices: devices, groups: groups, plan: plan)
    }

    func readMapping(_ object: YAMLObject?) -> UserMapper? {
        guard let object else { return UserMapper() }
        var overrides: [String: UserFieldPath] = [:]
        var ok = true
        if let overridesObject = object.object("overrides") {
            guard case .mapping(let mapping) = overridesObject.node else { return nil }
            for (keyNode, _) in mapping {
                let target = keyNode.string ?? ""
                let path = overridesObject.child(target)
                guard let source = overridesObject.string(target) else {
                    ok = false
                    continue
                }
                let targetOK = target.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
                    !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                }
                guard targetOK, target.first?.isLetter == true else {
                    reader.record(
                        path, keyNode,
                        .invalidValue(value: target, reason: "a target attribute looks like User.CostCenter"))
                    ok = false
                    continue
                }
                do {
                    overrides[target] = try UserFieldPath(parsing: source)
                } catch {
                    reader.record(
                        path, keyNode, .invalidValue(value: source, reason: "not a user field path: \(error.reason)"))
                    ok = false
                }
            }
        }
        object.finish()
        return ok ? UserMapper(overrides: overrides) : nil
    }

    func readSink(_ object: YAMLObject?) -> SinkSettings? {
        guard let object else { return nil }
        guard let type = object.string("type", required: true) else {
            return nil
        }
        let batchSize = object.int("batch_size", in: 1...10_000) ?? 500
        defer { object.finish() }
        switch type {
        case "ndjson":
            guard let path = object.string("path", required: true) else { return nil }
            return .ndjson(NDJSONSinkSettings(path: reader.resolvePath(path), batchSize: batchSize))
        case "csv":
            let directory = object.string("directory", required: true)
            let delimiterText = object.string("delimiter") ?? ","
            let keep = object.int("keep", in: 1...10_000) ?? 10
            let interval = object.duration("realtime_interval") ?? 900
            let neutralize = object.bool("neutralize_formulas") ?? true
            guard delimiterText.count == 1, let delimiter = delimiterText.first, delimiter != "\"",
                !delimiter.isNewline
            else {
                reader.record(
                    object.child("delimiter"), object.node,
                    .invalidValue(value: delimiterText, reason: "one character, not a quote or a line break"))
                return nil
            }
            guard let directory else { return nil }
            return .csv(
                CSVSinkSettings(
                    directory: reader.resolvePath(directory), delimiter: delimiter, keep: keep,
                    realtimeInterval: interval, batchSize: batchSize, neutralizeFormulas: neutralize))
        case "http":
            // Plain http only with the same explicit test flag as the Okta URL's.
            let allowHTTP = object.bool("allow_insecure_http") ?? false
            let endpoint = httpsURL(object, "endpoint", allowHTTP: allowHTTP)
            let tokenURL = httpsURL(object, "token_url", allowHTTP: allowHTTP)
            let clientId = object.string("client_id", required: true)
            let secret = object.secret("client_secret")
            let scope = object.string("scope")
            let caFile = object.string("ca_file").map(reader.resolvePath)
            if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
                reader.record(
                    object.child("ca_file"), object.node,
                    .unreadableFile(path: caFile, reason: "missing or not readable"))
            }
            guard let endpoint, let tokenURL, let clientId, let secret else { return nil }
            return .http(
                HTTPSinkSettings(
                    endpoint: endpoint, tokenURL: tokenURL, clientId: clientId, clientSecret: secret, scope: scope,
                    batchSize: batchSize, caFile: caFile))
        default:
            reader.record(
                object.child("type"), object.node, .invalidValue(value: type, reason: "expected ndjson, csv or http"))
            return nil
        }
    }

    /// An outgoing URL: `https`, or `http` with `allow_insecure_http: true` (tests and the simulator).
    func httpsURL(_ object: YAMLObject, _ key: String, allowHTTP: Bool) -> URL? {
        guard let text = object.string(key, required: true) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme),
            url.host?.isEmpty == false, url.user == nil, url.password == nil
        else {
            reader.record(object.child(key), object.node, .invalidValue(value: text, reason: "expected an https URL"))
            return nil
        }
        guard scheme == "https" || allowHTTP else {
            reader.record(
                object.child(key), object.node,
                .invalidValue(
                    value: text,
                    reason: "must use https (http only with `allow_insecure_http: true`, for tests)"))
            return nil
        }
        return url
    }

    // MARK: cross-connector checks

    /// Names, URL names and hook paths must be unique across connectors.
    /// - Parameters:
    ///   - connectors: The connectors that loaded.
    ///   - paths: Each one's key path in the file (`connectors[2]`), which differs from its position
    ///     among those that loaded when an earlier one had errors.
    func checkUniqueness(_ connectors: [ConnectorSettings], paths connectorPaths: [String]) {
        var names: [String: String] = [:]
        var slugs: [String: String] = [:]
        var paths: [String: String] = [:]
        for (connector, path) in zip(connectors, connectorPaths) {
            if let first = names[connector.name.lowercased()] {
                reader.record("\(path).name", nil, .duplicate(value: connector.name, firstAt: "\(first).name"))
            } else if let first = slugs[connector.slug] {
                reader.record(
                    "\(path).name", nil,
                    .duplicate(value: connector.name, firstAt: "\(first).name (same URL name \(connector.slug))"))
            }
            names[connector.name.lowercased()] = names[connector.name.lowercased()] ?? path
            slugs[connector.slug] = slugs[connector.slug] ?? path
            if !connector.eventSource.takesHooks {
                // A connector that only polls serves no hook path.
            } else if let first = paths[connector.eventHook.path] {
                reader.record(
                    "\(path).event_hook.path", nil,
                    .duplicate(value: connector.eventHook.path, firstAt: "\(first).event_hook.path"))
            } else {
                paths[connector.eventHook.path] = path
            }
        }
    }
}
