import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import OktaClient

/// A connector over an in-memory Okta and a fresh SQLite store: no socket anywhere, so the
/// applier's and reconciler's decisions are tested on their own.
struct MemoryConnector {
    let okta: InMemoryOkta
    let testStore: TestStore
    var settings: ConnectorSettings
    var store: any StateStore { testStore.store }
    var slug: String { settings.slug }

    init(
        pageSize: Int = 200, statuses: [OktaUserStatus] = [.active, .suspended, .passwordExpired, .lockedOut],
        maxRemovalShare: Double = 0.2,
        enrich: EnrichSettings = EnrichSettings(apps: true, devices: true, plan: .perUser),
        scopeGroups: [String] = [], hookEventTypes: HookEventTypes = .all
    ) async throws {
        okta = InMemoryOkta(pageSize: pageSize)
        testStore = try await StoreBackend.sqlite.makeStore()
        var settings = ConnectorSettings(
            name: "Memory org", slug: "memory-org", server: "Cloud", active: true,
            okta: OktaSettings(
                url: URL(string: "https://memory.okta.invalid")!, credentials: .apiToken(Secret("unused")),
                rateLimitShare: 1),
            userStatuses: statuses,
            schedule: try Schedule(repeats: "daily", on: nil, startTime: "02:00", timeZone: "UTC"),
            eventHook: EventHookSettings(
                path: "/hooks/okta/memory-org", authHeader: "Authorization", secrets: [Secret("s")],
                eventTypes: hookEventTypes),
            enrich: enrich, mapper: UserMapper(),
            sink: .ndjson(NDJSONSinkSettings(path: "-", batchSize: 500)),
            reconcile: ReconcileSettings(maxRemovalShare: maxRemovalShare))
        settings.scopeGroups = scopeGroups
        self.settings = settings
    }

    func reconciler() -> Reconciler {
        Reconciler(connector: settings, client: okta, store: store, clock: SystemWallClock(), logger: quietLogger)
    }

    func reconcile(_ options: ReconcileOptions = ReconcileOptions(trigger: .manual)) async throws -> RunRecord {
        try await reconciler().run(options)
    }

    func applier(
        maximumAttempts: Int = 8, retry: RetryPolicy = RetryPolicy(initialDelay: 5, maximumDelay: 900)
    ) -> EventApplier {
        EventApplier(
            connector: settings, store: store, client: okta, clock: SystemWallClock(), logger: quietLogger,
            coalescingWindow: 0, maximumAttempts: maximumAttempts, retry: retry)
    }

    /// Stores events as one delivery and applies what is due, as the receiver and the applier do.
    @discardableResult
    func apply(_ events: [InboxEvent], with applier: EventApplier? = nil) async throws -> Int {
        _ = try await store.insert([
            InboxDelivery(connector: slug, eventId: UUID().uuidString, receivedAt: Timestamp(Date()), events: events)
        ])
        return try await (applier ?? self.applier()).applyPending()
    }

    func stored(_ id: String) async throws -> StoredUser? { try await store.user(connector: slug, id: id) }

    func queued() async throws -> [OutboxEntry] { try await store.pendingOutbox(connector: slug, limit: 10_000) }
}

/// One System Log event about a user, as the inbox stores it.
func memoryEvent(
    _ type: String, user: String, published: Timestamp = Timestamp(Date()), result: String = "SUCCESS"
) -> InboxEvent {
    let uuid = UUID().uuidString
    let selfService = type.hasPrefix("user.session.") || type.hasPrefix("user.authentication.")
    let actor = selfService ? user : "00uADMIN"
    let target = selfService ? "[]" : "[{\"id\":\"\(user)\",\"type\":\"User\",\"alternateId\":\"u@example.com\"}]"
    let payload = """
        {"uuid":"\(uuid)","published":"\(published.iso8601)","eventType":"\(type)","version":"0",
         "actor":{"id":"\(actor)","type":"User","alternateId":"a@example.com"},
         "outcome":{"result":"\(result)"},"target":\(target)}
        """
    return InboxEvent(uuid: uuid, eventType: type, subjectUserId: user, published: published, payloadJSON: payload)
}
