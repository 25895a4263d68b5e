import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaClient
import OktaSimulator
import Testing

/// A connector configured against a simulator, with a fresh store of the chosen backend.
final class ConnectorHarness: @unchecked Sendable {
    let simulator: OktaSimulator
    var settings: ConnectorSettings
    let testStore: TestStore
    var store: any StateStore { testStore.store }
    let httpClient: HTTPClient
    var clock: any WallClock = SystemWallClock()

    init(
        simulator: OktaSimulator, statuses: [OktaUserStatus] = OktaUserStatus.allCases.filter { $0 != .deprovisioned },
        plan: EnrichSettings.Plan = .auto, credentials: OktaCredentials = .apiToken(Secret("sim-api-token")),
        backend: StoreBackend = .sqlite
    ) async throws {
        self.simulator = simulator
        testStore = try await backend.makeStore()
        settings = ConnectorSettings(
            name: "Test org", slug: "test-org", server: "Cloud", active: true,
            okta: OktaSettings(url: URL(string: simulator.baseURL)!, credentials: credentials, rateLimitShare: 0.5),
            userStatuses: statuses,
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/test-org", authHeader: "Authorization", secrets: [Secret("s")]),
            enrich: EnrichSettings(apps: true, devices: true, groups: true, plan: plan), mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
        httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    deinit {
        try? httpClient.syncShutdown()
    }

    func client(retry: RetryPolicy = RetryPolicy(maximumAttempts: 3, initialDelay: 0.01, maximumDelay: 0.05))
        -> OktaAPIClient
    {
        ConnectorAssembly.oktaClient(
            for: settings, httpClient: httpClient, clock: clock, logger: quietLogger, retry: retry)
    }

    func reconcile(
        _ options: ReconcileOptions = ReconcileOptions(trigger: .manual), client: OktaAPIClient? = nil
    ) async throws -> RunRecord {
        try await Reconciler(
            connector: settings, client: client ?? self.client(), store: store, clock: clock, logger: quietLogger
        )
        .run(options)
    }

    /// The records the connector should hold for the simulator's truth, by user id and hash.
    func expectedHashes() -> [String: String] {
        var result: [String: String] = [:]
        for user in simulator.org.allUsers() where settings.userStatuses.contains(user.status) {
            result[user.id] = settings.mapper.record(for: snapshot(of: user)).contentHash
        }
        return result
    }

    /// What the connector should know of a simulated user.
    func snapshot(of user: SimUser) -> UserSnapshot {
        simulator.expectedSnapshot(of: user, groups: settings.enrich.groups)
    }

    /// The stored hashes of present users.
    func storedHashes() async throws -> [String: String] {
        var result: [String: String] = [:]
        var after: String?
        while true {
            let page = try await store.presentUsers(connector: settings.slug, after: after, limit: 1000)
            for user in page { result[user.userId] = user.recordHash }
            guard let last = page.last else { break }
            after = last.userId
        }
        return result
    }

    func outboxDepth() async throws -> Int { try await store.outboxStats(connector: settings.slug).depth }
}

func withConnector<T>(
    users: Int = 200, configure: (inout SimulatorOptions) -> Void = { _ in },
    statuses: [OktaUserStatus] = OktaUserStatus.allCases.filter { $0 != .deprovisioned },
    plan: EnrichSettings.Plan = .auto, backend: StoreBackend = .sqlite,
    _ body: (ConnectorHarness) async throws -> T
) async throws -> T {
    var options = SimulatorOptions()
    options.users = users
    options.rateLimits = nil
    options.logger.logLevel = .critical
    configure(&options)
    let simulator = try await OktaSimulator.start(options)
    do {
        let harness = try await ConnectorHarness(
            simulator: simulator, statuses: statuses, plan: plan, backend: backend)
        let result = try await body(harness)
        await simulator.stop()
        return result
    } catch {
        await simulator.stop()
        throw error
    }
}
