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
/// Counters and timers are recorded where things happen (the receiver, the Okta clients, the
/// appliers, the forwarders) through the process-wide `MetricsSystem`, bootstrapped once with this
/// registry's factory (``bootstrap()``). Gauges of what the store holds (inbox, outbox, dead
/// letters, failed events, apply lag, the last run) and of each connector's health are read at
/// each scrape with `COUNT`-style queries, so they are true even after a restart.
public final class ConnectorMetrics: Sendable {
    /// The process's registry.
    public static let shared = ConnectorMetrics()

    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    private static let bootstrapped: Void = {
        MetricsSystem.bootstrap(ConnectorMetrics.shared.factory)
    }()

    /// Makes `MetricsSystem` record into ``shared``; once per process, later calls do nothing.
    public static func bootstrap() { _ = bootstrapped }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(3),
        ]
        self.factory = factory
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)], _ value: Double) {
        Gauge(label: name, dimensions: dimensions, factory: factory).record(value)
    }

    /// Refreshes the gauges and returns the Prometheus text.
    func scrape(_ runtime: ConnectorRuntimeView) async -> String {
        let now = Date()
        for connector in runtime.connectors {
            let slug = connector.settings.slug
            for bucket in OktaBucket.allCases {
                if let state = await connector.client.limiter.state(of: bucket) {
                    gauge(
                        "okta_connector_okta_rate_limit_remaining", [("connector", slug), ("bucket", bucket.rawValue)],
                        Double(state.remaining))
                }
            }
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
