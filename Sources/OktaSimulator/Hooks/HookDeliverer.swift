import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// How the simulated Okta misbehaves when delivering event hooks (all off by default). Okta itself
/// is best effort: at least once, possibly delayed, batched or out of order (SPEC §16).
public struct HookBehaviour: Sendable, Codable, Hashable {
    /// Share of deliveries never sent (as events past Okta's daily limit are never sent).
    public var dropRate: Double
    /// Share of deliveries sent twice.
    public var duplicateRate: Double
    /// Extra delay before each delivery, in seconds (uniform between the two).
    public var minimumDelay: TimeInterval
    public var maximumDelay: TimeInterval
    /// Deliver each batch after the one that follows it.
    public var reorder: Bool
    /// The generator seed for the rates.
    public var seed: UInt64

    /// Creates a behaviour.
    public init(
        dropRate: Double = 0, duplicateRate: Double = 0, minimumDelay: TimeInterval = 0, maximumDelay: TimeInterval = 0,
        reorder: Bool = false, seed: UInt64 = 7
    ) {
        self.dropRate = dropRate
        self.duplicateRate = duplicateRate
        self.minimumDelay = minimumDelay
        self.maximumDelay = maximumDelay
        self.reorder = reorder
        self.seed = seed
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            dropRate: try c.decodeIfPresent(Double.self, forKey: .dropRate) ?? 0,
            duplicateRate: try c.decodeIfPresent(Double.self, forKey: .duplicateRate) ?? 0,
            minimumDelay: try c.decodeIfPresent(Double.self, forKey: .minimumDelay) ?? 0,
            maximumDelay: try c.decodeIfPresent(Double.self, forKey: .maximumDelay) ?? 0,
            reorder: try c.decodeIfPresent(Bool.self, forKey: .reorder) ?? false,
            seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 7)
    }
}

/// What happened to deliveries so far.
public struct HookDeliveryStats: Sendable, Codable, Hashable {
    /// Deliveries answered `200`/`204`.
    public var delivered = 0
    /// Events in delivered deliveries.
    public var eventsDelivered = 0
    /// Second attempts after a timeout, connection error or `5xx`.
    public var retries = 0
    /// Deliveries that failed for good (after the retry, or at once on `4xx`).
    public var failed = 0
    /// Deliveries dropped on purpose by ``HookBehaviour/dropRate``.
    public var dropped = 0
    /// Ids of the users whose events were dropped, each once.
    public var droppedUserIds: [String] = []
    /// Uuids of the dropped events.
    public var droppedEventIds: [String] = []
    /// Deliveries sent twice on purpose.
    public var duplicated = 0
    /// Status codes of failed attempts.
    public var failureStatuses: [Int] = []
    /// The org's daily cap of event hook events (Okta's: 400,000 a day, every hook together).
    public var cap = HookDailyCap.oktaDefault
    /// When the cap's current 24-hour window opened (with its first event); `nil` before any event.
    public var windowStart: Timestamp?
    /// Events sent to hooks in the current window, all hooks together.
    public var eventsInWindow = 0
    /// Events dropped because the window's cap was reached: never sent, never replayed.
    public var eventsOverCap = 0
    /// Those events by event type.
    public var eventsOverCapByType: [String: Int] = [:]
    /// Whether every event emitted so far has been delivered, dropped or given up on.
    public var idle = true
}

/// Sends System Log events to the org's verified, active event hooks exactly as Okta does: batched
/// envelopes, `POST` with the hook's auth header and custom headers, 3 s timeout, one retry on
/// timeout or `5xx`, none on `4xx` (SPEC §16); at most the org's daily cap of events a day, with
/// Okta's System Log warning at 70 % of it and its violation at the cap (``HookDailyCap``).
final class HookDeliverer: Service, Sendable {
    static let timeout: TimeAmount = .seconds(3)
    static let batchWindow: Duration = .milliseconds(100)
    static let maximumBatch = 50
    /// Events taken from the buffer at a time: a burst is delivered while it is still being emitted.
    static let maximumTake = 5000
    /// Event types the simulator logs that are not eligible for event hooks (Okta's list of
    /// hook-eligible types): never delivered, whatever a hook subscribes to.
    static let notEligible: Set<String> = ["user.account.expire_password", "user.account.update_primary_email"]

    let registry: EventHookRegistry
    let client: HTTPClient
    let clock: any WallClock
    let base: SimulatorBaseURL
    let logger: Logger
    /// Where the cap's warning and violation are logged.
    let systemLog: SystemLogJournal

    /// The org URL, for the envelope's `source`.
    var baseURL: String { base.value }
    private let pokes: AsyncStream<Void>
    private let poke: AsyncStream<Void>.Continuation
    private let buffer = Mutex<[OktaLogEvent]>([])
    private let behaviourState = Mutex(HookBehaviour())
    private let random = Mutex(SplitMix64(seed: 7))
    private let statsState = Mutex(HookDeliveryStats())
    private let dailyCap: Mutex<HookDailyCap>
    private let heldBack = Mutex<[(EventHookObject, [UInt8], [OktaLogEvent])]>([])
    private let inFlight = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    init(
        registry: EventHookRegistry, client: HTTPClient, clock: any WallClock, base: SimulatorBaseURL,
        systemLog: SystemLogJournal, dailyCap: Int, logger: Logger
    ) {
        self.registry = registry
        self.client = client
        self.clock = clock
        self.logger = logger
        self.base = base
        self.systemLog = systemLog
        self.dailyCap = Mutex(HookDailyCap(cap: dailyCap))
        (pokes, poke) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var behaviour: HookBehaviour {
        get { behaviourState.withLock { $0 } }
        set {
            behaviourState.withLock { $0 = newValue }
            random.withLock { $0 = SplitMix64(seed: newValue.seed) }
        }
    }

    var stats: HookDeliveryStats {
        var stats = statsState.withLock { $0 }
        dailyCap.withLock { cap in
            stats.cap = cap.cap
            stats.windowStart = cap.windowStart
            stats.eventsInWindow = cap.eventsInWindow
            stats.eventsOverCap = cap.eventsOverCap
            stats.eventsOverCapByType = cap.eventsOverCapByType
        }
        stats.idle = isIdle
        return stats
    }

    /// The org's daily cap of event hook events; a change applies to the current window.
    var cap: Int {
        get { dailyCap.withLock { $0.cap } }
        set { dailyCap.withLock { $0.cap = max(0, newValue) } }
    }

    /// Whether every event taken so far has been delivered, dropped or given up on.
    var isIdle: Bool {
        // A batch held back to be reordered does not count: it waits for the next one.
        buffer.withLock { $0.isEmpty } && inFlight.load(ordering: .relaxed) == 0
    }

    /// Whether delivery has stopped (the simulator is stopping).
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Events emitted and not yet taken for delivery.
    var backlog: Int { buffer.withLock { $0.count } }

    /// Waits until at most `limit` events wait to be taken (or delivery has stopped), so that a
    /// burst of events is emitted no faster than it is delivered.
    func waitForRoom(limit: Int) async {
        while backlog > limit, !stopped.load(ordering: .relaxed), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Takes events from the org (called synchronously by mutations).
    func enqueue(_ events: [OktaLogEvent]) {
        buffer.withLock { $0 += events }
        poke.yield()
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for await _ in pokes.cancelOnGracefulShutdown() {
                // Okta batches events that happen close together into one delivery.
                try? await Task.sleep(for: Self.batchWindow)
                // A burst larger than one take is delivered take by take, without waiting again.
                while true {
                    let batch = buffer.withLock { buffer in
                        let count = min(buffer.count, Self.maximumTake)
                        let taken = Array(buffer[..<count])
                        buffer.removeFirst(count)
                        return taken
                    }
                    guard !batch.isEmpty else { break }
                    inFlight.add(1, ordering: .relaxed)
                    if behaviour.maximumDelay > 0 {
                        // Delayed deliveries overtake each other, as Okta's may.
                        group.addTask {
                            await self.deliver(batch)
                            self.inFlight.subtract(1, ordering: .relaxed)
                        }
                    } else {
                        await deliver(batch)
                        inFlight.subtract(1, ordering: .relaxed)
                    }
                }
            }
        }
    }

    /// Stops taking events.
    func finish() {
        stopped.store(true, ordering: .relaxed)
        poke.finish()
    }

    private func deliver(_ events: [OktaLogEvent]) async {
        for hook in registry.deliverable() {
            let subscribed = Set(hook.events.items)
            let mine = events.filter { subscribed.contains($0.eventType) && !Self.notEligible.contains($0.eventType) }
            var start = 0
            while start < mine.count {
                let chunk = Array(mine[start..<min(mine.count, start + Self.maximumBatch)])
                start += Self.maximumBatch
                // The org's daily cap: a delivery that straddles it is cut, and what is past it dropped.
                let admitted = admit(chunk)
                guard admitted > 0 else { continue }
                await deliver(Array(chunk.prefix(admitted)), to: hook)
            }
        }
    }

    /// Counts a delivery's events against the daily cap and logs the warning or the violation it
    /// calls for.
    /// - Returns: How many of the events, from the first, may be sent.
    private func admit(_ events: [OktaLogEvent]) -> Int {
        let now = clock.now
        let (admitted, notices, windowStart) = dailyCap.withLock { cap in
            let (admitted, notices) = cap.admit(events, at: now)
            return (admitted, notices, cap.windowStart)
        }
        for notice in notices {
            let (event, details) = notice.logEvent(at: Timestamp(now), windowStart: windowStart)
            systemLog.append([event], at: Timestamp(now), details: details)
            logger.notice(
                "event hook daily limit",
                metadata: ["event": "\(notice.eventType)", "message": "\(details.displayMessage)"])
        }
        return admitted
    }

    private func deliver(_ events: [OktaLogEvent], to hook: EventHookObject) async {
        let behaviour = self.behaviour
        let (drop, duplicate, delay) = random.withLock { random in
            (
                random.chance(behaviour.dropRate), random.chance(behaviour.duplicateRate),
                behaviour.minimumDelay
                    + Double(random.below(1000)) / 1000 * max(0, behaviour.maximumDelay - behaviour.minimumDelay)
            )
        }
        if drop {
            statsState.withLock { stats in
                stats.dropped += 1
                stats.droppedEventIds += events.map(\.uuid)
                for userId in events.compactMap(\.subjectUserId) where !stats.droppedUserIds.contains(userId) {
                    stats.droppedUserIds.append(userId)
                }
            }
            return
        }
        let body = envelope(events, hook: hook)
        if behaviour.reorder {
            // Hold this batch back and send it after the next one.
            let held = heldBack.withLock { held -> [(EventHookObject, [UInt8], [OktaLogEvent])] in
                if held.isEmpty {
                    held.append((hook, body, events))
                    return []
                }
                let previous = held
                held = []
                return previous
            }
            if held.isEmpty {
                // Nothing to pair with yet: flush it after a short while if no batch follows.
                Task {
                    try? await Task.sleep(for: .seconds(2))
                    let stale = heldBack.withLock { held -> [(EventHookObject, [UInt8], [OktaLogEvent])] in
                        let stale = held
                        held = []
                        return stale
                    }
                    for (hook, body, events) in stale { await send(body, events: events, to: hook) }
                }
                return
            }
            await send(body, events: events, to: hook)
            for (heldHook, heldBody, heldEvents) in held { await send(heldBody, events: heldEvents, to: heldHook) }
            return
        }
        if let seconds = HeaderValues.seconds(delay, maximum: 600)?.value, seconds > 0 {
            // The delay comes from the control API: clamped, so that no value posted there can trap.
            try? await Task.sleep(for: .milliseconds(Int64(saturating: seconds * 1000)))
        }
        await send(body, events: events, to: hook)
        if duplicate {
            statsState.withLock { $0.duplicated += 1 }
            await send(body, events: events, to: hook)
        }
    }

    /// One delivery: a try and, on timeout, connection error or `5xx`, one retry.
    private func send(_ body: [UInt8], events: [OktaLogEvent], to hook: EventHookObject) async {
        for attempt in 1...2 {
            do {
                let response = try await post(body, to: hook)
                if (200..<300).contains(response) {
                    statsState.withLock { stats in
                        stats.delivered += 1
                        stats.eventsDelivered += events.count
                    }
                    return
                }
                statsState.withLock { $0.failureStatuses.append(response) }
                if (400..<500).contains(response) { break }
            } catch {
                logger.debug("event hook delivery failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            if attempt == 1 { statsState.withLock { $0.retries += 1 } }
        }
        statsState.withLock { $0.failed += 1 }
    }

    private func post(_ body: [UInt8], to hook: EventHookObject) async throws -> Int {
        var request = HTTPClientRequest(url: hook.channel.config.uri)
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Okta Simulator (okta-connector)")
        if let scheme = hook.channel.config.authScheme, let value = scheme.value {
            request.headers.add(name: scheme.key, value: value)
        }
        for header in hook.channel.config.headers ?? [] { request.headers.add(name: header.key, value: header.value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: Self.timeout)
        _ = try? await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    /// The delivery envelope (`com.okta.event_hook`) with full `LogEvent`s.
    func envelope(_ events: [OktaLogEvent], hook: EventHookObject) -> [UInt8] {
        var w = JSONWriter(capacity: 1500 * events.count)
        w.beginObject()
        w.field("eventType", EventHookDelivery.envelopeEventType)
        w.field("eventTypeVersion", "1.0")
        w.field("cloudEventsVersion", "0.1")
        w.field("source", "\(baseURL)/api/v1/eventHooks/\(hook.id ?? "")")
        w.field("eventId", UUID().uuidString.lowercased())
        w.key("data")
        w.beginObject()
        w.key("events")
        w.beginArray()
        for event in events { LogEventRepresentation.write(event, into: &w) }
        w.endArray()
        w.endObject()
        w.field("eventTime", Timestamp(clock.now).iso8601)
        w.field("contentType", "application/json")
        w.endObject()
        return w.bytes
    }
}

/// A System Log `LogEvent` in full, with the keys real deliveries carry.
enum LogEventRepresentation {
    /// Writes one event.
    /// - Parameters:
    ///   - event: The event.
    ///   - details: Its message, severity and debug data when Okta logged it on its own account;
    ///     otherwise the message is the event type, the severity `INFO` and the debug data the request.
    ///   - w: Where to write it.
    static func write(_ event: OktaLogEvent, details: LogEventDetails? = nil, into w: inout JSONWriter) {
        func actor(_ actor: OktaLogEvent.Actor) {
            w.beginObject()
            w.field("id", actor.id)
            w.field("type", actor.type)
            w.field("alternateId", actor.alternateId)
            w.field("displayName", actor.displayName)
            w.key("detailEntry"); w.null()
            w.endObject()
        }
        w.beginObject()
        w.field("uuid", event.uuid)
        w.field("published", event.published.iso8601)
        w.field("eventType", event.eventType)
        w.field("version", "0")
        w.field("displayMessage", details?.displayMessage ?? event.eventType)
        w.field("severity", details?.severity ?? "INFO")
        w.key("client")
        w.beginObject()
        w.key("userAgent")
        w.beginObject(); w.field("rawUserAgent", "okta-sim"); w.field("os", "Unknown"); w.field("browser", "UNKNOWN");
        w.endObject()
        w.field("zone", "null")
        w.field("device", "Computer")
        w.key("id"); w.null()
        w.field("ipAddress", "127.0.0.1")
        w.key("geographicalContext"); w.null()
        w.endObject()
        w.key("device"); w.null()
        w.key("actor")
        if let value = event.actor { actor(value) } else { w.null() }
        w.key("outcome")
        w.beginObject(); w.field("result", event.outcomeResult ?? "SUCCESS"); w.key("reason"); w.null(); w.endObject()
        w.key("target")
        w.beginArray()
        for target in event.target { actor(target) }
        w.endArray()
        w.key("transaction")
        w.beginObject(); w.field("type", "WEB"); w.field("id", String(event.uuid.prefix(8))); w.key("detail");
        w.beginObject(); w.endObject(); w.endObject()
        w.key("debugContext")
        w.beginObject(); w.key("debugData"); w.beginObject()
        if let details {
            for key in details.debugData.keys.sorted() { w.field(key, details.debugData[key]) }
        } else {
            w.field("requestUri", "/api/v1")
        }
        w.endObject(); w.endObject()
        w.field("legacyEventType", nil)
        w.key("authenticationContext")
        w.beginObject(); w.field("authenticationStep", nil);
        w.field("externalSessionId", "trs" + String(event.uuid.prefix(6))); w.endObject()
        w.key("securityContext")
        w.beginObject(); w.key("asNumber"); w.null(); w.key("isProxy"); w.null(); w.endObject()
        w.field("insertionTimestamp", nil)
        w.endObject()
    }
}
