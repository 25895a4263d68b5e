import ConnectorDomain
import Foundation

/// Okta's limit on event hook deliveries: at most `cap` events a day for the whole org, every hook
/// of every integration together (Okta's default 400,000). The day is a fixed window: it opens with
/// the first event sent and lasts 24 hours of the simulator's clock; the first event after it opens
/// the next one. Past the cap nothing is sent, and the events are neither kept nor replayed.
///
/// Okta writes a System Log warning when a window's count reaches 70 % of the cap and a violation
/// when it reaches the cap, each once per window.
struct HookDailyCap: Sendable {
    /// Okta's cap.
    static let oktaDefault = 400_000
    /// The length of a window.
    static let window: TimeInterval = 86_400
    /// The share of the cap at which Okta warns, in percent.
    static let warningPercent = 70

    /// Events a window may send.
    var cap: Int
    /// When the current window opened; `nil` before the first event.
    private(set) var windowStart: Timestamp?
    /// Events sent in the current window.
    private(set) var eventsInWindow = 0
    /// Events dropped over the cap since the simulator started, all windows together.
    private(set) var eventsOverCap = 0
    /// Those dropped events by event type.
    private(set) var eventsOverCapByType: [String: Int] = [:]
    private var warned = false
    private var violated = false

    /// A System Log event the limit calls for.
    enum Notice: Equatable, Sendable {
        /// The window's count reached 70 % of the cap.
        case warning(count: Int, cap: Int)
        /// The window's count reached the cap.
        case violation(count: Int, cap: Int)
    }

    /// Creates the limit with no window open yet.
    init(cap: Int = oktaDefault) { self.cap = max(0, cap) }

    /// Takes a delivery's events: those up to the cap go, the rest are dropped and counted.
    /// - Parameters:
    ///   - events: The delivery's events, in the order they would be sent.
    ///   - now: The simulator's time.
    /// - Returns: How many of the events, from the first, may be sent, and the System Log events due.
    mutating func admit(_ events: [OktaLogEvent], at now: Date) -> (admitted: Int, notices: [Notice]) {
        guard !events.isEmpty else { return (0, []) }
        let time = Timestamp(now)
        if let start = windowStart,
            time.millisecondsSinceEpoch - start.millisecondsSinceEpoch < Int64(Self.window * 1000)
        {
            // Still the same window.
        } else {
            windowStart = time
            eventsInWindow = 0
            warned = false
            violated = false
        }
        let admitted = min(events.count, max(0, cap - eventsInWindow))
        eventsInWindow += admitted
        for event in events[admitted...] {
            eventsOverCap += 1
            eventsOverCapByType[event.eventType, default: 0] += 1
        }
        var notices: [Notice] = []
        if !warned, eventsInWindow * 100 >= cap * Self.warningPercent {
            warned = true
            notices.append(.warning(count: eventsInWindow, cap: cap))
        }
        if !violated, eventsInWindow >= cap {
            violated = true
            notices.append(.violation(count: eventsInWindow, cap: cap))
        }
        return (admitted, notices)
    }
}

extension HookDailyCap.Notice {
    /// Okta's event type for the notice.
    var eventType: String {
        switch self {
        case .warning: "system.org.rate_limit.warning"
        case .violation: "system.org.rate_limit.violation"
        }
    }

    /// The notice as Okta logs it: by the Okta system, with the limit and the count in its debug data.
    /// - Parameters:
    ///   - now: When it is logged.
    ///   - windowStart: When the window it belongs to opened.
    func logEvent(at now: Timestamp, windowStart: Timestamp?) -> (OktaLogEvent, LogEventDetails) {
        let message: String
        var debugData: [String: String]
        switch self {
        case .warning(let count, let cap):
            message =
                "Event hook daily limit at \(HookDailyCap.warningPercent)%: \(count) of the org's \(cap) event hook "
                + "events in 24 hours used"
            debugData = ["limit": String(cap), "count": String(count), "threshold": "\(HookDailyCap.warningPercent)"]
        case .violation(let count, let cap):
            message =
                "Event hook daily limit reached: \(count) of the org's \(cap) event hook events in 24 hours used; "
                + "later events are not delivered"
            debugData = ["limit": String(cap), "count": String(count), "threshold": "100"]
        }
        if let windowStart { debugData["windowStart"] = windowStart.iso8601 }
        let event = OktaLogEvent(
            uuid: UUID().uuidString.lowercased(), published: now, eventType: eventType,
            actor: OktaLogEvent.Actor(
                id: "system", type: "SystemPrincipal", alternateId: "system@okta.com", displayName: "Okta System"),
            target: [], outcomeResult: "SUCCESS")
        return (event, LogEventDetails(displayMessage: message, severity: "WARN", debugData: debugData))
    }
}
