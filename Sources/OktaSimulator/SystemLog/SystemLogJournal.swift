import ConnectorDomain
import Foundation
import Synchronization

/// The org's System Log: every event the mutations emit, in the order it was persisted, fed by the
/// same mutations that feed event hooks (SPEC §13). Bounded: the oldest events leave when it is
/// full, as Okta keeps its log for a limited time.
final class SystemLogJournal: Sendable {
    struct Entry: Sendable {
        /// Persistence order, from 1.
        let seq: Int64
        /// When the event was persisted (polling requests filter on this, not on `published`).
        let persisted: Timestamp
        let event: OktaLogEvent
        /// What Okta itself says about an event it logs on its own account (a rate-limit warning);
        /// `nil` for the mutations' events.
        let details: LogEventDetails?
    }

    let capacity: Int
    private let entries = Mutex<(list: [Entry], nextSeq: Int64)>(([], 1))

    init(capacity: Int = 200_000) { self.capacity = max(1, capacity) }

    /// Persists events.
    /// - Parameters:
    ///   - events: The events, in the order they happened.
    ///   - now: When they are persisted.
    ///   - details: The message, severity and debug data of events Okta logs on its own account.
    func append(_ events: [OktaLogEvent], at now: Timestamp, details: LogEventDetails? = nil) {
        entries.withLock { state in
            for event in events {
                state.list.append(Entry(seq: state.nextSeq, persisted: now, event: event, details: details))
                state.nextSeq += 1
            }
            // Trimmed in steps of a tenth, so that a full log does not move every entry at each append.
            if state.list.count > capacity + capacity / 10 { state.list.removeFirst(state.list.count - capacity) }
        }
    }

    /// How many events the log holds.
    var count: Int { entries.withLock { $0.list.count } }

    /// The newest sequence number given out (0 when empty).
    var lastSeq: Int64 { entries.withLock { $0.nextSeq - 1 } }

    /// A polling request's page: events persisted after `afterSeq` (and not before `since`), in
    /// persistence order.
    /// - Returns: The events and the sequence number the `next` link continues after: the last event
    ///   returned when the page is full, otherwise everything persisted so far.
    func poll(afterSeq: Int64, since: Timestamp?, matching: (Entry) -> Bool, limit: Int)
        -> (events: [Entry], continueAfter: Int64)
    {
        entries.withLock { state in
            var page: [Entry] = []
            let start = firstIndex(after: afterSeq, in: state.list)
            for entry in state.list[start...] {
                if let since, entry.persisted < since { continue }
                guard matching(entry) else { continue }
                page.append(entry)
                if page.count == limit { return (page, entry.seq) }
            }
            return (page, max(afterSeq, state.nextSeq - 1))
        }
    }

    /// A bounded request's page: events published in `[since, until)`, ascending or descending.
    /// - Parameter position: The sequence number the page continues after (ascending) or before
    ///   (descending); `nil` from the start.
    /// - Returns: The events and, when more match, where the next page continues.
    func bounded(
        since: Timestamp, until: Timestamp, descending: Bool, position: Int64?, matching: (Entry) -> Bool,
        limit: Int
    ) -> (events: [Entry], next: Int64?) {
        entries.withLock { state in
            var page: [Entry] = []
            var last: Int64?
            let ordered: [Entry] =
                descending
                ? state.list.reversed().filter { position == nil || $0.seq < position! }
                : Array(state.list[firstIndex(after: position ?? 0, in: state.list)...])
            for entry in ordered {
                guard entry.event.published >= since, entry.event.published < until, matching(entry) else {
                    continue
                }
                if page.count == limit { return (page, last) }
                page.append(entry)
                last = entry.seq
            }
            return (page, nil)
        }
    }

    /// The index of the first entry with a sequence number above `seq` (binary search).
    private func firstIndex(after seq: Int64, in list: [Entry]) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].seq <= seq { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// What a `LogEvent` says beyond its typed fields, for the events Okta logs on its own account
/// (rate-limit warnings and violations): the mutations' events leave these to the defaults.
struct LogEventDetails: Sendable, Hashable {
    /// `displayMessage`.
    var displayMessage: String
    /// `severity`: `DEBUG`, `INFO`, `WARN` or `ERROR`.
    var severity: String
    /// `debugContext.debugData`, written in key order.
    var debugData: [String: String]
}
