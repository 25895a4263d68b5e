import Metrics
import Synchronization

/// Okta calls made, by endpoint and answer, plus `429`s and retries: what a run records.
public final class OktaCallStats: Sendable {
    private let state = Mutex(Counts())

    /// A snapshot of the counts.
    public struct Counts: Sendable, Hashable {
        /// Calls by endpoint (bucket name), any answer.
        public var calls: [String: Int] = [:]
        /// Calls by endpoint and status, e.g. `GET /api/v1/users 200`.
        public var byStatus: [String: Int] = [:]
        /// `429` answers.
        public var tooManyRequests = 0
        /// Calls sent again (after a `429`, a `5xx` or a transport error).
        public var retries = 0

        /// Every call.
        public var total: Int { calls.values.reduce(0, +) }

        /// Creates counts (a directory other than ``OktaAPIClient`` keeps its own).
        public init(
            calls: [String: Int] = [:], byStatus: [String: Int] = [:], tooManyRequests: Int = 0, retries: Int = 0
        ) {
            self.calls = calls
            self.byStatus = byStatus
            self.tooManyRequests = tooManyRequests
            self.retries = retries
        }
    }

    /// The connector the calls are made for, as a metrics label (`nil`: no metrics).
    let connector: String?

    /// Creates empty stats.
    /// - Parameter connector: The connector, when the calls are to be recorded as metrics
    ///   (`okta_connector_okta_calls_total`, `okta_connector_okta_rate_limited_total`).
    public init(connector: String? = nil) {
        self.connector = connector
    }

    func record(_ endpoint: String, status: Int) {
        state.withLock { counts in
            counts.calls[endpoint, default: 0] += 1
            counts.byStatus["\(endpoint) \(status)", default: 0] += 1
            if status == 429 { counts.tooManyRequests += 1 }
        }
        guard let connector else { return }
        // The endpoint is a template (`GET /api/v1/users/{id}`), never an id: a bounded label.
        Counter(
            label: "okta_connector_okta_calls_total",
            dimensions: [("connector", connector), ("endpoint", endpoint), ("status", String(status))]
        ).increment()
        if status == 429 {
            Counter(label: "okta_connector_okta_rate_limited_total", dimensions: [("connector", connector)]).increment()
        }
    }

    func recordRetry() { state.withLock { $0.retries += 1 } }

    /// The counts so far.
    public var counts: Counts { state.withLock { $0 } }
}

/// Bounds the calls in flight (Okta's concurrency limit is per org, SPEC §16).
actor CallSlots {
    private let limit: Int
    private var used = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if used < limit {
            used += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            used -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
