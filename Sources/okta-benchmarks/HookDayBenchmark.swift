import ArgumentParser
import AsyncHTTPClient
import ConnectorDomain
import Foundation
import NIOCore
import NIOHTTP1

/// A day of an org's event hook traffic against Okta's daily cap (400,000 events a day for the
/// whole org, nothing past it delivered or replayed): every user signs in many times a day and a few
/// users change, compressed into the simulator, once with the connector's hook subscribed to every
/// type it applies (`event_hook.event_types: all`) and once without the sign-in types (`changes`).
/// For each: the events the org generated, those delivered, the share of the org's cap they used,
/// those dropped over the cap (changes among them), and the connector's own 24-hour count and
/// projection from `GET /api/status`.
///
/// `okta-sim` and `okta-connector serve` run as their own processes, a fresh pair for each profile,
/// so that each day starts with an empty window.
struct HookDayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook-day",
        abstract:
            "A compressed day of sign-ins and changes through event hooks: deliveries and share of Okta's daily cap, with event_types all and changes."
    )

    @Option(help: "Users in the org.") var users = 20_000
    @Option(help: "Sign-in events per user per day.") var signInsPerUser = 50
    @Option(name: .customLong("changes-per-100-users"), help: "Profile or status changes per 100 users per day.")
    var changesPer100Users: Double = 2
    @Option(help: "The org's daily cap of event hook events (Okta: 400000).") var cap = 400_000

    func validate() throws {
        guard users > 0, signInsPerUser >= 0, changesPer100Users >= 0, cap >= 0 else {
            throw ValidationError(
                "--users must be positive; --sign-ins-per-user, --changes-per-100-users and --cap 0 or more")
        }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let signIns = users * signInsPerUser
        let changes = Int((Double(users) * changesPer100Users / 100).rounded())
        // Written at once, before the first profile's minutes, also when the output is a pipe.
        FileHandle.standardOutput.write(
            Data(
                ("hook-day benchmark: \(users) users, \(signInsPerUser) sign-ins per user (\(signIns) events) and "
                    + "\(changes) profile or status changes in one compressed day; the org's cap \(cap) events in 24 h; "
                    + "okta-sim and okta-connector serve in separate processes, a fresh pair per profile\n").utf8))
        var rows: [HookDayRunResult] = []
        for profile in ["all", "changes"] {
            let result: HookDayRunResult = try ReconcileBenchmark().withSimulator(
                directory,
                arguments: ["--users", String(users), "--no-rate-limits", "--hook-daily-cap", String(cap)]
            ) { url in
                try runBenchmarkChild(
                    directory,
                    [
                        "hook-day-run", "--org", url, "--profile", profile, "--sign-ins", String(signIns),
                        "--changes", String(changes),
                    ])
            }
            rows.append(result)
        }
        print(
            "\nprofile  generated  for hook  delivered  share of cap  over cap  changes over cap  connector 24 h  projected 24 h  budget share  warning  seconds"
        )
        for row in rows {
            let connector = row.connector
            print(
                row.profile.padding(toLength: 7, withPad: " ", startingAt: 0)
                    + "  \(pad(row.generated, 9))  \(pad(row.subscribed, 8))  \(pad(row.delivered, 9))"
                    + "  \((format(Double(row.delivered) / Double(max(1, row.cap)) * 100, 1) + " %").leftPad(12))"
                    + "  \(pad(row.overCap, 8))  \(pad(row.changesOverCap, 16))"
                    + "  \((connector.last24h.map(String.init) ?? "n/a").leftPad(14))"
                    + "  \((connector.projected24h.map(String.init) ?? "n/a").leftPad(14))"
                    + "  \((connector.share.map { format($0 * 100, 1) + " %" } ?? "n/a").leftPad(12))"
                    + "  \((connector.warning.map { $0 ? "yes" : "no" } ?? "n/a").leftPad(7))"
                    + "  \(format(row.seconds, 1).leftPad(7))")
        }
        print(
            "\ngenerated: events the org logged (sign-ins and changes); for hook: those of the types the hook subscribes to; "
                + "share of cap: delivered / the org's cap; over cap: dropped by Okta's cap, never delivered or replayed "
                + "(only a reconcile recovers the changes among them); connector 24 h and projection: the connector's "
                + "hookEvents in GET /api/status (its rolling count; Okta's window is fixed and opens with the first event)"
        )
        for row in rows where !row.systemLogNotices.isEmpty {
            print("System Log with \(row.profile): \(row.systemLogNotices.joined(separator: ", "))")
        }
    }

    func pad(_ value: Int, _ width: Int) -> String { String(value).leftPad(width) }
}

/// What one profile's day measured (printed by `hook-day-run` as its last line).
struct HookDayRunResult: Codable {
    /// The connector's hooks counts, as `GET /api/status` shows them (`nil` when it does not).
    struct ConnectorCount: Codable {
        var last24h: Int?
        var projected24h: Int?
        var budget: Int?
        var share: Double?
        var warning: Bool?
    }

    var profile: String
    var generated: Int
    var subscribed: Int
    var delivered: Int
    var cap: Int
    var overCap: Int
    var changesOverCap: Int
    var seconds: Double
    var connector: ConnectorCount
    /// The cap's warning and violation in the System Log.
    var systemLogNotices: [String]
}

/// One profile's day against a running simulator (run as a child process by `hook-day`): starts
/// `okta-connector serve` with one connector whose hook subscribes to that profile, registers the
/// hook with `okta-connector hooks register`, waits for the initial reconcile, then emits the day
/// through the simulator's control API and reads both sides' counts once every delivery is done.
struct HookDayRunBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook-day-run", abstract: "One profile's compressed hook day (internal).")

    @Option var org: String
    @Option(help: "all or changes") var profile: String
    @Option var signIns: Int
    @Option var changes: Int

    /// The sign-in types Okta logs most; `changes` leaves them out of the hook subscription.
    static let signInTypes: Set<String> = [
        "user.session.start", "user.authentication.sso", "user.authentication.auth_via_mfa",
    ]
    static let adminToken = "hook-day-admin-token-of-at-least-32-bytes"
    static let connectorName = "Hook day"
    static let hookPath = "/hooks/okta/hook-day"
    /// The day is emitted in this many slices, each with its share of the changes.
    static let slices = 20

    func run() async throws {
        guard ["all", "changes"].contains(profile) else { throw ValidationError("--profile: all or changes") }
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("okta-hook-day-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let listenPort = try freeLoopbackPort()
        let adminPort = try freeLoopbackPort()
        let hookURL = "http://127.0.0.1:\(listenPort)\(Self.hookPath)"
        try Self.adminToken.write(to: work.appendingPathComponent("admin-token"), atomically: true, encoding: .utf8)
        let config = work.appendingPathComponent("config.yaml")
        try """
        server:
          listen: 127.0.0.1:\(listenPort)
          insecure_plain_http: true
          admin: { listen: 127.0.0.1:\(adminPort), token_file: admin-token }
        store: { url: sqlite://state.db }
        logging: { format: json, level: warning }
        connectors:
          - name: \(Self.connectorName)
            okta: { url: \(org), allow_insecure_http: true, api_token: sim-api-token }
            schedule: { repeats: daily, start_time: "02:00" }
            event_hook:
              path: \(Self.hookPath)
              public_url: \(hookURL)
              event_types: \(profile)
              secrets: [hook-day-secret-\(UUID().uuidString)]
            sink: { type: ndjson, path: \(work.appendingPathComponent("sink.ndjson").path) }
        """.write(to: config, atomically: true, encoding: .utf8)

        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let serve = try ChildProgram(
            binaries.appendingPathComponent("okta-connector"), ["serve", "--config", config.path],
            log: work.appendingPathComponent("serve.log"))
        do {
            let result = try await measure(
                http: http, serve: serve, config: config, hookURL: hookURL, adminPort: adminPort)
            serve.stop()
            try await http.shutdown()
            print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
        } catch {
            serve.stop()
            try? await http.shutdown()
            throw HookDayError("\(error)\n--- okta-connector serve's log (end) ---\n\(serve.output.suffix(3000))")
        }
    }

    func measure(http: HTTPClient, serve: ChildProgram, config: URL, hookURL: String, adminPort: Int) async throws
        -> HookDayRunResult
    {
        let admin = "http://127.0.0.1:\(adminPort)"
        let adminHeaders = [("Authorization", "Bearer \(Self.adminToken)")]
        guard
            try await waitUntil(
                timeout: 120,
                {
                    guard serve.isRunning else { throw HookDayError("okta-connector serve exited") }
                    return (try? await call(http, "\(admin)/readyz"))?.status == 200
                }) == true
        else { throw HookDayError("okta-connector serve did not become ready") }

        let register = try ChildProgram.run(
            serve.executable,
            ["hooks", "register", "--config", config.path, "--connector", Self.connectorName, "--url", hookURL])
        guard register.status == 0 else { throw HookDayError("hooks register failed: \(register.output)") }

        // The day starts once the initial reconcile is done, as on a connector already in service.
        guard
            try await waitUntil(
                timeout: 3600,
                {
                    guard let status = try? await call(http, "\(admin)/api/status", headers: adminHeaders),
                        case .array(let runs)? = firstConnector(status.json)?["runs"]
                    else { return false }
                    return runs.contains { $0["endedAt"]?.stringValue != nil }
                }) == true
        else { throw HookDayError("the initial reconcile did not finish") }

        let ids = try await activeUserIds(http, count: changes)
        let subscribesToSignIns = profile == "all"
        let started = ContinuousClock.now
        var emitted = 0
        var changed = 0
        for slice in 0..<Self.slices {
            let signInTarget = signIns * (slice + 1) / Self.slices
            if signInTarget > emitted {
                let answer = try await call(
                    http, "\(org)/sim/v1/sign-ins", method: .POST, body: #"{"count": \#(signInTarget - emitted)}"#,
                    timeout: 3600)
                guard answer.status == 200, case .integer(let count)? = answer.json["emitted"] else {
                    throw HookDayError("POST /sim/v1/sign-ins answered \(answer.status): \(answer.body)")
                }
                emitted += Int(count)
            }
            let changeTarget = min(ids.count, changes * (slice + 1) / Self.slices)
            while changed < changeTarget {
                let id = ids[changed]
                // Half profile edits, half status changes: one event each.
                let answer =
                    changed % 2 == 0
                    ? try await call(
                        http, "\(org)/sim/v1/users/\(id)/profile", method: .POST,
                        body: #"{"title": "Changed during the day \#(changed)"}"#)
                    : try await call(http, "\(org)/sim/v1/users/\(id)/lifecycle/suspend", method: .POST)
                guard answer.status == 200 else {
                    throw HookDayError("a change of \(id) answered \(answer.status): \(answer.body)")
                }
                changed += 1
            }
        }
        guard
            try await waitUntil(
                timeout: 3600,
                {
                    (try? await call(http, "\(org)/sim/v1/hooks/stats").json["idle"]) == .bool(true)
                }) == true
        else { throw HookDayError("the simulator's deliveries did not finish") }
        let seconds = (ContinuousClock.now - started).seconds
        let stats = try await call(http, "\(org)/sim/v1/hooks/stats").json

        // The connector counts what it received; read until two reads a second apart agree.
        var connector = HookDayRunResult.ConnectorCount()
        var previous: JSONValue?
        for read in 0..<30 {
            let status = try await call(http, "\(admin)/api/status", headers: adminHeaders)
            let counts = firstConnector(status.json)?["hookEvents"]
            if read > 0, counts == previous { break }
            previous = counts
            try await Task.sleep(for: .seconds(1))
        }
        if let counts = previous {
            var warning: Bool?
            if case .bool(let value)? = counts["warning"] { warning = value }
            connector = HookDayRunResult.ConnectorCount(
                last24h: integer(counts["last24h"]), projected24h: integer(counts["projected24h"]),
                budget: integer(counts["budget"]), share: number(counts["share"]), warning: warning)
        }
        var notices: [String] = []
        for type in ["system.org.rate_limit.warning", "system.org.rate_limit.violation"] {
            let filter = "eventType eq \"\(type)\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let logged = try await call(
                http, "\(org)/api/v1/logs?filter=\(filter)", headers: [("Authorization", "SSWS sim-api-token")])
            if case .array(let events) = logged.json {
                for event in events {
                    notices.append(
                        "\(type) (\(event["debugContext"]?["debugData"]?["count"]?.stringValue ?? "?") events)")
                }
            }
        }
        var overCapByType: [String: Int] = [:]
        if case .object(let types)? = stats["eventsOverCapByType"] {
            for (type, value) in types { overCapByType[type] = integer(value) ?? 0 }
        }
        let overCap = integer(stats["eventsOverCap"]) ?? 0
        let signInsOverCap = overCapByType.filter { Self.signInTypes.contains($0.key) }.values.reduce(0, +)
        return HookDayRunResult(
            profile: profile, generated: emitted + changed,
            subscribed: (subscribesToSignIns ? emitted : 0) + changed,
            delivered: integer(stats["eventsDelivered"]) ?? 0, cap: integer(stats["cap"]) ?? 0, overCap: overCap,
            changesOverCap: overCap - signInsOverCap, seconds: seconds, connector: connector,
            systemLogNotices: notices)
    }

    /// Ids of up to `count` active users, from the Management API.
    func activeUserIds(_ http: HTTPClient, count: Int) async throws -> [String] {
        var ids: [String] = []
        let filter = "status eq \"ACTIVE\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        var next: String? = "\(org)/api/v1/users?limit=200&filter=\(filter)"
        while let url = next, ids.count < count {
            let page = try await call(http, url, headers: [("Authorization", "SSWS sim-api-token")])
            guard page.status == 200, case .array(let users) = page.json else {
                throw HookDayError("GET /api/v1/users answered \(page.status)")
            }
            ids += users.compactMap { $0["id"]?.stringValue }
            next = page.nextLink
        }
        return Array(ids.prefix(count))
    }
}

/// An answer of a local program.
struct LocalAnswer {
    var status: Int
    var body: String
    var links: [String]

    var json: JSONValue { (try? JSONCoding.decode(JSONValue.self, from: body)) ?? .null }

    /// The `rel="next"` link's URL.
    var nextLink: String? {
        for value in links where value.contains("rel=\"next\"") {
            if let start = value.firstIndex(of: "<"), let end = value.firstIndex(of: ">") {
                return String(value[value.index(after: start)..<end])
            }
        }
        return nil
    }
}

/// The first connector of a `GET /api/status` answer.
func firstConnector(_ status: JSONValue) -> JSONValue? {
    guard case .array(let connectors)? = status["connectors"] else { return nil }
    return connectors.first
}

/// A JSON number as an integer.
func integer(_ value: JSONValue?) -> Int? {
    switch value {
    case .integer(let number)?: Int(number)
    case .double(let number)?: Int(number)
    default: nil
    }
}

/// A JSON number.
func number(_ value: JSONValue?) -> Double? {
    switch value {
    case .integer(let number)?: Double(number)
    case .double(let number)?: number
    default: nil
    }
}

/// One HTTP request to a local program.
func call(
    _ http: HTTPClient, _ url: String, method: HTTPMethod = .GET, body: String? = nil, headers: [(String, String)] = [],
    timeout: Int64 = 30
) async throws -> LocalAnswer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
    }
    let response = try await http.execute(request, timeout: .seconds(timeout))
    let collected = try await response.body.collect(upTo: 64 << 20)
    return LocalAnswer(
        status: Int(response.status.code), body: String(buffer: collected), links: response.headers["link"])
}

/// Polls a condition every 200 ms until it holds or the timeout passes.
/// - Returns: Whether it held.
func waitUntil(timeout: TimeInterval, _ condition: () async throws -> Bool) async throws -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try await condition()
}

/// A free TCP port on 127.0.0.1 (bound, read and released).
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw HookDayError("no socket for a free port") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0 else { throw HookDayError("could not bind a free port") }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A program of this package run by a benchmark, its output in a log file.
final class ChildProgram {
    let process: Process
    let executable: URL
    let log: URL

    /// Starts a program.
    init(_ executable: URL, _ arguments: [String], log: URL) throws {
        self.executable = executable
        self.log = log
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, up to 20 s for a clean stop, then SIGKILL.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let end = Date().addingTimeInterval(20)
        while process.isRunning, Date() < end { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs a program to its end and returns its exit status and output.
    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Why a hook day could not be measured.
struct HookDayError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
