import ConnectorConfiguration
import ConnectorDomain
import Foundation
import Testing

@Suite("Configuration: every error names file, key and value")
struct ConfigurationErrorTests {
    func only(_ errors: [ConfigError]) -> ConfigError? {
        #expect(errors.count == 1, "\(errors)")
        return errors.first
    }

    @Test func unknownKeysAreRejectedWithASuggestion() throws {
        let yaml = config(
            validConnector.replacingOccurrences(
                of: "    user_statuses:", with: "    user_status: [ACTIVE]\n    user_statuses:"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].user_status")
        #expect(error.kind == .unknownKey(suggestion: "user_statuses"))
        #expect(error.file == "/etc/okta-connector/config.yaml")
        #expect(error.line == 8)
        #expect(error.description.contains("/etc/okta-connector/config.yaml:8: connectors[0].user_status: unknown key"))
        let top = errors("servre: {}\n" + config(validConnector))
        #expect(top.contains { $0.keyPath == "servre" && $0.kind == .unknownKey(suggestion: "server") })
    }

    @Test func theAdminListenersTLSFilesAndSessionLifetimeAreChecked() throws {
        func admin(_ extra: String) -> String {
            "server:\n  insecure_plain_http: true\n  admin:\n    token: admin-token-of-at-least-32-bytes-0123\n" + extra
                + "\nconnectors:\n"
                + validConnector
        }
        let defaults = try load(admin(""))
        #expect(defaults.server.admin?.tls == nil, "plain HTTP unless configured")
        #expect(defaults.server.admin?.sessionLifetime == Double(4 * 3600), "four hours")
        #expect(try load(admin("    session_lifetime: 30m")).server.admin?.sessionLifetime == 1800)
        let missing = try #require(
            only(
                errors(admin("    tls: { certificate: /nonexistent/admin.crt, private_key: /nonexistent/admin.key }"))
                    .filter { $0.keyPath == "server.admin.tls.certificate" }))
        #expect(missing.kind == .unreadableFile(path: "/nonexistent/admin.crt", reason: "missing or not readable"))
        let noKey = errors(admin("    tls: { certificate: /nonexistent/admin.crt }"))
        #expect(noKey.contains { $0.keyPath == "server.admin.tls.private_key" })
        let short = try #require(only(errors(admin("    session_lifetime: 10s"))))
        #expect(short.keyPath == "server.admin.session_lifetime")
        #expect(short.description.contains("between 1m and 7d"))
    }

    @Test func wrongTypesAreRejected() throws {
        let yaml = config(validConnector.replacingOccurrences(of: "[ACTIVE, SUSPENDED]", with: "ACTIVE"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].user_statuses")
        #expect(error.kind == .wrongType(expected: "a list"))
        let active = try #require(only(errors(config(validConnector + "\n    active: maybe"))))
        #expect(active.keyPath == "connectors[0].active")
        #expect(active.kind == .wrongType(expected: "true or false"))
    }

    @Test func nonHTTPSOktaURLIsRejectedUnlessTheTestFlagIsSet() throws {
        let plain = validConnector.replacingOccurrences(of: "https://acme.okta.com", with: "http://localhost:8080")
        let error = try #require(only(errors(config(plain))))
        #expect(error.keyPath == "connectors[0].okta.url")
        #expect(error.description.contains("\"http://localhost:8080\""))
        #expect(error.description.contains("https"))
        let allowed = plain.replacingOccurrences(
            of: "      url: http://localhost:8080",
            with: "      url: http://localhost:8080\n      allow_insecure_http: true")
        #expect(try load(config(allowed)).connectors[0].okta.url.absoluteString == "http://localhost:8080")
        let bogus = validConnector.replacingOccurrences(of: "https://acme.okta.com", with: "acme.okta.com")
        #expect(only(errors(config(bogus)))?.keyPath == "connectors[0].okta.url")
    }

    @Test func unknownStatusIsRejected() throws {
        let yaml = config(validConnector.replacingOccurrences(of: "SUSPENDED]", with: "DELETED]"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].user_statuses[1]")
        #expect(error.description.contains("\"DELETED\""))
    }

    @Test func emptyStatusListIsRejected() throws {
        let yaml = config(validConnector.replacingOccurrences(of: "[ACTIVE, SUSPENDED]", with: "[]"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].user_statuses")
        #expect(error.description.contains("at least one status"))
    }

    @Test(arguments: [
        ("user_scope: { groups: [] }", "connectors[0].user_scope.groups", "at least one group"),
        ("user_scope: { groups: [Sales, \"  \"] }", "connectors[0].user_scope.groups", "none empty"),
        ("user_scope: {}", "connectors[0].user_scope.groups", "list the groups"),
        ("user_scope: { group: [Sales] }", "connectors[0].user_scope.group", "unknown"),
    ])
    func aWrongUserScopeIsRejectedWithItsKeyPath(_ scope: String, _ keyPath: String, _ mention: String) throws {
        let yaml = config(
            validConnector.replacingOccurrences(
                of: "user_statuses: [ACTIVE, SUSPENDED]", with: "user_statuses: [ACTIVE, SUSPENDED]\n    \(scope)"))
        let errors = errors(yaml)
        let error = try #require(errors.first { $0.keyPath == keyPath }, "\(errors)")
        #expect(error.description.lowercased().contains(mention.lowercased()), "\(error)")
    }

    @Test(arguments: [
        ("https://connector.example.com/hooks/okta/other", "its path must be the hook path"),
        ("http://connector.example.com/hooks/okta/okta-production", "expected the https URL"),
        ("not a url", "expected the https URL"),
    ])
    func aWrongPublicURLIsRejected(_ url: String, _ mention: String) throws {
        let yaml = config(
            validConnector.replacingOccurrences(
                of: "secrets: [\"${OKTA_HOOK_SECRET}\"]",
                with: "secrets: [\"${OKTA_HOOK_SECRET}\"]\n      public_url: \"\(url)\""))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].event_hook.public_url")
        #expect(error.description.contains(mention), "\(error)")
    }

    @Test(arguments: [
        ("event_types: signins", "event_types", "expected all (sign-ins included) or changes"),
        ("daily_budget: 500000", "daily_budget", "must be from 1 to 400000"),
        ("daily_budget: lots", "daily_budget", "a whole number"),
    ])
    func aWrongHookProfileOrBudgetIsRejected(_ line: String, _ key: String, _ mention: String) throws {
        let yaml = config(
            validConnector.replacingOccurrences(
                of: "secrets: [\"${OKTA_HOOK_SECRET}\"]", with: "secrets: [\"${OKTA_HOOK_SECRET}\"]\n      \(line)"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].event_hook.\(key)")
        #expect(error.description.contains(mention), "\(error)")
    }

    @Test func theHookProfileAndBudgetAreRead() throws {
        let yaml = config(
            validConnector.replacingOccurrences(
                of: "secrets: [\"${OKTA_HOOK_SECRET}\"]",
                with: "secrets: [\"${OKTA_HOOK_SECRET}\"]\n      event_types: changes\n      daily_budget: 40000"))
        let hook = try load(yaml).connectors[0]
            .eventHook
        #expect(hook.eventTypes == .changes)
        #expect(hook.dailyBudget == 40_000)
        #expect(!hook.subscribedEventTypes.contains("user.session.start"))
        #expect(hook.subscribedEventTypes.contains("user.lifecycle.deactivate"))
        #expect(hook.subscribedEventTypes.count == OktaLogEvent.subscribedEventTypes.count - 3)
    }

    @Test func aUserScopeNeedsTheGroupsScopeWhenScopesAreListed() throws {
        let oauth = """
                  oauth:
                    client_id: 0oaClient
                    client_secret: a-client-secret
                    scopes: [okta.users.read, okta.apps.read, okta.devices.read]
            """
        let yaml = config(
            validConnector.replacingOccurrences(of: "      api_token: ${OKTA_API_TOKEN}", with: oauth)
                .replacingOccurrences(
                    of: "user_statuses: [ACTIVE, SUSPENDED]",
                    with: "user_statuses: [ACTIVE, SUSPENDED]\n    user_scope: { groups: [Sales] }"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].okta.oauth.scopes")
        #expect(error.description.contains("okta.groups.read"))
    }

    @Test(arguments: [
        ("repeats: daily", "repeats: sometimes", "connectors[0].schedule.repeats", "\"sometimes\""),
        ("repeats: daily", "repeats: every 2 minutes", "connectors[0].schedule.repeats", "\"every 2 minutes\""),
        ("repeats: daily", "repeats: weekly", "connectors[0].schedule.on", "weekday"),
        ("start_time: \"02:00\"", "start_time: \"2 am\"", "connectors[0].schedule.start_time", "\"2 am\""),
        ("start_time: \"02:00\"", "start_time: \"24:00\"", "connectors[0].schedule.start_time", "\"24:00\""),
        (
            "time_zone: Europe/Berlin", "time_zone: Europe/Berlinn", "connectors[0].schedule.time_zone",
            "\"Europe/Berlinn\""
        ),
    ])
    func badScheduleValuesAreRejected(_ original: String, _ replacement: String, _ keyPath: String, _ mention: String)
        throws
    {
        let yaml = config(validConnector.replacingOccurrences(of: original, with: replacement))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == keyPath)
        #expect(error.description.contains(mention), "\(error)")
    }

    @Test func duplicateConnectorNamesAreRejected() throws {
        let second = validConnector.replacingOccurrences(
            of: "    event_hook:\n", with: "    event_hook:\n      path: /hooks/other\n")
        let error = try #require(only(errors(config(validConnector, second))))
        #expect(error.keyPath == "connectors[1].name")
        #expect(error.kind == .duplicate(value: "Okta production", firstAt: "connectors[0].name"))
        // Names that differ only in punctuation share a URL name, which must be unique too.
        let similar = second.replacingOccurrences(of: "name: Okta production", with: "name: okta-production!")
        #expect(only(errors(config(validConnector, similar)))?.keyPath == "connectors[1].name")
    }

    /// A second connector, so that a path naming the wrong connector (or none) shows.
    static let staging = validConnector.replacingOccurrences(of: "name: Okta production", with: "name: Okta staging")

    @Test(arguments: [
        ("\n    enrich: { plan: sometimes }", "connectors[1].enrich.plan"),
        ("\n    reconcile: { max_removal_share: 2 }", "connectors[1].reconcile.max_removal_share"),
        ("\n    active: maybe", "connectors[1].active"),
        (
            "|sink: { type: ndjson, path: out/users.ndjson }|sink: { type: ndjson, path: out/b.ndjson, batch_size: 0 }",
            "connectors[1].sink.batch_size"
        ),
        (
            "|sink: { type: ndjson, path: out/users.ndjson }|sink: { type: csv, directory: out, realtime_interval: 1e400s }",
            "connectors[1].sink.realtime_interval"
        ),
        (
            "|sink: { type: ndjson, path: out/users.ndjson }|sink: { type: csv, directory: out, realtime_interval: 99999999d }",
            "connectors[1].sink.realtime_interval"
        ),
        (
            "|sink: { type: ndjson, path: out/users.ndjson }|sink: { type: csv, directory: out, delimiter: \"\\\"\" }",
            "connectors[1].sink.delimiter"
        ),
        (
            "|api_token: ${OKTA_API_TOKEN}|api_token: ${OKTA_API_TOKEN}\n      rate_limit_share: 0",
            "connectors[1].okta.rate_limit_share"
        ),
        // SPEC §19: a key or a secret, never both; DPoP auto, required or off.
        (
            "|api_token: ${OKTA_API_TOKEN}|oauth: { client_id: 0oa1, private_key: k, client_secret: s }",
            "connectors[1].okta.oauth.client_secret"
        ),
        (
            "|api_token: ${OKTA_API_TOKEN}|oauth: { client_id: 0oa1, client_secret: s, key_id: kid-1 }",
            "connectors[1].okta.oauth.key_id"
        ),
        (
            "|api_token: ${OKTA_API_TOKEN}|oauth: { client_id: 0oa1, client_secret: s, dpop: sometimes }",
            "connectors[1].okta.oauth.dpop"
        ),
    ])
    func errorsInsideASecondConnectorNameItsFullKeyPath(_ change: String, _ keyPath: String) throws {
        var second = Self.staging
        if change.hasPrefix("|") {
            let parts = change.split(separator: "|", omittingEmptySubsequences: false)
            second = second.replacingOccurrences(of: String(parts[1]), with: String(parts[2]))
        } else {
            second += change
        }
        let error = try #require(only(errors(config(validConnector, second))))
        #expect(error.keyPath == keyPath, "\(error)")
    }

    @Test func duplicatesAfterAConnectorWithErrorsNameTheirPlaceInTheFile() throws {
        let broken = validConnector.replacingOccurrences(of: "name: Okta production", with: "name: Broken")
            .replacingOccurrences(of: "[ACTIVE, SUSPENDED]", with: "[]")
        let all = errors(config(broken, validConnector, validConnector))
        #expect(
            all.map(\.keyPath).sorted() == [
                "connectors[0].user_statuses", "connectors[2].event_hook.path", "connectors[2].name",
            ])
        #expect(all.contains { $0.kind == .duplicate(value: "Okta production", firstAt: "connectors[1].name") })
    }

    @Test func duplicateHookPathsAreRejected() throws {
        let first = validConnector.replacingOccurrences(
            of: "    event_hook:\n", with: "    event_hook:\n      path: /hooks/shared\n")
        let second = first.replacingOccurrences(of: "name: Okta production", with: "name: Okta staging")
        let error = try #require(only(errors(config(first, second))))
        #expect(error.keyPath == "connectors[1].event_hook.path")
        #expect(error.kind == .duplicate(value: "/hooks/shared", firstAt: "connectors[0].event_hook.path"))
    }

    @Test func unreadableSecretFilesAreRejectedNamingThePath() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path("no-such-token")
        let yaml = config(
            validConnector.replacingOccurrences(of: "api_token: ${OKTA_API_TOKEN}", with: "api_token_file: \(missing)"))
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].okta.api_token_file")
        #expect(error.kind == .unreadableFile(path: missing, reason: "no such file"))
        #expect(error.description.contains(missing))
    }

    /// An admin token or hook secret short enough to guess is refused, naming the key (SPEC §12).
    @Test func adminTokensAndHookSecretsShorterThan32BytesAreRefusedWithTheKeyPath() throws {
        let shortHook = try #require(
            only(
                errors(
                    config(validConnector),
                    env: [
                        "OKTA_API_TOKEN": "00aOktaTokenForTheseTests",
                        "OKTA_HOOK_SECRET": "short-hook-secret-0123456789abc",
                    ])))
        #expect(shortHook.keyPath == "connectors[0].event_hook.secrets[0]")
        #expect(shortHook.description.contains("31 bytes; at least 32"), "\(shortHook)")
        #expect(!shortHook.description.contains("short-hook-secret"), "the secret is not echoed")

        let admin = testServer + "\n  admin: { listen: 127.0.0.1:9090, token: 0123456789012345678901234567890 }"
        let shortToken = try #require(only(errors(admin + "\nconnectors:\n" + validConnector)))
        #expect(shortToken.keyPath == "server.admin.token")
        #expect(shortToken.description.contains("the admin token is 31 bytes"), "\(shortToken)")

        let directory = try TemporaryDirectory()
        let file = try directory.write("admin-token", "thirty-bytes-is-not-enough-30\n")
        let fromFile = testServer + "\n  admin: { listen: 127.0.0.1:9090, token_file: \(file) }"
        let shortFile = try #require(only(errors(fromFile + "\nconnectors:\n" + validConnector)))
        #expect(shortFile.keyPath == "server.admin.token_file")

        let hookFile = try directory.write("hook-secrets", String(repeating: "h", count: 40) + "\nshort-one\n")
        let fromHookFile = config(
            validConnector.replacingOccurrences(
                of: "secrets: [\"${OKTA_HOOK_SECRET}\"]", with: "secrets_file: \(hookFile)"))
        let shortLine = try #require(only(errors(fromHookFile)))
        #expect(shortLine.keyPath == "connectors[0].event_hook.secrets_file")
        #expect(shortLine.description.contains("line 2 of \(hookFile)"), "\(shortLine)")

        let exactly32 = config(validConnector)
        #expect(throws: Never.self) {
            try load(
                exactly32,
                env: [
                    "OKTA_API_TOKEN": "00aOktaTokenForTheseTests",
                    "OKTA_HOOK_SECRET": String(repeating: "s", count: 32),
                ])
        }
    }

    /// Off loopback, an admin listener without TLS is refused unless the file says so explicitly;
    /// `check-config` names the scheme it really serves, and warns about plain HTTP off loopback.
    @Test func anAdminListenerOffLoopbackNeedsTLSOrAnExplicitInsecurePlainHTTP() throws {
        let token = "admin-token-of-at-least-32-bytes-0123"
        func admin(_ section: String) -> String {
            testServer + "\n  admin: { listen: \(section), token: \(token) }\nconnectors:\n" + validConnector
        }
        let refused = try #require(only(errors(admin("0.0.0.0:9090"))))
        #expect(refused.keyPath == "server.admin.listen")
        #expect(refused.description.contains("server.admin.tls"), "\(refused)")
        #expect(refused.description.contains("insecure_plain_http: true"), "\(refused)")
        #expect(only(errors(admin("\"[::]:9090\""))) != nil)
        #expect(only(errors(admin("10.1.2.3:9090"))) != nil)
        for loopback in ["127.0.0.1:9090", "localhost:9090", "\"[::1]:9090\"", "127.0.0.53:9090"] {
            #expect(throws: Never.self, "\(loopback)") { try load(admin(loopback)) }
        }
        let accepted = try load(admin("0.0.0.0:9090, insecure_plain_http: true"))
        #expect(accepted.server.admin?.insecurePlainHTTP == true)
        #expect(
            accepted.server.plainListenersOffLoopback == [
                "the event hook listener on 0.0.0.0:8443", "the admin listener on 0.0.0.0:9090",
            ])
        #expect(
            accepted.summary(now: Date()).contains(
                "admin listener:      http://0.0.0.0:9090 (bearer token required) — WARNING"))

        let directory = try TemporaryDirectory()
        let certificate = try directory.write("tls.crt", "x")
        let key = try directory.write("tls.key", "x")
        let withTLS = try load(
            testServer
                + "\n  admin: { listen: 0.0.0.0:9090, token: \(token), tls: { certificate: \(certificate), private_key: \(key) } }"
                + "\nconnectors:\n" + validConnector)
        let summary = withTLS.summary(now: Date())
        #expect(summary.contains("admin listener:      https://0.0.0.0:9090 (bearer token required)\n"), "\(summary)")
        // The hook listener in plain HTTP (insecure_plain_http: true) on every interface: said.
        #expect(summary.contains("http (plain, test mode)://0.0.0.0:8443 — WARNING"), "\(summary)")
        #expect(withTLS.server.plainListenersOffLoopback == ["the event hook listener on 0.0.0.0:8443"])
    }

    @Test func theForwardTimeoutIsADurationOfTheSink() throws {
        let connector = try #require(try load(config(validConnector)).connectors.first)
        #expect(connector.forwardTimeout == 300, "five minutes by default")
        let set = config(
            validConnector.replacingOccurrences(
                of: "sink: { type: ndjson, path: out/users.ndjson }",
                with: "sink: { type: ndjson, path: out/users.ndjson, forward_timeout: 90s }"))
        #expect(try load(set).connectors.first?.forwardTimeout == 90)
        let bad = config(
            validConnector.replacingOccurrences(
                of: "sink: { type: ndjson, path: out/users.ndjson }",
                with: "sink: { type: ndjson, path: out/users.ndjson, forward_timeout: soon }"))
        let error = try #require(only(errors(bad)))
        #expect(error.keyPath == "connectors[0].sink.forward_timeout")
        #expect(error.description.contains("soon"))
    }

    @Test func unsetEnvironmentVariablesAreNamed() throws {
        let error = try #require(
            only(errors(config(validConnector), env: ["OKTA_HOOK_SECRET": "x-with-at-least-32-bytes-0123456789"])))
        #expect(error.keyPath == "connectors[0].okta.api_token")
        #expect(error.kind == .unsetEnvironmentVariable(name: "OKTA_API_TOKEN"))
    }

    @Test func secretsNeverAppearInErrors() throws {
        // Two problems beside two secrets: a bad share and a secret set twice.
        let yaml = config(
            validConnector.replacingOccurrences(
                of: "      api_token: ${OKTA_API_TOKEN}",
                with: "      api_token: ${OKTA_API_TOKEN}\n      api_token_file: /x\n      rate_limit_share: 1.5"))
        let all = errors(yaml)
        #expect(all.count == 2)
        let text = ConfigurationInvalid(errors: all).description
        #expect(!text.contains("00aTopSecretToken"))
        #expect(!text.contains("hook-secret-value-1"))
        #expect(text.contains("rate_limit_share"))
        #expect("\(Secret("abc"))" == "<redacted>")
    }

    @Test func invalidOverridePathsAreRejectedAtLoad() throws {
        let yaml = config(validConnector + "\n    mapping: { overrides: { User.CostCenter: credentials.password } }")
        let error = try #require(only(errors(yaml)))
        #expect(error.keyPath == "connectors[0].mapping.overrides.User.CostCenter")
        #expect(error.description.contains("\"credentials.password\""))
    }

    @Test func missingRequiredSectionsAndTLSAreReported() {
        let all = errors("connectors:\n  - name: X\n")
        let paths = Set(all.map(\.keyPath))
        #expect(
            paths.isSuperset(of: [
                "server.tls", "connectors[0].okta", "connectors[0].schedule",
                "connectors[0].event_hook", "connectors[0].sink",
            ]))
    }

    @Test func yamlSyntaxErrorsAreReportedWithTheFile() throws {
        let error = try #require(only(errors("connectors: [\n  - {")))
        #expect(error.file == "/etc/okta-connector/config.yaml")
        guard case .syntax = error.kind else {
            Issue.record("syntax error expected, got \(error)")
            return
        }
    }

    @Test func unreadableConfigurationFileIsReported() {
        #expect {
            try ConfigurationLoader.load(path: "/nonexistent/okta-connector.yaml", environment: [:])
        } throws: { error in
            "\(error)".contains("/nonexistent/okta-connector.yaml") && "\(error)".contains("no such file")
        }
    }

    @Test func postgresURLsAreAcceptedWithThePasswordFromTheEnvironment() throws {
        let yaml =
            "store: { url: \"postgres://okta@db.internal:5432/okta?sslmode=verify-full\", password: \"${PGPASS}\" }\n"
            + config(validConnector)
        var env = environment
        env["PGPASS"] = "s3cret"
        let loaded = try load(yaml, env: env)
        guard case .postgres(let url, let password, let caFile) = loaded.store.backend else {
            Issue.record("not a PostgreSQL store: \(loaded.store.backend)")
            return
        }
        #expect(url == "postgres://okta@db.internal:5432/okta?sslmode=verify-full")
        #expect(password?.reveal() == "s3cret")
        #expect(caFile == nil)
    }

    @Test func wrongPostgresURLsNameTheProblemWithoutThePassword() throws {
        func problems(_ url: String, extra: String = "") -> [ConfigError] {
            errors("store: { url: \"\(url)\"\(extra) }\n" + config(validConnector))
        }
        for (url, reason) in [
            ("postgres://u:pw@db:5432", "names no database"),
            ("postgres://db:5432/okta", "names no user"),
            ("postgres://u:pw@db/okta?sslmode=prefer", "sslmode prefer is not supported"),
            ("postgres://u:pw@db/okta?application=x", "unknown URL parameter application"),
        ] {
            let found = problems(url)
            #expect(found.contains { $0.keyPath == "store.url" && $0.description.contains(reason) }, "\(url): \(found)")
            #expect(found.allSatisfy { !$0.description.contains("pw@") }, "the URL may carry a password")
        }
        let both = problems("postgres://u:pw@db/okta", extra: ", password: other")
        #expect(both.contains { $0.description.contains("not both") })
        let ca = problems("postgres://u@db/okta", extra: ", ca_file: /nonexistent/ca.pem")
        #expect(ca.contains { $0.keyPath == "store.ca_file" })
    }
}
