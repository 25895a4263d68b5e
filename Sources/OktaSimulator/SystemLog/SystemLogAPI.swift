import ConnectorDomain
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /api/v1/logs` with Okta's semantics (Okta developer docs, "System Log API": bounded and
/// polling requests; OpenAPI spec 2026.06.3 `listLogEvents`):
/// - a *polling* request (no `until`, `sortOrder=ASCENDING`, the default) filters on the time events
///   were persisted, returns them in that order and always answers with a `next` link, even when no
///   event is new;
/// - a *bounded* request (`until` given, or `sortOrder=DESCENDING`) returns events published in
///   `[since, until)` (`since` defaults to 7 days before `until`, `until` to now) in the asked
///   order, with a `next` link only while more remain;
/// - `limit` from 1 to 1000 (default 100), `after` an opaque cursor from a `next` link, `filter`
///   on `eventType eq "…"` joined with `or`, `q` keywords matched against the event type and message.
/// Its own rate-limit bucket (`/api/v1/logs`) and scope (`okta.logs.read`) come from the middleware.
struct SystemLogAPI: Sendable {
    let journal: SystemLogJournal
    let base: SimulatorBaseURL
    let clock: any WallClock
    let faults: FaultInjector

    func register(on router: Router<SimulatorRequestContext>) {
        router.get("/api/v1/logs") { request, _ in list(request) }
    }

    func list(_ request: Request) -> Response {
        let query = QueryItems(request.uri.query)
        let now = Timestamp(clock.now)
        var bounds: [String: Timestamp] = [:]
        for name in ["since", "until"] {
            guard let text = query[name], !text.isEmpty else { continue }
            guard let value = Timestamp.parse(text) else {
                return JSONResponse.invalid("\(name): not an ISO 8601 date-time")
            }
            bounds[name] = value
        }
        let since = bounds["since"]
        let until = bounds["until"]
        let week: Int64 = 7 * 86_400_000
        let sortOrder = (query["sortOrder"] ?? "ASCENDING").uppercased()
        guard sortOrder == "ASCENDING" || sortOrder == "DESCENDING" else {
            return JSONResponse.invalid("sortOrder: must be ASCENDING or DESCENDING")
        }
        var limit = 100
        if let text = query["limit"], !text.isEmpty {
            guard let value = Int(text), (0...1000).contains(value) else {
                return JSONResponse.invalid("limit: an integer between 0 and 1000")
            }
            limit = value == 0 ? 100 : value
        }
        let types: Set<String>?
        do {
            types = try Self.eventTypes(in: query["filter"])
        } catch {
            return JSONResponse.oktaError(
                .badRequest, code: "E0000031", summary: "Invalid search criteria.", causes: [error.reason])
        }
        let keywords = (query["q"] ?? "").lowercased().split(separator: " ").map(String.init)
        let matching: (SystemLogJournal.Entry) -> Bool = { entry in
            if let types, !types.contains(entry.event.eventType) { return false }
            let text = (entry.event.eventType + " " + (entry.details?.displayMessage ?? "")).lowercased()
            return keywords.allSatisfy { text.contains($0) }
        }
        var position: Int64?
        if let after = query["after"], !after.isEmpty {
            guard let seq = Self.decodeCursor(after) else { return ManagementAPI.badCursor }
            position = seq
        }
        var carried: [(String, String)] = []
        for name in ["since", "until", "filter", "q", "sortOrder"] {
            if let value = query[name], !value.isEmpty { carried.append((name, value)) }
        }
        carried.append(("limit", String(limit)))

        let events: [SystemLogJournal.Entry]
        let next: Int64?
        if until == nil, sortOrder == "ASCENDING" {
            // Polling: persistence order, a `next` link on every answer.
            let page = journal.poll(
                afterSeq: position ?? 0,
                since: since ?? Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - week),
                matching: matching, limit: limit)
            events = page.events
            next = page.continueAfter
        } else {
            let upper = until ?? now
            let lower = since ?? Timestamp(millisecondsSinceEpoch: upper.millisecondsSinceEpoch - week)
            let page = journal.bounded(
                since: lower, until: upper, descending: sortOrder == "DESCENDING", position: position,
                matching: matching, limit: limit)
            events = page.events
            next = page.next
        }
        if faults.takeMalformedPage(path: request.uri.path) {
            // Half a page: the body ends inside an event.
            return JSONResponse.make(Array(#"[{"uuid":"e1","published":"2026-06-01T00:00:00.000Z","eventType":"#.utf8))
        }
        var writer = JSONWriter(capacity: 1500 * max(1, events.count))
        writer.beginArray()
        for entry in events { LogEventRepresentation.write(entry.event, details: entry.details, into: &writer) }
        writer.endArray()
        return JSONResponse.make(writer.bytes, headers: links(query: carried, position: position, next: next))
    }

    /// `Link` headers as Okta sends them: `self` and, when there is one, `next`, on two lines.
    func links(query: [(String, String)], position: Int64?, next: Int64?) -> HTTPFields {
        func url(_ after: Int64?) -> String {
            var items = query
            if let after { items.append(("after", Self.encodeCursor(after))) }
            return base.value + "/api/v1/logs?"
                + items.map { "\($0.0)=\(URLFormEncoding.encode($0.1))" }.joined(separator: "&")
        }
        var fields = HTTPFields()
        fields.append(HTTPField(name: .link, value: "<\(url(position))>; rel=\"self\""))
        if let next { fields.append(HTTPField(name: .link, value: "<\(url(next))>; rel=\"next\"")) }
        return fields
    }

    /// Opaque to clients: a persistence sequence number, as Okta's `after` tokens are positions.
    static func encodeCursor(_ seq: Int64) -> String { "1" + String(seq, radix: 36) + "_sl" }

    static func decodeCursor(_ text: String) -> Int64? {
        guard text.hasPrefix("1"), text.hasSuffix("_sl") else { return nil }
        return Int64(text.dropFirst().dropLast(3), radix: 36).flatMap { $0 >= 0 ? $0 : nil }
    }

    struct FilterError: Error {
        let reason: String
    }

    /// The event types a `filter` selects: `eventType eq "a" or eventType eq "b"`; `nil` for none.
    static func eventTypes(in filter: String?) throws(FilterError) -> Set<String>? {
        guard let filter, !filter.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        var types: Set<String> = []
        for clause in filter.components(separatedBy: " or ") {
            let parts = clause.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[0] == "eventType", parts[1].lowercased() == "eq", parts[2].count >= 2,
                parts[2].first == "\"", parts[2].last == "\""
            else {
                throw FilterError(reason: "unsupported filter clause: \(clause.prefix(80))")
            }
            types.insert(String(parts[2].dropFirst().dropLast()))
        }
        return types
    }
}
