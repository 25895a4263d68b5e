import AsyncHTTPClient
import ConnectorDomain
import ConnectorTestSupport
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Synchronization

/// How long each chaos scenario runs: `CHAOS_SECONDS` (default 20) of faults, plus setup and checks.
let chaosSeconds: Double = Double(ProcessInfo.processInfo.environment["CHAOS_SECONDS"] ?? "") ?? 20

/// One HTTP request to a local program; `nil` when it could not be made or answered.
func call(
    _ url: String, method: HTTPMethod = .GET, body: String? = nil, headers: [(String, String)] = [],
    timeout: Int64 = 10
) async -> (status: Int, body: String)? {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
    }
    guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(timeout)),
        let collected = try? await response.body.collect(upTo: 64 << 20)
    else { return nil }
    return (Int(response.status.code), String(buffer: collected))
}

/// The `okta-sim` program on a free port, driven through its control API.
final class SimulatorProcess: Sendable {
    let process: TestProcess
    let baseURL: String

    init(users: Int, directory: TestDirectory) async throws {
        let port = freePort()
        process = try TestProcess(
            TestProcess.executable("okta-sim"),
            arguments: ["--users", "\(users)", "--port", "\(port)", "--no-rate-limits"],
            log: directory.path("okta-sim.log"))
        baseURL = "http://127.0.0.1:\(port)"
        let process = process
        guard await eventually(timeout: 60, { process.output.contains("ready in") }) else {
            process.stop()
            throw ChaosError.didNotStart("okta-sim: \(process.output)")
        }
    }

    /// Up to 200 users' ids from the Management API (no faults must be active).
    func userIds() async -> [String] {
        guard
            let answer = await call(
                "\(baseURL)/api/v1/users?limit=200", headers: [("Authorization", "SSWS sim-api-token")]),
            answer.status == 200,
            case .array(let users)? = try? JSONCoding.decode(JSONValue.self, from: answer.body)
        else { return [] }
        return users.compactMap { $0["id"]?.stringValue }
    }

    /// Whether a user exists in the org with a status the connector selects (not deprovisioned).
    func userIsPresent(_ id: String) async -> Bool? {
        guard
            let answer = await call("\(baseURL)/api/v1/users/\(id)", headers: [("Authorization", "SSWS sim-api-token")])
        else { return nil }
        if answer.status == 404 { return false }
        guard answer.status == 200, let json = try? JSONCoding.decode(JSONValue.self, from: answer.body) else {
            return nil
        }
        return json["status"]?.stringValue != "DEPROVISIONED"
    }

    /// A user's current job title in the org.
    func title(of id: String) async -> String? {
        guard
            let answer = await call(
                "\(baseURL)/api/v1/users/\(id)", headers: [("Authorization", "SSWS sim-api-token")]),
            let json = try? JSONCoding.decode(JSONValue.self, from: answer.body)
        else { return nil }
        return json["profile"]?["title"]?.stringValue
    }

    /// Sets the fault plan (a JSON object) or `{}` for none.
    func faults(_ plan: String) async { _ = await call("\(baseURL)/sim/v1/faults", method: .PUT, body: plan) }

    /// Management API calls answered so far, and by status.
    func calls() async -> (total: Int, byStatus: [String: Int]) {
        guard let answer = await call("\(baseURL)/sim/v1/calls"),
            let json = try? JSONCoding.decode(JSONValue.self, from: answer.body)
        else { return (0, [:]) }
        var byStatus: [String: Int] = [:]
        if case .object(let statuses)? = json["byStatus"] {
            for (status, value) in statuses { if case .integer(let count) = value { byStatus[status] = Int(count) } }
        }
        if case .integer(let total)? = json["total"] { return (Int(total), byStatus) }
        return (0, byStatus)
    }

    func stop() async { await process.terminate(timeout: 10) }
}

/// `okta-connector serve` with one connector against the simulator, on plain HTTP (a test-only option).
final class ServeProcess: @unchecked Sendable {
    let directory: TestDirectory
    let listenPort = freePort()
    let adminPort = freePort()
    let secret: String
    let config: String
    private(set) var process: TestProcess?
    private(set) var starts = 0

    let environment: [String: String]
    let logName: String

    /// - Parameters:
    ///   - sink: The connector's `sink:` section, as YAML flow mapping.
    ///   - store: The `store:` section (SQLite in the folder by default).
    ///   - environment: Extra environment (a store password).
    ///   - name: Tells replicas sharing a folder apart (their config and log files).
    ///   - connectorOptions: Extra keys of the connector, one `key: value` a line (e.g. `event_source`).
    init(
        directory: TestDirectory, simulator: SimulatorProcess, sink: String,
        store: String = "{ url: sqlite://state.db }", environment: [String: String] = [:], name: String = "serve",
        secret: String = "chaos-hook-secret-\(UUID().uuidString)", connectorOptions: [String] = []
    ) throws {
        self.directory = directory
        self.secret = secret
        self.environment = environment
        self.logName = name
        try directory.write("admin-token", "admin-token-of-at-least-32-bytes-0123")
        config = try directory.write(
            name == "serve" ? "config.yaml" : "\(name).yaml",
            """
            server:
              listen: 127.0.0.1:\(listenPort)
              insecure_plain_http: true
              admin: { listen: 127.0.0.1:\(adminPort), token_file: admin-token }
              shutdown_timeout: 10s
            store: \(store)
            logging: { format: json, level: \(ProcessInfo.processInfo.environment["OKTA_CHAOS_LOG_LEVEL"] ?? "notice") }
            connectors:
              - name: Chaos org
                okta: { url: \(simulator.baseURL), allow_insecure_http: true, api_token: sim-api-token }
                schedule: { repeats: daily, start_time: "02:00" }
                event_hook: { secrets: [\(secret)] }
                sink: \(sink)
            """ + connectorOptions.map { "\n    " + $0 }.joined())
    }

    var hookURL: String { "http://127.0.0.1:\(listenPort)/hooks/okta/chaos-org" }
    var storePath: String { directory.path("state.db") }

    /// Starts serve and waits until its admin listener answers `/healthz`.
    func start() async throws {
        let process = try TestProcess(
            TestProcess.executable("okta-connector"), arguments: ["serve", "--config", config],
            log: directory.path("\(logName).log"), environment: environment)
        self.process = process
        starts += 1
        let admin = "http://127.0.0.1:\(adminPort)/readyz"
        guard await eventually(timeout: 30, { await call(admin, timeout: 2)?.status == 200 }) else {
            throw ChaosError.didNotStart("serve: \(process.output.suffix(2000))")
        }
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// The running process's id.
    var pid: Int32? { process?.pid }

    func kill9() { process?.kill9() }

    @discardableResult
    func terminate() async -> Int32? { await process?.terminate(timeout: 15) }

    func stop() { process?.stop(timeout: 5) }

    /// An admin API call with the bearer token.
    func admin(_ path: String, method: HTTPMethod = .GET) async -> (status: Int, body: String)? {
        await call(
            "http://127.0.0.1:\(adminPort)\(path)", method: method,
            headers: [("Authorization", "Bearer admin-token-of-at-least-32-bytes-0123")])
    }
}

/// The store, opened read-only beside the running process.
struct StoreReader {
    let path: String

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read(body)
    }

    /// Event uuids in the inbox, and how many are not applied yet.
    func inbox() throws -> (uuids: Set<String>, unapplied: Int) {
        try read { db in
            let uuids = try String.fetchAll(db, sql: "SELECT uuid FROM inbox_events WHERE connector = 'chaos-org'")
            let unapplied =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM inbox_events WHERE connector = 'chaos-org' AND applied_at IS NULL")
                ?? 0
            return (Set(uuids), unapplied)
        }
    }

    /// Entries waiting in the outbox.
    func outboxDepth() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE connector = 'chaos-org'") ?? 0 }
    }

    /// The latest run's outcome.
    func lastRunOutcome() throws -> String? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT outcome FROM runs WHERE connector = 'chaos-org' ORDER BY id DESC LIMIT 1")
        }
    }
}

/// A stream of signed event hook deliveries, as Okta sends them, counting what was acknowledged.
final class HookStream: Sendable {
    struct State {
        var acknowledged: [String: String] = [:]  // event uuid → user id
        var sent = 0
        var failed = 0
    }

    let url: String
    let secret: String
    let users: [String]
    /// When set, each event's user really changes in the simulator first (a new title), so that
    /// applying the event makes a new record version.
    let simulatorURL: String?
    private let state = Mutex(State())

    init(url: String, secret: String, users: [String], changingUsersIn simulatorURL: String? = nil) {
        self.url = url
        self.secret = secret
        self.users = users
        self.simulatorURL = simulatorURL
    }

    var acknowledged: [String: String] { state.withLock { $0.acknowledged } }
    var acknowledgedCount: Int { state.withLock { $0.acknowledged.count } }
    var failedCount: Int { state.withLock { $0.failed } }

    /// One delivery of `count` profile-update events; records its events when answered `200`.
    @discardableResult
    func deliver(count: Int = 10, about chosen: [String]? = nil) async -> Bool {
        let subjects = chosen ?? (0..<count).map { _ in users.randomElement() ?? "00unobody" }
        let events = subjects.map { (UUID().uuidString.lowercased(), $0) }
        if let simulatorURL {
            for (uuid, user) in events {
                _ = await call(
                    "\(simulatorURL)/sim/v1/users/\(user)/profile", method: .POST, body: #"{"title":"chaos \#(uuid)"}"#)
            }
        }
        let published = Timestamp(Date()).iso8601
        let body = """
            {"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",\
            "source":"https://chaos.okta.com/api/v1/eventHooks/who1","eventId":"\(UUID().uuidString)",\
            "eventTime":"\(published)","contentType":"application/json","data":{"events":[\(
                events.map { uuid, user in
                    """
                    {"uuid":"\(uuid)","published":"\(published)","eventType":"user.account.update_profile","version":"0",\
                    "severity":"INFO","actor":{"id":"00uADMIN","type":"User","alternateId":"a@example.com","displayName":"A"},\
                    "outcome":{"result":"SUCCESS","reason":null},"target":[{"id":"\(user)","type":"User",\
                    "alternateId":"u@example.com","displayName":"U"}]}
                    """
                }.joined(separator: ","))]}}
            """
        let answer = await call(url, method: .POST, body: body, headers: [("Authorization", secret)], timeout: 5)
        let ok = answer?.status == 200
        state.withLock { state in
            state.sent += events.count
            if ok {
                for (uuid, user) in events { state.acknowledged[uuid] = user }
            } else {
                state.failed += 1
            }
        }
        return ok
    }

    /// Sends deliveries back to back from a few concurrent senders until cancelled.
    func run(senders: Int = 4, eventsPerDelivery: Int = 10) async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<senders {
                group.addTask {
                    while !Task.isCancelled {
                        if !(await self.deliver(count: eventsPerDelivery)) {
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }
                }
            }
        }
    }
}

/// The lines of an NDJSON sink: per user, the versions in file order and the last job title, and the keys deleted.
func readSink(_ path: String) -> (
    versions: [String: [Int64]], titles: [String: String], deleted: Set<String>, lines: Int
) {
    var versions: [String: [Int64]] = [:]
    var titles: [String: String] = [:]
    var deleted: Set<String> = []
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    var lines = 0
    for line in text.split(separator: "\n") {
        lines += 1
        guard let json = try? JSONCoding.decode(JSONValue.self, from: String(line)),
            let key = json["key"]?.stringValue
        else { continue }
        if case .integer(let version)? = json["version"] { versions[key, default: []].append(version) }
        if json["op"]?.stringValue == "delete" { deleted.insert(key) }
        if let title = json["attributes"]?["User.JobTitle"]?.stringValue { titles[key] = title }
    }
    return (versions, titles, deleted, lines)
}

enum ChaosError: Error, CustomStringConvertible {
    case didNotStart(String)

    var description: String {
        switch self {
        case .didNotStart(let what): return "did not start: \(what)"
        }
    }
}
