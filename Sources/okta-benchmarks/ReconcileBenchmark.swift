import ArgumentParser
import AsyncHTTPClient
import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OktaClient
import PostgreSQLStore
import PostgresNIO
import SQLiteStore

/// The reconcile benchmark of SPEC §14: users per second and CPU per user with rate limits off,
/// peak memory per org size (must stay flat), Okta calls against the minimum for the plan, and with
/// Okta-like limits on, wall time against the floor those limits impose.
///
/// The simulator runs as its own process (`okta-sim`) and each measured reconcile in another, so
/// that CPU time and peak memory are the connector's alone.
struct ReconcileBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Full reconcile throughput, memory, calls and rate-limited wall time.")

    @Option(help: "Org sizes with rate limits off.") var users: [Int] = [10_000, 100_000]
    @Option(help: "Org sizes with Okta-like rate limits on.") var limitedUsers: [Int] = [10_000]
    @Option(help: "Rate-limit windows in seconds for the limited runs (Okta: 60; same limits per window).")
    var window: [Double] = [3, 15]
    @Option(
        help:
            "Also run the unlimited rows on PostgreSQL: a server URL (a database per run is created there); default OKTA_TEST_POSTGRES_URL when set."
    )
    var postgresURL: String = ProcessInfo.processInfo.environment["OKTA_TEST_POSTGRES_URL"] ?? ""
    @Flag(help: "List users only, without apps and devices (the side-by-side comparison's setup).")
    var listOnly = false
    @Flag(help: "Skip the rows with rate limits on.") var skipLimited = false

    func run() async throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        print(
            "reconcile benchmark: \(listOnly ? "users only, no enrichment" : "bulk enrichment plan"); okta-sim and the connector in separate processes; CPU is the connector process's"
        )
        print("\nrate limits off; baseline = listing the same users over HTTP and decoding them, without reconciling")
        print(
            "store       users      listed  seconds  users/s  CPU µs/user  baseline users/s  ratio  peak RSS(MiB)  calls  minimum  calls/minimum"
        )
        var stores: [(String, [String])] = [("sqlite", [])]
        if !postgresURL.isEmpty { stores.append(("postgresql", ["--postgres-url", postgresURL])) }
        var cpu: [String: [Int: Double]] = [:]
        var unchanged: [(String, Int, ReconcileRunResult)] = []
        for count in users {
            for (storeName, storeArguments) in stores {
                let result = try withSimulator(directory, users: count, window: nil) { url in
                    try runChild(
                        directory,
                        ["reconcile-run", "--org", url, "--unchanged-run"] + storeArguments
                            + (listOnly ? ["--list-only"] : []))
                }
                unchanged.append((storeName, count, result))
                cpu[storeName, default: [:]][count] = result.cpuSeconds / Double(max(1, result.listed)) * 1e6
                print(
                    storeName.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                        + "\(pad(count, 9))  \(pad(result.listed, 6))  \(format(result.seconds, 1).leftPad(7))  \(format(result.usersPerSecond, 0).leftPad(7))  "
                        + "\(format(result.cpuSeconds / Double(max(1, result.listed)) * 1e6, 0).leftPad(11))  "
                        + "\(format(result.baselineUsersPerSecond, 0).leftPad(16))  \(format(result.usersPerSecond / result.baselineUsersPerSecond, 2).leftPad(5))  "
                        + "\(format(result.peakMiB, 1).leftPad(13))  \(pad(result.calls, 5))  \(pad(result.minimumCalls, 7))  "
                        + "\(format(Double(result.calls) / Double(result.minimumCalls), 2).leftPad(13))")
            }
        }
        print("\nthe same org again, nothing changed (the daily case); peak RSS is the process's over both runs")
        print(
            "store       users      listed  seconds  users/s  CPU µs/user  unchanged  CPU first/unchanged  peak RSS(MiB)"
        )
        for (storeName, count, result) in unchanged {
            guard let second = result.unchanged else { continue }
            let perUser = second.cpuSeconds / Double(max(1, second.listed)) * 1e6
            let firstPerUser = result.cpuSeconds / Double(max(1, result.listed)) * 1e6
            print(
                storeName.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                    + "\(pad(count, 9))  \(pad(second.listed, 6))  \(format(second.seconds, 1).leftPad(7))  "
                    + "\(format(Double(second.listed) / second.seconds, 0).leftPad(7))  \(format(perUser, 1).leftPad(11))  "
                    + "\(pad(second.unchangedUsers, 9))  \(format(firstPerUser / perUser, 1).leftPad(19))  "
                    + "\(format(result.peakMiB, 1).leftPad(13))")
        }
        if let postgres = cpu["postgresql"], let sqlite = cpu["sqlite"] {
            for count in users {
                if let p = postgres[count], let q = sqlite[count] {
                    print("PostgreSQL / SQLite CPU per user at \(count) users: \(format(p / q, 2)) (target ≤ 1.5)")
                }
            }
        }
        guard !limitedUsers.isEmpty, !skipLimited else { return }
        print(
            "\nOkta Enterprise limits per window, rate_limit_share 0.5 (Okta's windows are 60 s; shorter ones keep the run short)"
        )
        print("users      window(s)  seconds  floor(s)  seconds/floor  429s  rate-limit waits")
        for count in limitedUsers {
            for seconds in window {
                let result = try withSimulator(directory, users: count, window: seconds) { url in
                    try runChild(directory, ["reconcile-run", "--org", url, "--limited", "--window", String(seconds)])
                }
                print(
                    "\(pad(count, 9))  \(format(seconds, 0).leftPad(9))  \(format(result.seconds, 1).leftPad(7))  \(format(result.floorSeconds, 1).leftPad(8))  "
                        + "\(format(result.seconds / max(0.001, result.floorSeconds), 2).leftPad(13))  \(pad(result.rateLimited, 4))  \(pad(result.waits, 16))"
                )
            }
        }
    }

    func pad(_ value: Int, _ width: Int) -> String { String(value).leftPad(width) }

    /// Runs `okta-sim` for the duration of a body and stops it.
    func withSimulator<T>(_ directory: URL, users: Int, window: Double?, _ body: (String) throws -> T) throws -> T {
        var arguments = ["--users", String(users)]
        if let window {
            arguments += ["--rate-limit-window", String(window)]
        } else {
            arguments.append("--no-rate-limits")
        }
        return try withSimulator(directory, arguments: arguments, body)
    }

    /// Runs `okta-sim` with these arguments (on a free port) for the duration of a body and stops it.
    func withSimulator<T>(_ directory: URL, arguments: [String], _ body: (String) throws -> T) throws -> T {
        let process = Process()
        process.executableURL = directory.appendingPathComponent("okta-sim")
        process.arguments = arguments + ["--port", "0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var buffer = Data()
        while !String(decoding: buffer, as: UTF8.self).contains("ready in") {
            let chunk = pipe.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ValidationError("okta-sim did not start") }
            buffer += chunk
        }
        let line = String(decoding: buffer, as: UTF8.self)
        guard let range = line.range(of: "http://"), let end = line[range.lowerBound...].firstIndex(of: ",") else {
            throw ValidationError("okta-sim's ready line has no URL: \(line)")
        }
        return try body(String(line[range.lowerBound..<end]))
    }

    func runChild(_ directory: URL, _ arguments: [String]) throws -> ReconcileRunResult {
        try runBenchmarkChild(directory, arguments)
    }
}

/// Runs `okta-benchmarks` with the arguments of one measured child (its own process, so that its
/// CPU time and memory are its own) and decodes the JSON line it prints last.
func runBenchmarkChild<Result: Decodable>(_ directory: URL, _ arguments: [String]) throws -> Result {
    let process = Process()
    process.executableURL = directory.appendingPathComponent("okta-benchmarks")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") })
    else { throw ValidationError("benchmark child \(arguments) failed: \(String(decoding: data, as: UTF8.self))") }
    return try JSONDecoder().decode(Result.self, from: Data(line.utf8))
}

struct ReconcileRunResult: Codable {
    var listed: Int
    var seconds: Double
    var cpuSeconds: Double
    var usersPerSecond: Double
    var baselineUsersPerSecond: Double
    var peakMiB: Double
    var calls: Int
    var minimumCalls: Int
    var rateLimited: Int
    var waits: Int
    var floorSeconds: Double
    /// The second run over the same org, nothing changed (`--unchanged-run`).
    var unchanged: UnchangedRunResult?
}

struct UnchangedRunResult: Codable {
    var listed: Int
    var unchangedUsers: Int
    var seconds: Double
    var cpuSeconds: Double
}

/// The simulator's org summary (`GET /sim/v1/summary`).
struct OrgSummary: Decodable {
    var usersByStatus: [String: Int]
    var usersPerApp: [String: Int]
    var devices: Int
}

/// One measured reconcile against a running simulator (run as a child process by `reconcile`).
struct ReconcileRunBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile-run", abstract: "One measured reconcile (internal).")

    @Option var org: String
    @Flag var limited = false
    @Option var window: Double = 60
    @Option var postgresURL: String?
    @Flag var unchangedRun = false
    @Flag var listOnly = false

    /// One manual reconcile through the connector's operations, as `reconcile` runs it.
    static func reconcile(_ operations: ConnectorOperations) async throws -> RunRecord {
        guard case .ran(let report) = try await operations.reconcile(ReconcileOptions(trigger: .manual)) else {
            throw ValidationError("another reconcile of the benchmark connector holds its run lease")
        }
        return report.record
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await BenchStore.using(postgresURL: postgresURL, directory: directory) { store in
            try await measure(on: store)
        }
        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }

    /// The measured reconciles (the first, and the unchanged one when asked for) on a store.
    func measure(on store: any StateStore) async throws -> ReconcileRunResult {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let settings = ConnectorSettings(
            name: "Bench", slug: "bench", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: org)!, credentials: .apiToken(Secret("sim-api-token")), rateLimitShare: 0.5),
            userStatuses: OktaUserStatus.allCases.filter { $0 != .deprovisioned },
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/bench", authHeader: "Authorization", secrets: [Secret("s")]),
            enrich: EnrichSettings(apps: !listOnly, devices: !listOnly, plan: .bulk), mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: 0.2))
        let environment = ConnectorEnvironment(
            store: store, httpClient: http, gate: RunGate(leases: store, logger: logger), clock: SystemWallClock(),
            logger: logger)
        let client = ConnectorAssembly.oktaClient(
            for: settings, httpClient: http, clock: SystemWallClock(), logger: logger)
        let assembled = try ConnectorAssembly.assemble(settings, in: environment)
        let operations = assembled.runtime.operations

        var baselineRate = 0.0
        if !limited {
            let started = ContinuousClock.now
            var listed = 0
            for try await page in client.listUsers(statuses: settings.userStatuses) { listed += page.count }
            baselineRate = Double(listed) / (ContinuousClock.now - started).seconds
        }
        let callsBefore = operations.oktaCallCount
        let cpuBefore = ProcessMemory.cpuSeconds
        let started = ContinuousClock.now
        let run = try await Self.reconcile(operations)
        let seconds = (ContinuousClock.now - started).seconds
        let cpu = ProcessMemory.cpuSeconds - cpuBefore
        let peak = ProcessMemory.peakMiB
        guard run.outcome == .succeeded else { throw ValidationError("run \(run.outcome): \(run.errors)") }
        let callsAfterFirst = operations.oktaCallCount
        var unchanged: UnchangedRunResult?
        if unchangedRun {
            let cpuBefore = ProcessMemory.cpuSeconds
            let started = ContinuousClock.now
            let again = try await Self.reconcile(operations)
            guard again.outcome == .succeeded else { throw ValidationError("run \(again.outcome): \(again.errors)") }
            unchanged = UnchangedRunResult(
                listed: again.counts.listed, unchangedUsers: again.counts.unchanged,
                seconds: (ContinuousClock.now - started).seconds, cpuSeconds: ProcessMemory.cpuSeconds - cpuBefore)
        }

        // The minimum calls of the bulk plan for this org, from the simulator's own counts.
        var request = HTTPClientRequest(url: org + "/sim/v1/summary")
        request.method = .GET
        let response = try await http.execute(request, timeout: .seconds(600))
        let summary = try JSONDecoder().decode(
            OrgSummary.self, from: Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
        let listedCount = summary.usersByStatus.filter { $0.key != "DEPROVISIONED" }.values.reduce(0, +)
        let userPages = max(1, Int((Double(listedCount) / 200).rounded(.up)))
        let appCount = 24
        let appPages =
            summary.usersPerApp.values.reduce(0) { $0 + max(1, Int((Double($1) / 500).rounded(.up))) }
            + (appCount - summary.usersPerApp.count)
        let devicePages = max(1, Int((Double(summary.devices) / 200).rounded(.up)))
        let minimum = listOnly ? userPages : userPages + 1 + appPages + devicePages

        // The floor the limits impose: every bucket's calls beyond one window's budget (what the
        // share leaves: limit − ⌈limit × (1 − share)⌉) must wait whole windows; the phases of the
        // plan use their buckets one after another.
        var floor = 0.0
        if limited {
            let limits = RateLimitSettingsSnapshot.enterprise
            func windows(_ calls: Int, _ limit: Int) -> Double {
                let budget = max(1, limit - Int((Double(limit) * 0.5).rounded(.up)))
                return Double(max(0, Int((Double(calls) / Double(budget)).rounded(.up)) - 1))
            }
            floor =
                (windows(1 + appPages, limits.apps) + windows(devicePages, limits.devices)
                    + windows(userPages, limits.usersList)) * window
        }
        let result = ReconcileRunResult(
            listed: run.counts.listed, seconds: seconds, cpuSeconds: cpu,
            usersPerSecond: Double(run.counts.listed) / seconds,
            baselineUsersPerSecond: baselineRate, peakMiB: unchangedRun ? ProcessMemory.peakMiB : peak,
            calls: callsAfterFirst - callsBefore, minimumCalls: minimum, rateLimited: run.rateLimited,
            waits: await operations.rateLimitWaitCount(), floorSeconds: floor, unchanged: unchanged)
        try await http.shutdown()
        return result
    }
}

/// Okta's last published Enterprise per-minute limits of the buckets a reconcile uses (SPEC §16).
enum RateLimitSettingsSnapshot {
    static let enterprise = (usersList: 600, apps: 100, devices: 150)
}
