import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import Metrics
import OktaClient
import Prometheus
import Synchronization

/// The metrics of SPEC §11 in Prometheus text, through swift-metrics and swift-prometheus.
///
/// Counters follow the running parts' own counts (the receiver, the Okta clients, the appliers,
/// the forwarders); gauges are read from the store at each scrape, so they are true even after a
/// restart.
public final class ConnectorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let seen = Mutex<[String: Int]>([:])

    /// Creates an empty registry.
    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(3),
        ]
        self.factory = factory
    }

    /// Adds the growth of a running count to a counter.
    private func advance(_ name: String, _ dimensions: [(String, String)], to total: Int) {
        let key = name + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let delta = seen.withLock { seen -> Int in
            let previous = seen[key] ?? 0
            seen[key] = total
            return total - previous
        }
        if delta > 0 { Counter(label: name, dimensions: dimensions, factory: factory).increment(by: delta) }
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)], _ value: Double) {
        Gauge(label: name, dimensions: dimensions, factory: factory).record(value)
    }

    /// Refreshes every metric and returns the Prometheus text.
    func scrape(_ runtime: ConnectorRuntimeView) async -> String {
        for latency in runtime.receiver.takeLatencies() {
            Timer(label: "okta_connector_ack_latency_seconds", dimensions: [], factory: factory)
                .recordNanoseconds(Int64(latency * 1e9))
        }
        for (key, value) in runtime.receiver.snapshot {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            advance("okta_connector_deliveries_total", [("connector", parts[0]), ("result", parts[1])], to: value)
        }
        let now = Date()
        for connector in runtime.connectors {
            let slug = connector.settings.slug
            let calls = connector.client.stats.counts
            for (key, value) in calls.byStatus {
                guard let space = key.lastIndex(of: " ") else { continue }
                advance(
                    "okta_connector_okta_calls_total",
                    [
                        ("connector", slug), ("endpoint", String(key[..<space])),
                        ("status", String(key[key.index(after: space)...])),
                    ],
                    to: value)
            }
            advance("okta_connector_okta_rate_limited_total", [("connector", slug)], to: calls.tooManyRequests)
            for bucket in OktaBucket.allCases {
                if let state = await connector.client.limiter.state(of: bucket) {
                    gauge(
                        "okta_connector_okta_rate_limit_remaining", [("connector", slug), ("bucket", bucket.rawValue)],
                        Double(state.remaining))
                }
            }
            let applied = connector.applier.counts
            for (type, count) in applied.eventsByType {
                advance("okta_connector_events_applied_total", [("connector", slug), ("type", type)], to: count)
            }
            advance(
                "okta_connector_events_ignored_total", [("connector", slug), ("reason", "unknown_type")],
                to: applied.unknownTypes)
            advance(
                "okta_connector_events_ignored_total", [("connector", slug), ("reason", "not_successful")],
                to: applied.notSuccessful)
            advance("okta_connector_records_forwarded_total", [("connector", slug)], to: connector.forwarder.forwarded)
            advance("okta_connector_sink_errors_total", [("connector", slug)], to: connector.forwarder.failures)
            let store = runtime.store
            if let depth = try? await store.inboxDepth(connector: slug) {
                gauge("okta_connector_inbox_depth", [("connector", slug)], Double(depth))
            }
            if let outbox = try? await store.outboxStats(connector: slug) {
                gauge("okta_connector_outbox_depth", [("connector", slug)], Double(outbox.depth))
                gauge(
                    "okta_connector_outbox_oldest_age_seconds", [("connector", slug)],
                    outbox.oldestCreatedAt.map { now.timeIntervalSince($0.date) } ?? 0)
            }
            if let letters = try? await store.deadLetterCount(connector: slug) {
                gauge("okta_connector_dead_letters", [("connector", slug)], Double(letters))
            }
            if let failed = try? await store.failedEventCount(connector: slug) {
                gauge("okta_connector_events_failed", [("connector", slug)], Double(failed))
            }
            // Apply lag: how old the oldest event still waiting is (0 when none waits).
            if let oldest = try? await store.oldestPendingEventPublished(connector: slug) {
                gauge(
                    "okta_connector_apply_lag_seconds", [("connector", slug)],
                    max(0, now.timeIntervalSince(oldest.date)))
            } else {
                gauge("okta_connector_apply_lag_seconds", [("connector", slug)], 0)
            }
            let health = connector.health
            for state in ConnectorHealth.states {
                gauge("okta_connector_health", [("connector", slug), ("state", state)], health.state == state ? 1 : 0)
            }
            gauge(
                "okta_connector_okta_credentials_rejected", [("connector", slug)],
                connector.client.pause.current == nil ? 0 : 1)
            if let run = try? await store.runs(connector: slug, limit: 10).first(where: {
                $0.outcome != .running && !$0.dryRun
            }) {
                let duration =
                    run.endedAt.map { Double($0.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000 }
                    ?? 0
                gauge("okta_connector_reconcile_duration_seconds", [("connector", slug)], duration)
                gauge("okta_connector_reconcile_drift", [("connector", slug)], Double(run.drift))
                for (name, value) in [
                    ("listed", run.counts.listed), ("created", run.counts.created), ("updated", run.counts.updated),
                    ("unchanged", run.counts.unchanged), ("removed", run.counts.removed),
                ] {
                    gauge("okta_connector_reconcile_users", [("connector", slug), ("count", name)], Double(value))
                }
                gauge("okta_connector_reconcile_succeeded", [("connector", slug)], run.outcome == .succeeded ? 1 : 0)
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
