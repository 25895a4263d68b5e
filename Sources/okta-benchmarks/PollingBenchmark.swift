import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
import OktaClient
import OktaSimulator
import SQLiteStore
import ServiceLifecycle

/// System Log polling (SPEC §17): how long an event takes from Okta's `published` time to the
/// connector's inbox (lag p50/p99), and the calls per minute it costs, against the simulator with
/// Enterprise rate limits while the org changes at a steady rate. Baseline: the lag a perfect poller
/// at the same interval would show (an event waits for the next poll: on average half an interval,
/// at worst one), measured against the same churn in the same run.
struct PollingBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polling",
        abstract: "System Log polling: event lag p50/p99 and Okta calls per minute (Enterprise rate limits).")

    @Option(help: "Users in the simulated org.") var users = 5000
    @Option(help: "Changes per second in the org.") var changes: Double = 5
    @Option(help: "Seconds the org changes.") var seconds: Double = 120
    @Option(help: "The polling interval (system_log.interval), in seconds.") var interval: Double = 10

    func run() async throws {
        var options = SimulatorOptions()
        options.users = users
        options.logger.logLevel = .critical
        let simulator = try await OktaSimulator.start(options)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-polling-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStateStore(path: directory.appendingPathComponent("state.db").path)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let connector = ConnectorSettings(
            name: "Bench", slug: "bench", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: simulator.baseURL)!, credentials: .apiToken(Secret("sim-api-token")),
                rateLimitShare: 0.5),
            userStatuses: OktaUserStatus.allCases.filter { $0 != .deprovisioned },
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(path: "/hooks/okta/bench", authHeader: "Authorization", secrets: []),
            enrich: EnrichSettings(apps: true, devices: true, plan: .auto), mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2), eventSource: .systemLog,
            systemLog: SystemLogSettings(interval: interval))
        var logger = Logger(label: "okta-benchmarks")
        logger.logLevel = .error
        let clock = SystemWallClock()
        let assembled = try ConnectorAssembly.assemble(
            connector,
            in: ConnectorEnvironment(
                store: store, httpClient: http, gate: RunGate(leases: store, logger: logger), clock: clock,
                logger: logger))
        guard let poller = assembled.parts.first(where: { $0.name == "system-log-poller" })?.service else {
            throw ValidationError("the connector polls the System Log, so it has a poller")
        }

        print(
            "polling benchmark: \(users) users, \(format(changes, 1)) changes/s for \(Int(seconds)) s, "
                + "interval \(format(interval, 0)) s, Enterprise rate limits (/api/v1/logs 120/min, share 0.5)")
        let polling = Task { try await poller.run() }
        // Let the first poll set its position before the org starts changing.
        try await Task.sleep(for: .seconds(1))
        simulator.requestCounters.reset()
        let started = Date()
        simulator.churn.start(perSecond: changes, duration: seconds)
        try await Task.sleep(for: .seconds(seconds))
        simulator.churn.stop()
        let emitted = simulator.systemLogCount
        // The last events need one more interval (and a little) to be read.
        let deadline = Date().addingTimeInterval(interval + 15)
        var stored: [PendingInboxEvent] = []
        while Date() < deadline {
            stored = try await store.pendingEvents(connector: connector.slug, limit: 1_000_000)
            if stored.count >= emitted { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let elapsedMinutes = Date().timeIntervalSince(started) / 60
        polling.cancel()
        _ = try? await polling.value
        let calls = simulator.requestCounters.total("GET /api/v1/logs")
        let limited = simulator.requestCounters.snapshot["GET /api/v1/logs 429"] ?? 0

        let lags = stored.map {
            Double($0.receivedAt.millisecondsSinceEpoch - $0.event.published.millisecondsSinceEpoch) / 1000
        }
        .sorted()
        func percentile(_ values: [Double], _ p: Double) -> Double {
            guard !values.isEmpty else { return .nan }
            return values[min(values.count - 1, Int((Double(values.count) * p).rounded(.up)) - 1)]
        }
        // The ideal poller at this interval: an event published at a uniformly random moment waits
        // for the next poll.
        let ideal50 = interval * 0.5
        let ideal99 = interval * 0.99
        let p50 = percentile(lags, 0.5)
        let p99 = percentile(lags, 0.99)
        print(
            "events emitted \(emitted), stored by polling \(stored.count)\(stored.count == emitted ? "" : "  (MISSING \(emitted - stored.count))")"
        )
        print("lag p50 \(format(p50, 2)) s (ideal \(format(ideal50, 2)) s, ratio \(format(p50 / ideal50, 2)))")
        print("lag p99 \(format(p99, 2)) s (ideal \(format(ideal99, 2)) s, ratio \(format(p99 / ideal99, 2)))")
        print("lag max \(format(lags.last ?? .nan, 2)) s")
        let perMinute = Double(calls) / elapsedMinutes
        let floor = 60 / interval
        print(
            "GET /api/v1/logs: \(calls) calls in \(format(elapsedMinutes * 60, 0)) s = \(format(perMinute, 1))/min "
                + "(one per interval would be \(format(floor, 1))/min, ratio \(format(perMinute / floor, 2))); "
                + "429s: \(limited); bucket share used \(format(perMinute / 120 * 100, 1)) % of 120/min")
        try await http.shutdown()
        await simulator.stop()
    }
}
