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
    let factory: HelpfulMetricsFactory

    private static let bootstrapped: Void = {
        MetricsSystem.bootstrap(ConnectorMetrics.shared.factory)
    }()

    /// Makes `MetricsSystem` record into ``shared``; once per process, later calls do nothing.
    public static func bootstrap() { _ = bootstrapped }

    init() {
        factory = HelpfulMetricsFactory(
            registry: registry, help: Self.help,
            durationBuckets: [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .seconds(3),
            ])
    }

    /// The `# HELP` text of every metric (swift-prometheus emits it when a metric is registered with it).
    static let help: [String: String] = [
        "okta_connector_deliveries_total": "Event hook deliveries received, by connector and result.",
        "okta_connector_events_received_total": "Okta events stored from deliveries, by connector and event type.",
        "okta_connector_events_applied_total": "Events applied to user state, by connector and event type.",
        "okta_connector_events_ignored_total": "Events ignored by the applier, by connector and reason.",
        "okta_connector_events_set_back_total": "Events that could not be applied now, by connector and outcome.",
        "okta_connector_ack_latency_seconds": "Time from a delivery's arrival to its acknowledgement, by connector.",
        "okta_connector_okta_calls_total": "Okta Management API calls, by connector, endpoint and HTTP status.",
        "okta_connector_okta_rate_limited_total": "Okta answers 429 (rate limited), by connector.",
        "okta_connector_okta_rate_limit_remaining": "Calls left in the current Okta rate-limit window, by bucket.",
        "okta_connector_okta_credentials_rejected": "1 while Okta rejects the connector's credentials (calls paused).",
        "okta_connector_records_forwarded_total": "Records the sink accepted, by connector.",
        "okta_connector_sink_errors_total": "Sink failures, by connector and kind (retryable, rejected, credentials).",
        "okta_connector_dead_letters_total": "Changes moved to the dead letters, by connector.",
        "okta_connector_forward_latency_seconds": "Time to deliver one batch to the sink, by connector.",
        "okta_connector_inbox_depth": "Events stored and not yet applied, by connector.",
        "okta_connector_apply_lag_seconds": "Age of the oldest event waiting to be applied (0 when none waits).",
        "okta_connector_outbox_depth": "Changes queued for the sink, by connector.",
        "okta_connector_outbox_oldest_age_seconds": "Age of the oldest change queued for the sink.",
        "okta_connector_dead_letters": "Dead letters stored now, by connector.",
        "okta_connector_events_failed": "Events that failed for good, by connector.",
        "okta_connector_health": "1 for the connector's current health state, 0 for the others.",
        "okta_connector_reconcile_duration_seconds": "Duration of the last finished, non-dry reconcile.",
        "okta_connector_reconcile_drift": "Changes the events missed, found by the last reconcile.",
        "okta_connector_reconcile_users":
            "Counts of the last reconcile (listed, created, updated, unchanged, removed).",
        "okta_connector_reconcile_succeeded": "1 when the last finished, non-dry reconcile succeeded.",
        "okta_connector_last_successful_reconcile_timestamp_seconds":
            "Unix time at which the last successful, non-dry reconcile ended (alert when too old).",
        "okta_connector_reconcile_in_progress": "1 while a reconcile of the connector runs (in any process).",
        "okta_connector_admin_token_refused_total":
            "Wrong or missing admin tokens on the admin listener, by way (bearer, sign_in).",
        "okta_connector_build_info": "Always 1; the version and git commit of the running binary as labels.",
        "okta_connector_system_log_polls_total":
            "System Log polls, by connector and result (ok, rate_limited, malformed, failed).",
        "okta_connector_system_log_events_total":
            "Events read by System Log polling, by connector and kind (new, duplicate, missed_delivery).",
        "okta_connector_system_log_lag_seconds":
            "Age of the newest event System Log polling has read (now minus its published time, corrected for Okta's clock).",
        "okta_connector_hook_events_24h":
            "Event hook events delivered to the connector over the last 24 hours (every replica's, duplicates excluded).",
        "okta_connector_hook_events_projected_24h": "The last hour's event hook events times 24.",
        "okta_connector_hook_events_daily_budget":
            "event_hook.daily_budget: the connector's share of Okta's daily cap.",
        "okta_connector_okta_clock_offset_seconds":
            "Okta's clock minus this host's, from the Date header of Okta's answers (negative: Okta is behind).",
        "okta_connector_system_log_last_poll_succeeded": "1 when the connector's last System Log poll succeeded.",
        "okta_connector_system_log_last_success_timestamp_seconds":
            "Unix time of the connector's last successful System Log poll (alert when too old).",
    ]

    /// Creates a connector's counters at 0, so that alerts see a value from the start rather than
    /// "no data" until the first increment. Labels other than the connector come from closed sets.
    /// - Parameter connector: The connector's URL name.
    public static func registerZeroCounters(connector: String) {
        let zero: [(String, [(String, String)])] = [
            ("okta_connector_okta_rate_limited_total", []),
            ("okta_connector_records_forwarded_total", []),
            ("okta_connector_dead_letters_total", []),
        ]
        for (label, extra) in zero {
            Metrics.Counter(label: label, dimensions: [("connector", connector)] + extra).increment(by: 0)
        }
        for kind in ["retryable", "rejected", "credentials"] {
            Metrics.Counter(
                label: "okta_connector_sink_errors_total", dimensions: [("connector", connector), ("kind", kind)]
            )
            .increment(by: 0)
        }
        for result in ["ok", "rate_limited", "malformed", "failed"] {
            Metrics.Counter(
                label: "okta_connector_system_log_polls_total",
                dimensions: [("connector", connector), ("result", result)]
            )
            .increment(by: 0)
        }
        for kind in ["new", "duplicate", "missed_delivery"] {
            Metrics.Counter(
                label: "okta_connector_system_log_events_total", dimensions: [("connector", connector), ("kind", kind)]
            )
            .increment(by: 0)
        }
        for result in ["stored", "duplicate_delivery", "unauthorized", "invalid", "store_unavailable"] {
            Metrics.Counter(
                label: "okta_connector_deliveries_total", dimensions: [("connector", connector), ("result", result)]
            )
            .increment(by: 0)
        }
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)], _ value: Double) {
        Gauge(label: name, dimensions: dimensions, factory: factory).record(value)
    }

    /// Refreshes the gauges and returns the Prometheus text.
    func scrape(_ runtime: AdminView) async -> String {
        let now = runtime.clock.now
        gauge("okta_connector_build_info", [("version", BuildInfo.version), ("commit", BuildInfo.commit)], 1)
        for connector in runtime.connectors {
            let slug = connector.settings.slug
            for state in await connector.operations.rateLimits() {
                gauge(
                    "okta_connector_okta_rate_limit_remaining",
                    [("connector", slug), ("bucket", state.bucket.rawValue)],
                    Double(state.remaining))
            }
            let clock = (try? await runtime.store.oktaContact(connector: slug))?.clock
            if let clock { gauge("okta_connector_okta_clock_offset_seconds", [("connector", slug)], clock.seconds) }
            await recordQueues(slug, store: runtime.store, clock: clock, now: now)
            if connector.settings.eventSource.polls,
                let cursor = try? await runtime.store.systemLogCursor(connector: slug)
            {
                recordSystemLog(slug, cursor: cursor, clock: clock, now: now)
            }
            if connector.settings.eventSource.takesHooks,
                let budget = try? await runtime.store.hookEventBudget(
                    connector: slug, budget: connector.settings.eventHook.dailyBudget, now: now)
            {
                gauge("okta_connector_hook_events_24h", [("connector", slug)], Double(budget.last24h))
                gauge("okta_connector_hook_events_projected_24h", [("connector", slug)], Double(budget.projected24h))
                gauge("okta_connector_hook_events_daily_budget", [("connector", slug)], Double(budget.budget))
            }
            let health = connector.health
            for state in ConnectorHealth.states {
                gauge("okta_connector_health", [("connector", slug), ("state", state)], health.state == state ? 1 : 0)
            }
            gauge(
                "okta_connector_okta_credentials_rejected", [("connector", slug)],
                connector.operations.credentialsPaused ? 1 : 0)
            let recent = (try? await runtime.store.runs(connector: slug, limit: 50)) ?? []
            let running = connector.operations.isReconciling || recent.contains { $0.outcome == .running }
            gauge("okta_connector_reconcile_in_progress", [("connector", slug)], running ? 1 : 0)
            recordRuns(slug, recent: recent)
        }
        return text
    }

    /// The registry in Prometheus text as it stands, the gauges not refreshed.
    var text: String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The inbox, outbox, dead letters, failed events and the apply lag.
    private func recordQueues(_ slug: String, store: any StateStore, clock: OktaClockOffset?, now: Date) async {
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
        let oldest = try? await store.oldestPendingEventPublished(connector: slug)
        gauge(
            "okta_connector_apply_lag_seconds", [("connector", slug)],
            oldest.map { clock.age(of: $0, now: now) } ?? 0)
    }

    /// Where System Log polling stands.
    private func recordSystemLog(_ slug: String, cursor: SystemLogCursor, clock: OktaClockOffset?, now: Date) {
        if let newest = cursor.newestPublished {
            gauge("okta_connector_system_log_lag_seconds", [("connector", slug)], clock.age(of: newest, now: now))
        }
        gauge(
            "okta_connector_system_log_last_poll_succeeded", [("connector", slug)], cursor.lastOutcome == "ok" ? 1 : 0)
        if let success = cursor.lastSucceededAt {
            gauge(
                "okta_connector_system_log_last_success_timestamp_seconds", [("connector", slug)],
                Double(success.millisecondsSinceEpoch) / 1000)
        }
    }

    /// The last successful run and the last finished one.
    private func recordRuns(_ slug: String, recent: [RunRecord]) {
        if let success = recent.first(where: { $0.outcome == .succeeded && !$0.dryRun }), let ended = success.endedAt {
            gauge(
                "okta_connector_last_successful_reconcile_timestamp_seconds", [("connector", slug)],
                Double(ended.millisecondsSinceEpoch) / 1000)
        }
        guard let run = recent.first(where: { $0.outcome != .running && !$0.dryRun }) else { return }
        let duration =
            run.endedAt.map { Double($0.millisecondsSinceEpoch - run.startedAt.millisecondsSinceEpoch) / 1000 } ?? 0
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

/// swift-prometheus's metrics factory with `# HELP` text: its own factory registers every metric
/// with an empty help text, so this one registers through the registry's descriptor API instead.
struct HelpfulMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let help: [String: String]
    let durationBuckets: [Duration]
    let valueBuckets: [Double] = [1, 5, 10, 50, 100, 500, 1000, 5000, 10000]

    func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: valueBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: durationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? Histogram<Double> { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Histogram<Duration> { registry.unregisterDurationHistogram(histogram) }
    }
}
