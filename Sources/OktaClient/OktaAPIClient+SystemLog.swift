public import ConnectorDomain
public import Foundation
import NIOHTTP1

/// One page of the System Log.
public struct SystemLogPage: Sendable {
    /// The events as Okta sent them, in the order of the page.
    public var events: [JSONValue]
    /// The `Link: rel="next"` URL; a polling request always has one.
    public var next: String?
    /// Okta's clock when it answered (`Date`), which `published` times are on.
    public var oktaDate: Date?

    /// Creates a page.
    public init(events: [JSONValue], next: String?, oktaDate: Date? = nil) {
        self.events = events
        self.next = next
        self.oktaDate = oktaDate
    }
}

extension OktaAPIClient {
    /// The endpoint name of System Log calls in statistics, metrics and errors.
    public static let systemLogEndpoint = "GET /api/v1/logs"

    /// The `filter` expression selecting event types: `eventType eq "A" or eventType eq "B"`.
    public static func eventTypeFilter(_ eventTypes: [String]) -> String {
        eventTypes.map { "eventType eq \"\($0)\"" }.joined(separator: " or ")
    }

    /// The first request of Okta's System Log polling pattern: `since` and `sortOrder=ASCENDING`
    /// without `until` make it a *polling* request, filtered by the time events were persisted (so
    /// an event stored late is not skipped) and answered with a `next` link even when no event is
    /// new; following that link is how the stream continues. Okta developer docs, "System Log API",
    /// Polling requests (https://developer.okta.com/docs/reference/api/system-log/#polling-requests),
    /// and "System Log query" (https://developer.okta.com/docs/reference/system-log-query/); the
    /// OpenAPI spec 2026.06.3 `listLogEvents`: `since` is "persistence time for polling queries",
    /// `limit` at most 1000.
    /// - Parameters:
    ///   - since: Where the stream starts.
    ///   - eventTypes: The event types wanted (SPEC §5); empty for every type.
    ///   - limit: Events per page, 1 to 1000.
    public func systemLogPollingURL(since: Timestamp, eventTypes: [String], limit: Int = 1000) -> String {
        var query: [(String, String)] = [("since", since.iso8601), ("sortOrder", "ASCENDING")]
        if !eventTypes.isEmpty { query.append(("filter", Self.eventTypeFilter(eventTypes))) }
        query.append(("limit", String(min(max(limit, 1), 1000))))
        var components = URLComponents(
            url: orgURL.appendingPathComponent("/api/v1/logs"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = query.map { "\($0.0)=\(URLFormEncoding.encode($0.1))" }.joined(separator: "&")
        return components.url!.absoluteString
    }

    /// One page of the System Log, in the `/api/v1/logs` rate-limit bucket.
    /// - Parameter url: A URL from ``systemLogPollingURL(since:eventTypes:limit:)`` or a `next` link.
    /// - Returns: The page's events, each a JSON object, and its `next` link.
    /// - Throws: ``OktaError/malformedResponse(endpoint:reason:)`` when the body is not an array of
    ///   objects; ``OktaError/foreignLink(endpoint:host:)`` when `next` leads away from the org (it
    ///   would receive the credentials); the usual call errors.
    public func systemLogPage(url: String) async throws -> SystemLogPage {
        let endpoint = Self.systemLogEndpoint
        guard isOrgURL(url) else {
            throw OktaError.foreignLink(endpoint: endpoint, host: URL(string: url)?.host ?? String(url.prefix(80)))
        }
        let response = try await send(.GET, url: url, bucket: .logs, body: nil, endpoint: endpoint)
        let events = try decode([JSONValue].self, response, endpoint)
        for (index, event) in events.enumerated() {
            guard case .object = event else {
                throw OktaError.malformedResponse(endpoint: endpoint, reason: "item \(index) is not an object")
            }
        }
        let next = LinkHeader.url(rel: "next", in: response.links)
        if let next, !isOrgURL(next) {
            throw OktaError.foreignLink(endpoint: endpoint, host: URL(string: next)?.host ?? String(next.prefix(80)))
        }
        return SystemLogPage(events: events, next: next, oktaDate: response.header("Date").flatMap(HTTPDate.parse))
    }

    /// Whether a URL points at the org itself (same scheme, host and port).
    func isOrgURL(_ text: String) -> Bool {
        guard let url = URL(string: text) else { return false }
        return url.host == orgURL.host && url.scheme == orgURL.scheme && url.port == orgURL.port
    }
}
