import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NeuronsSinks
import ServiceLifecycle
import Synchronization
import Testing

/// A real local HTTP server standing in for Neurons: a token endpoint and an ingestion endpoint
/// that answer from a script and record what they got.
final class FakeNeurons: Sendable {
    struct Received: Sendable {
        let headers: [String: String]
        let body: String
    }

    final class State: Sendable {
        let batches = Mutex<[Received]>([])
        let tokenRequests = Mutex<[String]>([])
        let script = Mutex<[(Int, [String: String])]>([])
        /// Answers of the token endpoint (status and body) before it issues tokens.
        let tokenScript = Mutex<[(Int, String)]>([])
    }

    let state = State()
    let port: Int
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)" }
    var batches: [Received] { state.batches.withLock { $0 } }
    var tokenRequests: [String] { state.tokenRequests.withLock { $0 } }

    /// Answers the next ingestion requests with these statuses (and headers), then 200.
    func answer(_ statuses: [(Int, [String: String])]) { state.script.withLock { $0 = statuses } }

    /// Answers the next token requests with these statuses and bodies, then issues tokens.
    func answerTokens(_ answers: [(Int, String)]) { state.tokenScript.withLock { $0 = answers } }

    init() async throws {
        let router = Router()
        let state = self.state
        router.post("/connect/token") { request, _ -> Response in
            var copy = request
            let body = String(buffer: try await copy.collectBody(upTo: 1 << 16))
            let count = state.tokenRequests.withLock { list -> Int in
                list.append(body)
                return list.count
            }
            if let (status, refusal) = state.tokenScript.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                return Response(
                    status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: refusal)))
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: #"{"access_token":"token-\#(count)","expires_in":3600,"token_type":"Bearer"}"#)))
        }
        router.post("/ingest") { request, _ -> Response in
            var copy = request
            let body = String(buffer: try await copy.collectBody(upTo: 1 << 22))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let (status, extra) = state.script.withLock { $0.isEmpty ? (200, [:]) : $0.removeFirst() }
            if status == 200 { state.batches.withLock { $0.append(Received(headers: headers, body: body)) } }
            var fields = HTTPFields()
            for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
            return Response(status: HTTPResponse.Status(code: status), headers: fields)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fake-neurons")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    deinit { task.cancel() }

    /// Every record delivered, in order: (key, version, op).
    var records: [(String, Int64, String)] {
        batches.flatMap { batch -> [(String, Int64, String)] in
            guard let json = try? JSONCoding.decode(JSONValue.self, from: batch.body),
                case .array(let records)? = json["records"]
            else { return [] }
            return records.compactMap { record in
                guard let key = record["key"]?.stringValue, case .integer(let version)? = record["version"],
                    let op = record["op"]?.stringValue
                else { return nil }
                return (key, version, op)
            }
        }
    }
}

@Suite("Forwarding to Neurons (SPEC §9)", .serialized, .timeLimit(.minutes(3)))
struct ForwarderTests {
    /// A fresh store of the backend, a folder for the sink's files, and what keeps the store alive
    /// (its database is dropped or its file removed when that is released).
    func makeStore(_ backend: StoreBackend = .sqlite) async throws -> (any StateStore, URL, TestStore) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "okta-forward-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let test = try await backend.makeStore()
        return (test.store, directory, test)
    }

    func change(_ id: String, title: String) -> UserChange {
        let snapshot = UserSnapshot(
            user: OktaUser(id: id, status: "ACTIVE", profile: ["login": .string("\(id)@x"), "title": .string(title)]))
        return .upsert(snapshot: snapshot, record: UserMapper().record(for: snapshot))
    }

    func commit(_ store: any StateStore, _ changes: [UserChange]) async throws {
        _ = try await store.commit(UserWriteBatch(connector: "c", changes: changes, at: Timestamp(Date())))
    }

    func httpSink(_ neurons: FakeNeurons, _ http: HTTPClient, clock: any WallClock = SystemWallClock())
        -> NeuronsHTTPSink
    {
        NeuronsHTTPSink(
            endpoint: URL(string: neurons.url + "/ingest")!, tokenURL: URL(string: neurons.url + "/connect/token")!,
            clientId: "okta-connector", clientSecret: Secret("neurons-secret"), scope: "dataservices.write",
            httpClient: http, clock: clock)
    }

    @Test(arguments: StoreBackend.available)
    func ndjsonGetsTheLatestVersionOfEachUserInQueueOrder(_ backend: StoreBackend) async throws {
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, [change("00uA", title: "one"), change("00uB", title: "one")])
        try await commit(store, [change("00uA", title: "two")])
        try await commit(store, [.remove(userId: "00uB", reason: .deleted)])
        let path = directory.appendingPathComponent("out/users.ndjson").path
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: try NDJSONSink(path: path), clock: SystemWallClock(),
            logger: quietLogger)
        #expect(try await forwarder.drain() == 4)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2, "coalesced: one line per user")
        #expect(lines[0].hasPrefix(#"{"op":"upsert","key":"00uA","version":2,"attributes":{"#))
        #expect(lines[0].contains(#""User.JobTitle":"two""#))
        #expect(lines[1] == #"{"op":"delete","key":"00uB","version":2}"#)
        #expect(try await store.outboxStats(connector: "c").depth == 0)
    }

    @Test(arguments: StoreBackend.available)
    func aReplicaThatLostItsWorkerLeaseSendsNothing(_ backend: StoreBackend) async throws {
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, [change("00uA", title: "one")])
        let now = Date()
        let a = "host-a 100 aaaa"
        let lease = try await store.claimWorkerLease(
            connector: "c", holder: a, at: Timestamp(now), expiresAt: Timestamp(now.addingTimeInterval(60)))
        let fence = WorkerFenceHolder()
        fence.set(WorkerFence(holder: a, epoch: lease.epoch))
        let path = directory.appendingPathComponent("users.ndjson").path
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: try NDJSONSink(path: path), clock: SystemWallClock(),
            logger: quietLogger, fence: fence)
        #expect(try await forwarder.forwardOnce() == 1, "the holder forwards")
        // A newer version is queued; meanwhile another replica took the connector over.
        try await commit(store, [change("00uA", title: "two")])
        try await store.releaseWorkerLease(connector: "c", holder: a)
        _ = try await store.claimWorkerLease(
            connector: "c", holder: "host-b 200 bbbb", at: Timestamp(now),
            expiresAt: Timestamp(now.addingTimeInterval(60)))
        await #expect(throws: StoreError.fenced(connector: "c", epoch: lease.epoch)) {
            try await forwarder.forwardOnce()
        }
        // Without any lease (its keeper gave it up) the forwarder sends nothing either.
        fence.set(nil)
        await #expect(throws: StoreError.fenced(connector: "c", epoch: 0)) { try await forwarder.forwardOnce() }
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 1)
        #expect(try await store.outboxStats(connector: "c").depth == 1, "left for the new holder")
    }

    @Test(arguments: StoreBackend.available)
    func aCancelledForwarderSendsNothingEvenUnderALeaseStillHeld(_ backend: StoreBackend) async throws {
        // A forwarder left behind stuck in a call (see SupervisedService) is cancelled; when its call
        // returns, the lease may well be this replica's again under the same fence: it must not send.
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, [change("00uA", title: "one")])
        let now = Date()
        let holder = "host-a 100 aaaa"
        let lease = try await store.claimWorkerLease(
            connector: "c", holder: holder, at: Timestamp(now), expiresAt: Timestamp(now.addingTimeInterval(60)))
        let fence = WorkerFenceHolder()
        fence.set(WorkerFence(holder: holder, epoch: lease.epoch))
        let path = directory.appendingPathComponent("users.ndjson").path
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: try NDJSONSink(path: path), clock: SystemWallClock(),
            logger: quietLogger, fence: fence)
        let cancelled = Task { () async throws -> Int in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await forwarder.forwardOnce()
        }
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        #expect((try? String(contentsOfFile: path, encoding: .utf8))?.isEmpty ?? true, "nothing sent")
        #expect(try await store.outboxStats(connector: "c").depth == 1, "left for the live forwarder")
        #expect(try await forwarder.forwardOnce() == 1, "a forwarder that is not cancelled sends it")
    }

    @Test(arguments: StoreBackend.available)
    func httpBatchesCarryTokenIdempotencyKeyAndTheContractBody(_ backend: StoreBackend) async throws {
        let neurons = try await FakeNeurons()
        let http = HTTPClient.shared
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, (1...3).map { change("00u\($0)", title: "t") })
        let sink = httpSink(neurons, http)
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: sink, clock: SystemWallClock(), logger: quietLogger, batchSize: 2)
        _ = try await forwarder.drain()
        #expect(neurons.batches.count == 2)
        #expect(neurons.tokenRequests.count == 1, "the token is cached")
        #expect(neurons.tokenRequests[0].contains("grant_type=client_credentials"))
        #expect(neurons.tokenRequests[0].contains("client_secret=neurons-secret"))
        #expect(neurons.tokenRequests[0].contains("scope=dataservices.write"))
        let first = neurons.batches[0]
        #expect(first.headers["authorization"] == "Bearer token-1")
        #expect(first.headers["content-type"] == "application/json")
        let body = try JSONCoding.decode(JSONValue.self, from: first.body)
        #expect(body["connector"] == "c")
        #expect(body["dataType"] == "users")
        #expect(first.headers["idempotency-key"] == body["batchId"]?.stringValue)
        #expect(neurons.records.map(\.0) == ["00u1", "00u2", "00u3"])
        // A 401 fetches a new token once.
        neurons.answer([(401, [:])])
        try await commit(store, [change("00u1", title: "changed")])
        _ = try await forwarder.drain()
        #expect(neurons.tokenRequests.count == 2)
        #expect(neurons.batches.last?.headers["authorization"] == "Bearer token-2")
    }

    @Test(arguments: StoreBackend.available)
    func retryAfterIsHonouredAndADownSinkGetsEverythingInVersionOrder(_ backend: StoreBackend) async throws {
        let neurons = try await FakeNeurons()
        let http = HTTPClient.shared
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, [change("00u1", title: "a")])
        neurons.answer([(503, ["Retry-After": "7"])])
        let probe = OutboxForwarder(
            connector: "c", store: store, sink: httpSink(neurons, http), clock: SystemWallClock(), logger: quietLogger)
        await #expect {
            try await probe.forwardOnce()
        } throws: { error in
            if case SinkError.retryable(_, let retryAfter) = error { return retryAfter == 7 }
            return false
        }
        #expect(try await store.pendingOutbox(connector: "c", limit: 10).first?.attempts == 1)

        // Down for many attempts while changes keep coming; then up again.
        neurons.answer(Array(repeating: (503, [:]), count: 6) + [(429, [:]), (500, [:])])
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: httpSink(neurons, http), clock: SystemWallClock(), logger: quietLogger,
            batchSize: 2, idleWait: 0.02, maximumBackoff: 0.02)
        let service = Task { try await forwarder.run() }
        defer { service.cancel() }
        for round in 0..<5 {
            try await commit(store, [change("00u1", title: "round \(round)"), change("00u2", title: "round \(round)")])
            try await Task.sleep(for: .milliseconds(30))
        }
        let done = await eventually(timeout: 30) { (try? await store.outboxStats(connector: "c").depth) == 0 }
        #expect(done)
        let versions = Dictionary(grouping: neurons.records, by: \.0).mapValues { $0.map(\.1) }
        for (user, sent) in versions {
            #expect(sent == sent.sorted(), "\(user): versions in order")
        }
        #expect(versions["00u1"]?.last == 6)
        #expect(versions["00u2"]?.last == 5)
    }

    @Test(arguments: StoreBackend.available)
    func permanentRejectionsBecomeDeadLettersAndCanBeReplayed(_ backend: StoreBackend) async throws {
        let neurons = try await FakeNeurons()
        let http = HTTPClient.shared
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, [change("00u1", title: "a")])
        neurons.answer([(400, [:])])
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: httpSink(neurons, http), clock: SystemWallClock(), logger: quietLogger)
        _ = try await forwarder.drain()
        let letters = try await store.deadLetters(connector: "c", limit: 10)
        #expect(letters.count == 1)
        #expect(letters[0].reason.hasPrefix("HTTP 400"))
        #expect(neurons.records.isEmpty)
        #expect(try await store.replayDeadLetters(connector: "c", ids: nil, at: Timestamp(Date())) == 1)
        _ = try await forwarder.drain()
        #expect(neurons.records.map(\.0) == ["00u1"])
    }

    /// A sink that hands the batch on and then fails, as a process killed after the sink accepted
    /// and before the outbox was marked.
    final class CrashAfterDelivery: RecordSink {
        let inner: any RecordSink
        let crashes: Mutex<Int>

        init(inner: any RecordSink, crashes: Int) {
            self.inner = inner
            self.crashes = Mutex(crashes)
        }

        func deliver(_ batch: SinkBatch) async throws(SinkError) {
            try await inner.deliver(batch)
            let crash = crashes.withLock { count -> Bool in
                guard count > 0 else { return false }
                count -= 1
                return true
            }
            if crash { throw .retryable(reason: "crashed before marking", retryAfter: nil) }
        }
    }

    @Test(arguments: StoreBackend.available)
    func aCrashAfterTheSinkAcceptedResendsTheSameVersions(_ backend: StoreBackend) async throws {
        let neurons = try await FakeNeurons()
        let http = HTTPClient.shared
        let (store, directory, kept) = try await makeStore(backend)
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await commit(store, [change("00u1", title: "a"), change("00u2", title: "b")])
        let sink = CrashAfterDelivery(inner: httpSink(neurons, http), crashes: 1)
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: sink, clock: SystemWallClock(), logger: quietLogger)
        await #expect(throws: SinkError.self) { try await forwarder.forwardOnce() }
        _ = try await forwarder.drain()
        #expect(neurons.batches.count == 2)
        #expect(neurons.batches[0].body == neurons.batches[1].body, "the same versions again, idempotent at the sink")
        #expect(neurons.batches[0].headers["idempotency-key"] == neurons.batches[1].headers["idempotency-key"])
    }
}

/// A sink that answers with hostile values or refuses the credentials never crashes the process,
/// never drops records and never holds up a shutdown (SPEC §9, §15).
@Suite("Forwarding to a misbehaving sink (SPEC §9, §15)", .serialized, .timeLimit(.minutes(3)))
struct MisbehavingSinkTests {
    let helper = ForwarderTests()

    static let hostileRetryAfter: [(String, String)] = [
        ("99999999999999999999", "Thu, 27 Aug 2020 18:19:24 GMT"), ("-5", "garbage"), ("1e308", ""),
        ("nan", "Thu, 27 Aug 99999999999 18:19:24 GMT"), ("inf", "Thu, 99 Foo 2026 99:99:99 GMT"), ("garbage", "x"),
        ("", "Mon, 01 Jan 0001 00:00:00 GMT"), ("Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 27 Aug 2020 18:19:24 GMT"),
        ("Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"), ("1e-320", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ]

    @Test func hostileRetryAfterAndDateNeverTrapBackoffIsBoundedAndRecordsArriveOnce() async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a"), helper.change("00u2", title: "b")])
        neurons.answer(Self.hostileRetryAfter.map { (503, ["Retry-After": $0.0, "Date": $0.1]) })
        let clock = ManualClock(now: Date())
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared, clock: clock), clock: clock,
            logger: quietLogger, idleWait: 3600)
        let service = Task { try await forwarder.run() }
        defer { service.cancel() }
        for (retryAfter, date) in Self.hostileRetryAfter {
            #expect(await clock.waitForSleepers(1))
            let wait = try #require(clock.nextDeadline).timeIntervalSince(clock.now)
            #expect(wait >= 0 && wait <= 300, "Retry-After \(retryAfter), Date \(date): at most the 5 min cap")
            #expect(forwarder.state == .sinkUnavailable(forwarder.lastError ?? ""))
            clock.advance(by: wait + 0.001)
        }
        #expect(await eventually { (try? await store.outboxStats(connector: "c").depth) == 0 })
        #expect(neurons.records.map(\.0) == ["00u1", "00u2"], "delivered once the sink answers 200")
        #expect(forwarder.state == .healthy)
        #expect(try await store.deadLetters(connector: "c", limit: 10).isEmpty)
    }

    /// RFC 9110 §10.2.3: a `Retry-After` that is neither digits nor an HTTP date is ignored, so one
    /// odd header costs the forwarder's own first backoff (at most 0.5 s), not the 5-minute cap.
    @Test(arguments: ["1e400", "inf", "soon", "1.5", "-1"])
    func aRetryAfterThatIsNotOneLeavesTheForwardersOwnBackoff(_ retryAfter: String) async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answer([(503, ["Retry-After": retryAfter])])
        let clock = ManualClock(now: Date())
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared, clock: clock), clock: clock,
            logger: quietLogger, idleWait: 3600)
        let service = Task { try await forwarder.run() }
        defer { service.cancel() }
        #expect(await clock.waitForSleepers(1))
        let wait = try #require(clock.nextDeadline).timeIntervalSince(clock.now)
        #expect(wait <= 0.5, "Retry-After \(retryAfter): the first backoff, not \(wait) s")
        clock.advance(by: wait + 0.001)
        #expect(await eventually { (try? await store.outboxStats(connector: "c").depth) == 0 })
        #expect(neurons.records.map(\.0) == ["00u1"])
    }

    /// The `reconcile` command's forward (SPEC §15): retried with the sink's `Retry-After`, each
    /// wait capped at the time left, then given up with the attempts and the last answer.
    @Test func aDrainWithATimeoutWaitsAtMostTheTimeLeftThenGivesUp() async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answer(Array(repeating: (503, ["Retry-After": "60"]), count: 10))
        let clock = ManualClock(now: Date())
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared, clock: clock), clock: clock,
            logger: quietLogger)
        let draining = Task { try await forwarder.drain(retryingFor: 90) }
        defer { draining.cancel() }
        #expect(await clock.waitForSleepers(1))
        #expect(try #require(clock.nextDeadline).timeIntervalSince(clock.now) == 60, "the sink's Retry-After")
        clock.advance(by: 60)
        #expect(await clock.waitForSleepers(1))
        #expect(try #require(clock.nextDeadline).timeIntervalSince(clock.now) == 30, "capped at the time left")
        clock.advance(by: 30)
        await #expect {
            try await draining.value
        } throws: { error in
            guard let timedOut = error as? ForwardingTimedOut else { return false }
            return timedOut.attempts == 3 && timedOut.description.contains("503")
        }
        #expect(try await store.pendingOutbox(connector: "c", limit: 10).count == 1, "kept for the next run")
    }

    /// One line when the sink takes batches again after failures, not silence after the warnings.
    @Test func theForwarderSaysWhenTheSinkRecovers() async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answer([(503, [:]), (503, [:])])
        let clock = ManualClock(now: Date())
        let logs = CapturedLogs()
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared, clock: clock), clock: clock,
            logger: logs.logger(), idleWait: 3600)
        let service = Task { try await forwarder.run() }
        defer { service.cancel() }
        for _ in 0..<2 {
            #expect(await clock.waitForSleepers(1))
            #expect(!logs.contains("sink takes batches again"))
            clock.advance(by: try #require(clock.nextDeadline).timeIntervalSince(clock.now) + 0.001)
        }
        #expect(await eventually { logs.contains("sink takes batches again") })
        #expect(logs.all.filter { $0.contains("sink takes batches again") }.count == 1)
        #expect(logs.contains("failed_attempts=2"), "\(logs.all)")
    }

    @Test func aDrainWithATimeoutRidesOutABlip() async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answer([(503, ["Retry-After": "1"])])
        let clock = ManualClock(now: Date())
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared, clock: clock), clock: clock,
            logger: quietLogger)
        let draining = Task { try await forwarder.drain(retryingFor: 300) }
        defer { draining.cancel() }
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: 1)
        #expect(try await draining.value == 1)
        #expect(neurons.records.map(\.0) == ["00u1"])
    }

    @Test(arguments: [[401, 401], [403]])
    func aSinkThatRejectsTheCredentialsKeepsTheRecordsAndSaysSo(_ statuses: [Int]) async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answer(statuses.map { ($0, [:]) })
        let clock = ManualClock(now: Date())
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared, clock: clock), clock: clock,
            logger: quietLogger, idleWait: 3600)
        let service = Task { try await forwarder.run() }
        defer { service.cancel() }
        #expect(await clock.waitForSleepers(1))
        #expect(forwarder.state.description == "sink rejects credentials")
        let error = try #require(forwarder.lastError)
        for key in ["sink.client_id", "sink.client_secret", "sink.token_url"] { #expect(error.contains(key)) }
        #expect(try await store.pendingOutbox(connector: "c", limit: 10).count == 1, "the records stay queued")
        #expect(try await store.deadLetters(connector: "c", limit: 10).isEmpty, "not the records' fault")
        let wait = try #require(clock.nextDeadline).timeIntervalSince(clock.now)
        #expect(wait >= SinkError.credentialsRetryInterval && wait <= 300)
        clock.advance(by: wait)
        #expect(await eventually { (try? await store.outboxStats(connector: "c").depth) == 0 })
        #expect(neurons.records.map(\.0) == ["00u1"])
        #expect(forwarder.state == .healthy)
    }

    @Test(arguments: [
        (401, #"{"error":"invalid_client"}"#), (400, #"{"error":"invalid_client","error_description":"bad secret"}"#),
    ])
    func aTokenEndpointRefusingTheClientKeepsTheRecords(_ status: Int, _ body: String) async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answerTokens([(status, body)])
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared), clock: SystemWallClock(),
            logger: quietLogger)
        await #expect {
            try await forwarder.forwardOnce()
        } throws: { error in
            guard case SinkError.credentialsRejected(let reason) = error else { return false }
            return reason.contains("invalid_client") && reason.contains("sink.client_secret")
        }
        #expect(try await store.pendingOutbox(connector: "c", limit: 10).count == 1)
        #expect(try await store.deadLetters(connector: "c", limit: 10).isEmpty)
        _ = try await forwarder.drain()
        #expect(neurons.records.map(\.0) == ["00u1"])
    }

    @Test func aGracefulShutdownEndsABackoffAtOnce() async throws {
        let neurons = try await FakeNeurons()
        let (store, directory, kept) = try await helper.makeStore()
        defer { withExtendedLifetime(kept) { try? FileManager.default.removeItem(at: directory) } }
        try await helper.commit(store, [helper.change("00u1", title: "a")])
        neurons.answer([(503, ["Retry-After": "3600"])])
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: helper.httpSink(neurons, HTTPClient.shared), clock: SystemWallClock(),
            logger: quietLogger)
        let group = ServiceGroup(services: [forwarder], logger: quietLogger)
        let running = Task { try await group.run() }
        defer { running.cancel() }
        #expect(await eventually { forwarder.failures == 1 })
        await group.triggerGracefulShutdown()
        // Within the suite's time limit, not after the hour the sink asked for.
        try await running.value
        #expect(try await store.pendingOutbox(connector: "c", limit: 10).count == 1, "kept for the next start")
    }
}
