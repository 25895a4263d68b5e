import ConnectorConfiguration
import Foundation
import Testing

/// The user documentation matches what the loader accepts, and the README, `docs/` and `deploy/`
/// point only to what ships.
@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// A configuration that takes every branch of the loader: each sink type, an API token, a token
    /// file and an OAuth service app, TLS and the admin listener, every optional section. The loader
    /// asks for every key it accepts in each section it reads, so the keys it looked up are the
    /// accepted ones.
    static func maximalConfiguration(in directory: TemporaryDirectory) throws -> String {
        let certificate = try directory.write("tls.crt", "x")
        let key = try directory.write("tls.key", "x")
        let ca = try directory.write("ca.pem", "x")
        return """
            server:
              listen: 0.0.0.0:8443
              insecure_plain_http: false
              tls: { certificate: \(certificate), private_key: \(key) }
              admin:
                listen: 127.0.0.1:9090
                token: "${ADMIN_TOKEN}"
                metrics_token: metrics-token-with-at-least-32-bytes-0123456789
                tls: { certificate: \(certificate), private_key: \(key) }
                session_lifetime: 8h
              connector_server: Cloud
              max_body_bytes: 1048576
              shutdown_timeout: 20s
              limits: { max_connections: 4096, request_deadline: 10s, idle_timeout: 60s }
            store:
              file_group: root
              url: sqlite:///var/lib/okta-connector/state.db
              retention:
                { dedupe_window: 7d, failed_events: 90d, dead_letters: 90d, runs: 365d, keep_runs: 1000, prune_interval: 1h }
            logging: { format: json, level: info }
            connectors:
              - name: Token and NDJSON
                server: Cloud
                active: true
                okta: { url: "https://acme.okta.com", allow_insecure_http: false, api_token: "${TOKEN}", rate_limit_share: 0.5 }
                user_statuses: [ACTIVE]
                schedule: { repeats: weekly, on: sunday, start_time: "02:00", time_zone: Europe/Berlin }
                event_hook: { path: /hooks/okta/a, auth_header: Authorization, secrets: [one-with-at-least-32-bytes-0123456789], secrets_file: /run/secrets/more, public_url: "https://connector.example.com/hooks/okta/a", event_types: changes, daily_budget: 50000 }
                enrich: { apps: true, devices: true, groups: true, plan: auto }
                user_scope: { groups: ["Sales, EMEA", 00g1abcdefGHIJKL0h7] }
                mapping: { overrides: { User.CostCenter: profile.costCenter } }
                reconcile: { max_removal_share: 0.2 }
                sink: { type: ndjson, path: out.ndjson, batch_size: 500 }
              - name: OAuth and CSV
                okta:
                  url: https://acme.okta.com
                  oauth: { client_id: 0oa1, private_key_file: /run/secrets/key.pem, key_id: k1, scopes: [okta.users.read] }
                schedule: { repeats: daily, start_time: "03:00" }
                event_hook: { secrets_file: /run/secrets/hook }
                sink: { type: csv, directory: csv, delimiter: ";", keep: 10, realtime_interval: 15m, batch_size: 500, neutralize_formulas: true }
              - name: Token file and HTTP
                okta: { url: https://acme.okta.com, api_token_file: /run/secrets/token }
                schedule: { repeats: daily, start_time: "04:00" }
                event_hook: { secrets: [two-with-at-least-32-bytes-0123456789] }
                event_source: both
                system_log: { interval: 10s, overlap: 60s, hook_grace: 15s }
                sink:
                  type: http
                  endpoint: https://neurons.example.com/ingest
                  token_url: https://login.example.com/token
                  client_id: okta-connector
                  client_secret_file: /run/secrets/neurons
                  scope: write
                  ca_file: \(ca)
                  allow_insecure_http: false
                  batch_size: 500
            """
    }

    static let environment = ["ADMIN_TOKEN": "admin-with-at-least-32-bytes-0123456789", "TOKEN": "token"]

    /// The key paths the loader accepts, read off the loader itself.
    static func acceptedKeyPaths() throws -> Set<String> {
        let directory = try TemporaryDirectory()
        let yaml = try maximalConfiguration(in: directory)
        let secrets: (String) throws -> String = { _ in "dummy-secret-with-at-least-32-bytes-0123456789" }
        // The configuration must load: every key in it is a real one.
        _ = try ConfigurationLoader.parse(
            yaml: yaml, file: "/etc/okta-connector/config.yaml", environment: environment, fileReader: secrets)
        var paths = ConfigurationLoader.keyPathsRead(
            yaml: yaml, file: "/etc/okta-connector/config.yaml", environment: environment, fileReader: secrets)
        // The PostgreSQL branch of `store` (one store per file): the same file with a PostgreSQL URL.
        let ca = try directory.write("postgres-ca.pem", "x")
        let postgres = yaml.replacingOccurrences(
            of: "  url: sqlite:///var/lib/okta-connector/state.db",
            with:
                "  url: postgres://okta@db.internal:5432/okta?sslmode=verify-full\n  password: \"${ADMIN_TOKEN}\"\n  ca_file: \(ca)"
        )
        _ = try ConfigurationLoader.parse(
            yaml: postgres, file: "/etc/okta-connector/config.yaml", environment: environment, fileReader: secrets)
        paths.formUnion(
            ConfigurationLoader.keyPathsRead(
                yaml: postgres, file: "/etc/okta-connector/config.yaml", environment: environment, fileReader: secrets))
        // The targets of mapping overrides are the operator's own attribute names.
        return paths.filter { !$0.hasPrefix("connectors[].mapping.overrides.") }
    }

    @Test func everyKeyTheLoaderAcceptsIsInTheConfigurationReference() throws {
        let accepted = try Self.acceptedKeyPaths()
        #expect(accepted.contains("store.retention.prune_interval"))
        #expect(accepted.contains("connectors[].sink.client_secret_file"))
        let reference = try Self.read("docs/configuration.md")
        let missing = accepted.filter { !reference.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "docs/configuration.md does not document: \(missing.joined(separator: ", "))")
    }

    @Test func everyKeyTheConfigurationReferenceNamesIsAccepted() throws {
        let accepted = try Self.acceptedKeyPaths()
        let reference = try Self.read("docs/configuration.md")
        let pattern = try NSRegularExpression(
            pattern: #"`((?:server|store|logging|connectors)(?:\[\])?(?:\.[a-z_]+)*)`"#)
        let named = pattern.matches(in: reference, range: NSRange(reference.startIndex..., in: reference)).compactMap {
            Range($0.range(at: 1), in: reference).map { String(reference[$0]) }
        }
        #expect(named.count > 40)
        let unknown = Set(named).subtracting(accepted).sorted()
        #expect(unknown.isEmpty, "docs/configuration.md names keys the loader rejects: \(unknown)")
    }

    /// Whether this version's loader takes `postgres://` store URLs.
    static var loaderAcceptsPostgreSQL: Bool {
        parsesMinimal(storeURL: "postgres://u:p@localhost:5432/db?sslmode=disable")
    }

    /// Whether a minimal configuration with this store URL parses.
    static func parsesMinimal(storeURL: String) -> Bool {
        let yaml = """
            server: { insecure_plain_http: true }
            store: { url: "\(storeURL)" }
            connectors:
              - name: A
                okta: { url: "https://a.okta.com", api_token: t }
                schedule: { repeats: daily, start_time: "02:00" }
                event_hook: { secrets: [s-with-at-least-32-bytes-0123456789] }
                sink: { type: ndjson, path: "-" }
            """
        return (try? ConfigurationLoader.parse(yaml: yaml, file: "/tmp/probe.yaml", environment: [:])) != nil
    }

    @Test func everyConfigurationExampleUnderDeployValidates() throws {
        #expect(Self.parsesMinimal(storeURL: "sqlite://probe.db"), "the PostgreSQL probe's configuration is wrong")
        let deploy = Self.root.appendingPathComponent("deploy")
        // deploy/ and its folders (the Kubernetes, compose and systemd configurations).
        let files = try Self.userFacingFiles().filter {
            $0.hasPrefix("deploy/") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml"))
        }.map { String($0.dropFirst("deploy/".count)) }
        var checked = 0
        for name in files {
            let text = try String(contentsOf: deploy.appendingPathComponent(name), encoding: .utf8)
            // Only connector configurations (other YAML, such as manifests, has no top-level `connectors:`).
            guard text.split(separator: "\n").contains(where: { $0.hasPrefix("connectors:") }) else { continue }
            // Configurations for several replicas name a PostgreSQL store, which this loader rejects
            // until the PostgreSQL store is wired in; they are checked from then on.
            if text.split(separator: "\n").contains(where: {
                $0.trimmingCharacters(in: .whitespaces).hasPrefix("url: postgres://")
            }), !Self.loaderAcceptsPostgreSQL {
                continue
            }
            checked += 1
            // Every ${NAME} gets a dummy value; absolute paths move into a folder where the files exist.
            var environment: [String: String] = [:]
            let reference = try NSRegularExpression(pattern: #"\$\{([A-Za-z0-9_]+)\}"#)
            for match in reference.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) {
                    environment[String(text[range])] = "dummy-\(text[range])-with-at-least-32-bytes-0123456789"
                }
            }
            let directory = try TemporaryDirectory()
            let absolute = try NSRegularExpression(pattern: #"(?<=[\s:"'\[,])/(?:etc|run|var|srv|opt)/[^\s"',}\]#]+"#)
            var yaml = text
            let paths = Set(
                absolute.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
                    Range($0.range, in: text).map { String(text[$0]) }
                })
            for path in paths.sorted(by: { $0.count > $1.count }) {
                // A content of its own per file: two secrets that must differ (the admin and the
                // metrics token) do.
                let moved = try directory.write(
                    path.replacingOccurrences(of: "/", with: "_"),
                    "dummy-file-content-with-at-least-32-bytes-0123456789-\(path.hashValue.magnitude)")
                yaml = yaml.replacingOccurrences(of: path, with: moved)
            }
            do {
                _ = try ConfigurationLoader.parse(
                    yaml: yaml, file: deploy.appendingPathComponent(name).path, environment: environment)
            } catch {
                Issue.record("deploy/\(name) does not validate: \(error)")
            }
        }
        #expect(checked >= 2)
    }

    @Test func everyMetricTheCodeRecordsIsInTheMetricsReference() throws {
        let sources = Self.root.appendingPathComponent("Sources")
        let name = try NSRegularExpression(pattern: #""(okta_connector_[a-z_]+)""#)
        var names: Set<String> = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in name.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { names.insert(String(text[range])) }
            }
        }
        #expect(names.count > 20)
        let reference = try Self.read("docs/metrics.md")
        let missing = names.filter { !reference.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "docs/metrics.md does not describe: \(missing.joined(separator: ", "))")
    }

    /// The Markdown and YAML files users read, relative to the repository root.
    static func userFacingFiles() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/\($0)" }
        // deploy/ has folders (kubernetes, systemd, compose): every Markdown and YAML file in them,
        // hidden ones (generated secrets) left out.
        var deploy: [String] = []
        let folder = root.appendingPathComponent("deploy")
        let files = FileManager.default.enumerator(
            at: folder, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        while let file = files?.nextObject() as? URL {
            guard try file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true,
                ["md", "yaml", "yml"].contains(file.pathExtension)
            else { continue }
            deploy.append("deploy/" + file.path.dropFirst(folder.path.count + 1))
        }
        return (["README.md"] + docs + deploy).sorted()
    }

    @Test func theDocumentationStandsAloneWithNoReferencesToFilesThatDoNotShip() throws {
        let files = try Self.userFacingFiles()
        #expect(files.contains("docs/configuration.md"))
        let link = try NSRegularExpression(pattern: #"\]\(([^)\s]+)\)"#)
        let mentionedDoc = try NSRegularExpression(pattern: #"(?<![\w/.])(docs/[A-Za-z0-9_.-]+\.md)"#)
        for file in files {
            let text = try Self.read(file)
            #expect(!text.contains("SPEC"), "\(file) refers to a specification that does not ship")
            #expect(!text.contains("../shared"), "\(file) refers to a folder outside the repository")
            let folder = (file as NSString).deletingLastPathComponent
            var targets: [(path: String, anchor: String?)] = []
            for match in link.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let range = Range(match.range(at: 1), in: text) else { continue }
                let target = String(text[range])
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let path = parts[0].isEmpty ? file : (folder as NSString).appendingPathComponent(String(parts[0]))
                targets.append((path, parts.count > 1 ? String(parts[1]) : nil))
            }
            for match in mentionedDoc.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let range = Range(match.range(at: 1), in: text) else { continue }
                targets.append((String(text[range]), nil))
            }
            for (path, anchor) in targets {
                let normalized = (path as NSString).standardizingPath
                let exists = FileManager.default.fileExists(
                    atPath: Self.root.appendingPathComponent(normalized).path)
                #expect(exists, "\(file) links to \(path), which is not in the repository")
                if exists, let anchor, normalized.hasSuffix(".md") {
                    let anchors = Self.headingAnchors(try Self.read(normalized))
                    #expect(anchors.contains(anchor), "\(file) links to \(path)#\(anchor), which has no such heading")
                }
            }
        }
    }

    /// GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces as `-`.
    static func headingAnchors(_ markdown: String) -> Set<String> {
        var anchors: Set<String> = []
        var inCode = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inCode.toggle() }
            guard !inCode, line.hasPrefix("#") else { continue }
            let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
            let slug = String(
                title.compactMap { character -> Character? in
                    if character == " " { return "-" }
                    if character.isLetter || character.isNumber || character == "-" || character == "_" {
                        return character
                    }
                    return nil
                })
            anchors.insert(slug)
        }
        return anchors
    }
}
