public import ConnectorConfiguration
public import ConnectorDomain
import ConnectorStore
public import Foundation
import HTTPTypes
import Hummingbird
public import Logging
import Metrics
import NIOCore
import Synchronization

/// What the receiver did, by connector and result: counted here for status and tests, and recorded
/// as metrics where it happens (`okta_connector_deliveries_total`, `okta_connector_ack_latency_seconds`,
/// `okta_connector_events_received_total`). Bounded: connectors × results.
public final class ReceiverStats: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let lastStored = Mutex<[String: Date]>([:])

    /// Every result a delivery or verification can have: the only values of the `result` label.
    public static let results: Set<String> = [
        "stored", "duplicate_delivery", "unauthorized", "invalid", "too_large", "incomplete",
        "unsupported_media_type", "store_unavailable", "inactive_discarded", "verified",
        "verification_unauthenticated",
    ]

    /// Creates empty stats.
    public init() {}

    func count(_ connector: String, _ result: String) {
        assert(Self.results.contains(result), "unknown result label \(result)")
        counts.withLock { $0["\(connector) \(result)", default: 0] += 1 }
        if result == "stored" { lastStored.withLock { $0[connector] = Date() } }
        Counter(label: "okta_connector_deliveries_total", dimensions: [("connector", connector), ("result", result)])
            .increment()
    }

    func observe(latency: Duration, connector: String) {
        let nanoseconds = latency.components.seconds * 1_000_000_000 + latency.components.attoseconds / 1_000_000_000
        Timer(label: "okta_connector_ack_latency_seconds", dimensions: [("connector", connector)])
            .recordNanoseconds(nanoseconds)
    }

    func received(_ events: [InboxEvent], connector: String) {
        var byType: [String: Int] = [:]
        for event in events { byType[OktaLogEvent.metricLabel(forType: event.eventType), default: 0] += 1 }
        for (type, count) in byType {
            Counter(
                label: "okta_connector_events_received_total", dimensions: [("connector", connector), ("type", type)]
            )
            .increment(by: count)
        }
    }

    /// When a connector last stored a delivery (whether events are arriving).
    public func lastDelivery(_ connector: String) -> Date? { lastStored.withLock { $0[connector] } }

    /// `"<connector> <result>": count`, results being those of ``results``.
    public var snapshot: [String: Int] { counts.withLock { $0 } }

    /// One count.
    public func value(_ connector: String, _ result: String) -> Int { snapshot["\(connector) \(result)"] ?? 0 }
}

/// The event hook endpoint of every connector (SPEC §4): verification `GET`, delivery `POST`.
///
/// A delivery is answered `200` only once its events are committed to the inbox (group-committed
/// with concurrent deliveries). The handler never calls Okta or the sink.
public final class EventHookReceiver: Sendable {
    private let directory = Mutex<[String: Route]>([:])

    /// A connector's hook path, resolved at request time so that a configuration reload can add,
    /// change or remove connectors while the listener keeps its connections.
    struct Route: Sendable {
        let connector: ConnectorSettings
        let matcher: HookSecretMatcher
        let header: HTTPField.Name
    }
    let committer: InboxGroupCommitter
    let stats: ReceiverStats
    let clock: any WallClock
    let logger: Logger
    let onStored: @Sendable (String) -> Void
    private let lastUnauthorizedLog = Mutex<Date>(.distantPast)
    /// When a verification was last logged, per hook path: at most once a minute each (SPEC §20).
    private let lastVerificationLog = Mutex<[String: Date]>([:])
    /// The longest challenge echoed: Okta's are a few dozen characters.
    static let maximumChallengeBytes = 256

    /// Creates the receiver.
    /// - Parameters:
    ///   - connectors: The connectors served by this process.
    ///   - committer: Where deliveries go.
    ///   - onStored: Told the connector's slug after new events were stored (wakes its applier).
    public init(
        connectors: [ConnectorSettings], committer: InboxGroupCommitter, stats: ReceiverStats, clock: any WallClock,
        logger: Logger, onStored: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.directory.withLock { $0 = Self.routes(connectors) }
        self.committer = committer
        self.stats = stats
        self.clock = clock
        self.logger = logger
        self.onStored = onStored
    }

    /// Replaces the served connectors (configuration reload).
    public func update(connectors: [ConnectorSettings]) {
        let routes = Self.routes(connectors)
        directory.withLock { $0 = routes }
    }

    func route(_ path: String) -> Route? { directory.withLock { $0[path] } }

    static func routes(_ connectors: [ConnectorSettings]) -> [String: Route] {
        // A connector that only polls the System Log has no hook route: deliveries to it are 404.
        Dictionary(
            connectors.filter(\.eventSource.takesHooks).map { connector in
                (
                    connector.eventHook.path,
                    Route(
                        connector: connector, matcher: HookSecretMatcher(secrets: connector.eventHook.secrets),
                        header: HTTPField.Name(connector.eventHook.authHeader) ?? .authorization)
                )
            }, uniquingKeysWith: { first, _ in first })
    }

    static let challengeHeader = HTTPField.Name("x-okta-verification-challenge")!

    /// The verification request: echo the challenge as `{"verification": "..."}`. If the auth header
    /// is present it must match (Okta does not document whether it sends it here).
    func verify(_ request: Request, connector: ConnectorSettings, matcher: HookSecretMatcher, header: HTTPField.Name)
        -> Response
    {
        if let presented = request.headers[header], !matcher.matches(presented) {
            unauthorized(connector)
            return Self.error(.unauthorized, "the \(connector.eventHook.authHeader) header does not match")
        }
        guard let challenge = request.headers[Self.challengeHeader], !challenge.isEmpty else {
            stats.count(connector.slug, "invalid")
            return Self.error(.badRequest, "missing x-okta-verification-challenge header")
        }
        guard challenge.utf8.count <= Self.maximumChallengeBytes else {
            stats.count(connector.slug, "invalid")
            return Self.error(
                .badRequest, "x-okta-verification-challenge longer than \(Self.maximumChallengeBytes) bytes")
        }
        // With the secret it is Okta verifying the hook; without it, anyone who can reach the path
        // (answered, as Okta does not document sending the secret here, but counted apart and
        // logged at most once a minute per path so that a flood costs no log volume).
        let authenticated = request.headers[header] != nil
        stats.count(connector.slug, authenticated ? "verified" : "verification_unauthenticated")
        let now = clock.now
        let shouldLog = lastVerificationLog.withLock { last -> Bool in
            guard now.timeIntervalSince(last[connector.eventHook.path] ?? .distantPast) >= 60 else { return false }
            last[connector.eventHook.path] = now
            return true
        }
        if shouldLog {
            logger.info(
                authenticated
                    ? "event hook verification answered (logged at most once a minute)"
                    : "event hook verification without the secret header answered (logged at most once a minute)",
                metadata: ["connector": "\(connector.slug)", "path": "\(connector.eventHook.path)"])
        }
        return Self.json(.ok, VerificationBody(verification: challenge))
    }

    /// `{"verification": "…"}`: Okta's challenge, echoed.
    struct VerificationBody: Encodable {
        var verification: String
    }

    func deliver<Context: RequestContext>(
        _ request: Request, context: Context, connector: ConnectorSettings, matcher: HookSecretMatcher,
        header: HTTPField.Name, maximumBodyBytes: Int
    ) async throws -> Response {
        let started = ContinuousClock.now
        // Credentials first, from the headers alone: the body of a request without them is never
        // read, and its connection is closed after the answer (no keep-alive for a stranger).
        guard let presented = request.headers[header], matcher.matches(presented) else {
            unauthorized(connector)
            var response = Self.error(.unauthorized, "missing or wrong \(connector.eventHook.authHeader) header")
            response.headers[.connection] = "close"
            return response
        }
        defer { stats.observe(latency: ContinuousClock.now - started, connector: connector.slug) }
        guard let contentType = request.headers[.contentType], Self.isJSON(contentType) else {
            stats.count(connector.slug, "unsupported_media_type")
            return Self.error(.unsupportedMediaType, "Content-Type must be application/json")
        }
        let buffer: ByteBuffer
        switch await readBody(request, connector: connector, maximumBodyBytes: maximumBodyBytes) {
        case .success(let read): buffer = read
        case .failure(let refusal): return refusal.response
        }
        let parsed = Self.parse(
            Data(buffer.readableBytesView), connector: connector.slug, receivedAt: Timestamp(clock.now))
        guard connector.active else {
            // Inactive: acknowledged so that Okta does not retry, and discarded (SPEC §2), but its
            // events still count against the org's daily cap (SPEC §20).
            stats.count(connector.slug, "inactive_discarded")
            if case .success(var delivery) = parsed {
                delivery.discarded = true
                do {
                    _ = try await committer.store(delivery)
                } catch {
                    // Acknowledged all the same (the events are discarded); only the count misses them.
                    logger.notice(
                        "a discarded delivery could not be counted against the daily hook cap",
                        metadata: ["connector": "\(connector.slug)", "error": "\(error)"])
                }
            }
            return Response(status: .ok)
        }
        switch parsed {
        case .success(let delivery):
            return await store(delivery, connector: connector)
        case .failure(let problem):
            stats.count(connector.slug, "invalid")
            return Self.error(.badRequest, problem.message)
        }
    }

    /// An answer given instead of reading on.
    struct Refusal: Error {
        let response: Response
    }

    /// The delivery's body, up to the limit; a body too large or one that stops arriving is refused.
    func readBody(_ request: Request, connector: ConnectorSettings, maximumBodyBytes: Int) async
        -> Result<ByteBuffer, Refusal>
    {
        var body = request
        do {
            return .success(try await body.collectBody(upTo: maximumBodyBytes))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            // `NIOTooManyBytesError` from the collection, or an `HTTPError` saying the same.
            stats.count(connector.slug, "too_large")
            var response = Self.error(.contentTooLarge, "the body is larger than \(maximumBodyBytes) bytes")
            response.headers[.connection] = "close"
            return .failure(Refusal(response: response))
        } catch {
            // The body stopped arriving: the request deadline answered 408 and closed the connection,
            // or the client went away.
            stats.count(connector.slug, "incomplete")
            return .failure(Refusal(response: Self.error(.requestTimeout, "the body did not arrive")))
        }
    }

    /// Commits a parsed delivery to the inbox (group-committed); `200` only once it is stored.
    func store(_ delivery: InboxDelivery, connector: ConnectorSettings) async -> Response {
        do {
            switch try await committer.store(delivery) {
            case .stored(let new, _):
                stats.count(connector.slug, "stored")
                stats.received(delivery.events, connector: connector.slug)
                if new > 0 { onStored(connector.slug) }
            case .duplicateDelivery:
                stats.count(connector.slug, "duplicate_delivery")
            }
            return Response(status: .ok)
        } catch {
            // Okta retries 5xx once; nothing acknowledged is lost.
            stats.count(connector.slug, "store_unavailable")
            logger.error(
                "event hook delivery not stored", metadata: ["connector": "\(connector.slug)", "error": "\(error)"])
            return Self.error(.serviceUnavailable, "the store is unavailable; retry later")
        }
    }

    typealias Problem = EventHookDeliveryParser.Problem

    /// Validates and converts a delivery body (SPEC §4) into what the inbox stores.
    static func parse(_ body: Data, connector: String, receivedAt: Timestamp) -> Result<InboxDelivery, Problem> {
        EventHookDeliveryParser.parse(body).map { parsed in
            InboxDelivery(
                connector: connector, eventId: parsed.eventId, receivedAt: receivedAt,
                events: parsed.events.map {
                    InboxEvent(
                        uuid: $0.uuid, eventType: $0.eventType, subjectUserId: $0.subjectUserId,
                        published: $0.published, payloadJSON: $0.payloadJSON)
                })
        }
    }

    /// Whether a `Content-Type` names JSON: `application/json`, with parameters or not
    /// (`application/json; charset=utf-8`), but not a longer type that merely starts the same.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    /// A short JSON error body, `{"error": "…"}`.
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, ErrorMessage(error: message))
    }

    /// A JSON body (keys sorted, as the admin API's) with `Content-Type: application/json`.
    static func json(_ status: HTTPResponse.Status, _ body: some Encodable) -> Response {
        // One or two strings: encoding cannot fail.
        let bytes = (try? JSONCoding.encoder().encode(body)) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Counts a rejected delivery and logs it at most once a minute, never with the presented value.
    func unauthorized(_ connector: ConnectorSettings) {
        stats.count(connector.slug, "unauthorized")
        let now = Date()
        let shouldLog = lastUnauthorizedLog.withLock { last -> Bool in
            guard now.timeIntervalSince(last) >= 60 else { return false }
            last = now
            return true
        }
        if shouldLog {
            logger.warning(
                "event hook request with a missing or wrong auth header rejected (logged at most once a minute)",
                metadata: ["connector": "\(connector.slug)", "header": "\(connector.eventHook.authHeader)"])
        }
    }
}
