import AsyncHTTPClient
import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorServer
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import OktaClient
import OktaSimulator
import Synchronization

/// A client trusting the certificates the tests make (verification stays on: the hostname must match).
func makeTrustingClient(_ certificate: SelfSignedCertificate) throws -> HTTPClient {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.additionalTrustRoots = [
        .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8)))
    ]
    var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
    // Generous: a loaded CI machine makes 64 concurrent TLS handshakes slow; the limit is the test's.
    configuration.timeout = .init(connect: .seconds(60), read: .seconds(60))
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

struct Answer {
    let status: Int
    let body: String
}

/// The event hook receiver served over real HTTPS with a store of the chosen backend, as `serve` runs it.
final class ReceiverHarness: @unchecked Sendable {
    let directory: URL
    let testStore: TestStore
    var store: any StateStore { testStore.store }
    let backend: StoreBackend
    let certificate: SelfSignedCertificate
    let stats = ReceiverStats()
    let committer: InboxGroupCommitter
    let client: HTTPClient
    let port: Int
    private let task: Task<Void, any Error>
    let woken = WakeLog()

    /// Whether the listener speaks TLS (raw-socket tests use plain HTTP: the limits are the same).
    let tls: Bool

    init(
        connectors: [ConnectorSettings], maximumBodyBytes: Int = 1 << 20, tls: Bool = true,
        limits: ListenerLimits = ListenerLimits(), backend: StoreBackend = .sqlite, logger: Logger = quietLogger,
        clock: any WallClock = SystemWallClock()
    ) async throws {
        self.tls = tls
        self.backend = backend
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("okta-receiver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        testStore = try await backend.makeStore()
        let store = testStore.store
        certificate = try SelfSignedCertificate()
        let files = try certificate.write(to: directory.appendingPathComponent("tls"))
        // A patient deadline: these tests are about what is stored and answered, and a machine busy
        // with the whole suite (browsers, simulators, 64 TLS handshakes at once) must not turn a slow
        // commit into a 503. The 2 s deadline itself is tested by `CommitDeadlineTests`.
        committer = InboxGroupCommitter(inbox: store, deadline: .seconds(15))
        let woken = self.woken
        let receiver = EventHookReceiver(
            connectors: connectors, committer: committer, stats: stats, clock: clock, logger: logger,
            onStored: { slug in woken.append(slug) })
        let router = buildHookRouter(receiver: receiver, maximumBodyBytes: maximumBodyBytes)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            server: try HookListener.serverBuilder(
                tls: tls ? TLSFiles(certificatePath: files.certificate, privateKeyPath: files.privateKey) : nil,
                limits: limits),
            configuration: HookListener.configuration(
                address: .hostname("127.0.0.1", port: 0), limits: limits, logger: quietLogger),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quietLogger)
        task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
        client = try makeTrustingClient(certificate)
    }

    deinit {
        task.cancel()
        try? client.syncShutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops the listener and waits until it has closed its sockets (for a test's `defer`; the
    /// rest is released when the harness goes).
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    func url(_ path: String) -> String { "\(tls ? "https" : "http")://localhost:\(port)\(path)" }

    func send(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: collected))
    }

    func deliver(_ body: String, to path: String = "/hooks/okta/test-org", secret: String = "hook-secret-1")
        async throws
        -> Answer
    {
        try await send(
            .POST, path, body: body, headers: [("Authorization", secret), ("Content-Type", "application/json")])
    }

    func inboxDepth(_ connector: String = "test-org") async throws -> Int {
        try await store.inboxDepth(connector: connector)
    }
}

func connectorSettings(
    slug: String = "test-org", org: String = "https://example.okta.com", active: Bool = true,
    statuses: [OktaUserStatus] = OktaUserStatus.allCases.filter { $0 != .deprovisioned },
    secrets: [String] = ["hook-secret-1"]
) -> ConnectorSettings {
    ConnectorSettings(
        name: slug, slug: slug, server: "Cloud", active: active,
        okta: OktaSettings(
            url: URL(string: org)!, credentials: .apiToken(Secret("sim-api-token")), rateLimitShare: 0.5),
        userStatuses: statuses, schedule: try! Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
        eventHook: EventHookSettings(
            path: "/hooks/okta/\(slug)", authHeader: "Authorization", secrets: secrets.map(Secret.init)),
        enrich: EnrichSettings(apps: true, devices: true, plan: .auto), mapper: UserMapper(),
        sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)), reconcile: ReconcileSettings(maxRemovalShare: 0.2)
    )
}

/// A delivery envelope with events of the documented shape.
func delivery(id: String = UUID().uuidString, _ events: [String]) -> String {
    """
    {"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",
     "source":"https://example.okta.com/api/v1/eventHooks/who1","eventId":"\(id)","eventTime":"2026-06-01T10:00:00.000Z",
     "contentType":"application/json","data":{"events":[\(events.joined(separator: ","))]}}
    """
}

/// One System Log event about a user (the target, or the actor for session events).
func logEvent(
    _ type: String, user: String, published: String = "2026-06-01T10:00:00.000Z", uuid: String = UUID().uuidString,
    result: String = "SUCCESS"
) -> String {
    let selfService = type.hasPrefix("user.session.") || type.hasPrefix("user.authentication.")
    let actor = selfService ? user : "00uADMIN"
    let target =
        selfService
        ? "[]" : "[{\"id\":\"\(user)\",\"type\":\"User\",\"alternateId\":\"u@example.com\",\"displayName\":\"U\"}]"
    return """
        {"uuid":"\(uuid)","published":"\(published)","eventType":"\(type)","version":"0","severity":"INFO",
         "actor":{"id":"\(actor)","type":"User","alternateId":"a@example.com","displayName":"A"},
         "outcome":{"result":"\(result)","reason":null},"target":\(target),"extraKey":{"added":"by Okta"}}
        """
}

/// The connectors whose applier the receiver woke.
final class WakeLog: Sendable {
    private let slugs = Mutex<[String]>([])
    func append(_ slug: String) { slugs.withLock { $0.append(slug) } }
    var all: [String] { slugs.withLock { $0 } }
}
