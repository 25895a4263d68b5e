import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Crypto
import Foundation
import Logging
import OktaClient

/// Okta as real orgs are (SPEC §19), measured: a reconcile through an OAuth service app that
/// requires DPoP against the same reconcile with an API token (calls, tokens fetched, nonce round
/// trips, CPU per user), and the calls group enrichment costs by each plan.
///
/// `okta-sim` runs as its own process and each measured reconcile in another, so CPU time is the
/// connector's alone.
struct OAuthBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth",
        abstract: "Reconcile with DPoP-bound OAuth tokens against an API token, and group enrichment calls per plan.")

    @Option(help: "Users in the org.") var users = 20_000
    @Option(help: "Groups in the org, Everyone and the app-assigning groups included.") var groups = 500

    func run() async throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("okta-oauth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let key = P256.Signing.PrivateKey()
        let publicKey = work.appendingPathComponent("app.pub.pem")
        let privateKey = work.appendingPathComponent("app.pem")
        try key.publicKey.pemRepresentation.write(to: publicKey, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(to: privateKey, atomically: true, encoding: .utf8)
        // okta-sim adds Everyone and twelve groups that assign apps to the generated ones.
        let generated = max(0, groups - 13)
        let simulator = [
            "--users", String(users), "--groups", String(generated), "--no-rate-limits", "--oauth-client", "0oaBench",
            "--oauth-public-key", publicKey.path,
        ]
        print(
            "oauth benchmark: \(users) users, \(groups) groups; okta-sim and the connector in separate processes; CPU is the connector process's"
        )
        try ReconcileBenchmark().withSimulator(directory, arguments: simulator) { url in
            print("\nthe same reconcile (users, apps and devices in bulk, no groups), by credential")
            print(
                "credential           listed  seconds  CPU µs/user  calls  token requests  tokens fetched  nonce round trips"
            )
            var perUser: [String: Double] = [:]
            for (name, arguments) in [
                ("API token", ["--auth", "token"]), ("OAuth + DPoP", ["--auth", "dpop", "--key", privateKey.path]),
            ] {
                let result = try runChild(directory, ["oauth-run", "--org", url, "--groups", "off"] + arguments)
                let cpu = result.cpuSeconds / Double(max(1, result.listed)) * 1e6
                perUser[name] = cpu
                print(
                    name.padding(toLength: 19, withPad: " ", startingAt: 0)
                        + "  \(pad(result.listed, 6))  \(format(result.seconds, 1).leftPad(7))  \(format(cpu, 1).leftPad(11))"
                        + "  \(pad(result.calls, 5))  \(pad(result.tokenRequests, 14))  \(pad(result.tokensFetched, 14))"
                        + "  \(pad(result.nonceRoundTrips, 17))")
            }
            if let token = perUser["API token"], let dpop = perUser["OAuth + DPoP"], token > 0 {
                print("CPU per user, DPoP against API token: \(format(dpop / token, 2))×")
            }
            print("\ngroup enrichment alone (apps and devices off), API token")
            print("plan       listed  seconds  group calls  of which /users/{id}/groups  /groups  /groups/{id}/users")
            for plan in ["bulk", "per_user"] {
                let result = try runChild(
                    directory, ["oauth-run", "--org", url, "--auth", "token", "--groups", plan])
                let calls = result.callsByEndpoint
                let userGroups = calls["GET /api/v1/users/{id}/groups"] ?? 0
                let list = calls["GET /api/v1/groups"] ?? 0
                let members = calls["GET /api/v1/groups/{id}/users"] ?? 0
                print(
                    plan.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + "  \(pad(result.listed, 6))  \(format(result.seconds, 1).leftPad(7))"
                        + "  \(pad(userGroups + list + members, 11))  \(pad(userGroups, 27))  \(pad(list, 7))  \(pad(members, 18))"
                )
            }
        }
    }

    func runChild(_ directory: URL, _ arguments: [String]) throws -> OAuthRunResult {
        try runBenchmarkChild(directory, arguments)
    }

    func pad(_ value: Int, _ width: Int) -> String { String(value).leftPad(width) }
}

struct OAuthRunResult: Codable {
    var listed: Int
    var seconds: Double
    var cpuSeconds: Double
    var calls: Int
    var callsByEndpoint: [String: Int]
    var tokenRequests: Int
    var tokensFetched: Int
    var nonceRoundTrips: Int
}

/// One measured reconcile with the given credential and group plan (run as a child by `oauth`).
struct OAuthRunBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth-run", abstract: "One measured reconcile with a credential (internal).")

    @Option var org: String
    @Option(help: "token or dpop") var auth: String
    @Option(help: "The service app's private key (with --auth dpop).") var key: String?
    @Option(help: "off, bulk or per_user: groups alone (apps and devices off) by that plan") var groups: String

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await BenchStore.using(postgresURL: nil, directory: directory) { store in
            try await measure(on: store)
        }
        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }

    /// One manual reconcile of the benchmark connector, built and run as `reconcile` builds and runs
    /// it (the assembly, then its operations), with what its credentials cost.
    func measure(on store: any StateStore) async throws -> OAuthRunResult {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let environment = ConnectorEnvironment(
            store: store, httpClient: http, gate: RunGate(leases: store, logger: logger), clock: SystemWallClock(),
            logger: logger)
        let assembled = try ConnectorAssembly.assemble(try settings(), in: environment)
        let operations = assembled.runtime.operations
        let cpuBefore = ProcessMemory.cpuSeconds
        let started = ContinuousClock.now
        let run = try await ReconcileRunBenchmark.reconcile(operations)
        let seconds = (ContinuousClock.now - started).seconds
        let cpu = ProcessMemory.cpuSeconds - cpuBefore
        guard run.outcome == .succeeded else { throw ValidationError("run \(run.outcome): \(run.errors)") }
        guard let counts = await operations.credentialCounts() else { throw ValidationError("no Okta client built") }
        let result = OAuthRunResult(
            listed: run.counts.listed, seconds: seconds, cpuSeconds: cpu, calls: run.oktaCalls.values.reduce(0, +),
            callsByEndpoint: run.oktaCalls, tokenRequests: counts.tokenRequests, tokensFetched: counts.tokensFetched,
            nonceRoundTrips: counts.nonceRoundTrips)
        await assembled.release()
        try await http.shutdown()
        return result
    }

    /// The benchmark connector with the asked credential and group plan.
    func settings() throws -> ConnectorSettings {
        let credentials: OktaCredentials
        if auth == "dpop", let key {
            credentials = .oauth(
                OAuthServiceApp(
                    clientId: "0oaBench", privateKey: Secret(try String(contentsOfFile: key, encoding: .utf8)),
                    keyId: nil, scopes: ["okta.users.read", "okta.apps.read", "okta.devices.read"], dpop: .required))
        } else {
            credentials = .apiToken(Secret("sim-api-token"))
        }
        let enrich: EnrichSettings
        switch groups {
        case "bulk": enrich = EnrichSettings(apps: false, devices: false, groups: true, plan: .bulk)
        case "per_user": enrich = EnrichSettings(apps: false, devices: false, groups: true, plan: .perUser)
        default: enrich = EnrichSettings(apps: true, devices: true, groups: false, plan: .bulk)
        }
        return ConnectorSettings(
            name: "Bench", slug: "bench", server: "Cloud", active: true,
            okta: OktaSettings(url: URL(string: org)!, credentials: credentials, rateLimitShare: 0.5),
            userStatuses: OktaUserStatus.allCases.filter { $0 != .deprovisioned },
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/bench", authHeader: "Authorization", secrets: [Secret("s")]),
            enrich: enrich, mapper: UserMapper(), sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
    }
}
