public import ConnectorConfiguration
public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
public import OktaClient
import Synchronization

/// What a reconcile reports while it runs.
public struct ReconcileProgress: Sendable {
    public var phase: String
    public var listed: Int
    public var calls: Int
    public var rateLimitWaits: Int
    /// Users the previous run listed: the denominator of an ETA.
    public var expectedUsers: Int?
    public var elapsed: TimeInterval
    /// Seconds left, from the calls still needed and the rate limits (``ReconcileETA``): all of
    /// the run when ``etaUnknown`` is `nil`, else only the part that can be counted (a lower bound).
    public var eta: TimeInterval?
    /// What the estimate cannot count yet, and why (a first run does not know how many users Okta
    /// has until it has listed them): `nil` when ``eta`` covers the whole run.
    public var etaUnknown: String?
    /// The Okta calls still needed, by bucket, as far as they are known: the estimate is made
    /// again from them as the rate-limit windows move (`serve`'s `eta_s`).
    public var callsLeft: [OktaBucket: Int]
    /// The rate-limit wait in progress, if any.
    public var wait: RateLimitWait?

    /// The seconds left as they stand at `now`, for a report made at `reportedAt`: the time since
    /// is taken off, so an estimate shown again later (during a long wait) counts down.
    /// - Parameters:
    ///   - now: The time now.
    ///   - reportedAt: When the report was made.
    /// - Returns: The seconds left, never below one second (an estimate exists only while work
    ///   remains); `nil` without an estimate.
    public func eta(at now: Date, reportedAt: Date) -> TimeInterval? {
        eta.map { max(1, $0 - max(0, now.timeIntervalSince(reportedAt))) }
    }

    /// Creates a progress report.
    public init(
        phase: String, listed: Int, calls: Int, rateLimitWaits: Int, expectedUsers: Int? = nil,
        elapsed: TimeInterval, eta: TimeInterval? = nil, etaUnknown: String? = nil,
        callsLeft: [OktaBucket: Int] = [:], wait: RateLimitWait? = nil
    ) {
        self.etaUnknown = etaUnknown
        self.callsLeft = callsLeft
        self.phase = phase
        self.listed = listed
        self.calls = calls
        self.rateLimitWaits = rateLimitWaits
        self.expectedUsers = expectedUsers
        self.elapsed = elapsed
        self.eta = eta
        self.wait = wait
    }
}

/// How to run one reconcile.
public struct ReconcileOptions: Sendable {
    public var trigger: RunTrigger
    /// Report what would change without writing or forwarding.
    public var dryRun: Bool
    /// Apply removals even beyond the circuit breaker's share.
    public var confirmRemovals: Bool
    /// Enrichment calls in flight at once (per-user plan).
    public var enrichmentConcurrency: Int
    /// Decode, map and compare every listed user, even one whose raw object, enrichment and mapping
    /// are those the store last wrote for it (which is otherwise only marked seen).
    public var compareEveryUser: Bool

    /// Creates options.
    public init(
        trigger: RunTrigger, dryRun: Bool = false, confirmRemovals: Bool = false, enrichmentConcurrency: Int = 8,
        compareEveryUser: Bool = false
    ) {
        self.compareEveryUser = compareEveryUser
        self.trigger = trigger
        self.dryRun = dryRun
        self.confirmRemovals = confirmRemovals
        self.enrichmentConcurrency = enrichmentConcurrency
    }
}

/// The full reconcile of one connector (SPEC §6): list every user with a selected status from Okta,
/// page by page; enrich with apps and devices by the cheapest plan; map; write only changed records,
/// with their outbox entries, one transaction per page; then remove the users the complete listing
/// did not contain, unless that would remove too many (the circuit breaker).
public struct Reconciler: Sendable {
    let connector: ConnectorSettings
    /// Okta, as the reconcile lists it (``OktaAPIClient``, or an in-memory directory in tests).
    let client: any OktaDirectory
    let store: any StateStore
    let clock: any WallClock
    let logger: Logger
    let progress: (@Sendable (ReconcileProgress) -> Void)?
    /// How often a running reconcile logs its progress and stores its live counts.
    let progressInterval: Duration
    /// The digests of users' inputs under this connector's mapping and enrichment.

    /// Creates a reconciler.
    /// - Parameters:
    ///   - client: Where users, apps and devices are listed (the connector's ``OktaAPIClient``).
    ///   - progress: Told of the progress after each page (the CLI's progress line).
    ///   - progressInterval: How often the run logs its progress and updates its record's counts in
    ///     the store while it runs (`runs`, `status` and `/api/status` show them live).
    public init(
        connector: ConnectorSettings, client: any OktaDirectory, store: any StateStore, clock: any WallClock,
        logger: Logger, progress: (@Sendable (ReconcileProgress) -> Void)? = nil,
        progressInterval: Duration = .seconds(15)
    ) {
        self.progressInterval = progressInterval
        self.connector = connector
        self.client = client
        self.store = store
        self.clock = clock
        self.logger = logger
        self.progress = progress
    }

    /// Runs one reconcile and records it.
    /// - Returns: The run record (also stored), whatever its outcome; throws only when the store fails.
    public func run(_ options: ReconcileOptions) async throws -> RunRecord {
        let started = clock.now
        let startStamp = Timestamp(started)
        let runId = try await store.startRun(
            connector: connector.slug, trigger: options.trigger, dryRun: options.dryRun, at: startStamp)
        var record = RunRecord(
            id: runId, connector: connector.slug, trigger: options.trigger, dryRun: options.dryRun,
            startedAt: startStamp)
        let callsBefore = client.callCounts
        let waitsBefore = await client.limiter.waits
        var previous: RunRecord?
        var log = logger
        log[metadataKey: "connector"] = "\(connector.slug)"
        log[metadataKey: "run"] = "\(runId)"
        log.info(
            "reconcile started", metadata: ["trigger": "\(options.trigger.rawValue)", "dry_run": "\(options.dryRun)"])

        var state = RunState(
            presentBefore: 0, enrich: connector.enrich,
            digester: UserInputDigester(
                mapper: connector.mapper, apps: connector.enrich.apps, devices: connector.enrich.devices,
                groups: connector.enrich.groups))
        let live = LiveProgress(
            ReconcileProgress(phase: "starting", listed: 0, calls: 0, rateLimitWaits: 0, elapsed: 0))
        let runningRecord = record
        await withTaskGroup(of: Void.self) { ticker in
            // Logs the progress and stores the live counts at a steady cadence, waits included.
            ticker.addTask { [log] in
                await self.reportWhileRunning(
                    live: live, record: runningRecord, started: started, callsBefore: callsBefore, log: log)
            }
            defer { ticker.cancelAll() }
            do {
                // Inside the `do`: once the run is started, whatever happens (a shutdown included) is recorded.
                previous = try await store.runs(connector: connector.slug, limit: 20).first {
                    $0.id != runId && $0.outcome == .succeeded && !$0.dryRun
                }
                state.presentBefore = try await store.presentUserCount(connector: connector.slug)
                state.listed = ListedUserIds(expected: max(state.presentBefore, previous?.counts.listed ?? 0))
                if !connector.scopeGroups.isEmpty {
                    // Resolved on every run: a renamed or deleted group fails the run, never empties it.
                    let scope = try await GroupScope.resolve(connector.scopeGroups, client: client)
                    state.scopeMembers = try await scope.memberIds(client: client)
                    log.info(
                        "user scope",
                        metadata: ["groups": "\(scope.groups.map(\.id))", "members": "\(state.scopeMembers!.count)"])
                }
                state.enrich = await effectiveEnrichment(log: log)
                state.digester = UserInputDigester(
                    mapper: connector.mapper, apps: state.enrich.apps, devices: state.enrich.devices,
                    groups: state.enrich.groups)
                let choice = EnrichmentPlanner.choose(
                    settings: state.enrich, expectedUsers: previous?.counts.listed)
                if let choice { log.info("enrichment plan", metadata: ["plan": "\(choice)"]) }
                if choice?.plan == .bulk {
                    try await stageBulkEnrichment(
                        runId: runId, options: options, state: &state, started: started, live: live,
                        previous: previous, callsBefore: callsBefore)
                }
                // One concrete page type whatever the directory: no existential dispatch per page.
                for try await page in client.listUserPages(statuses: connector.userStatuses, limit: 200) {
                    try await process(page, runId: runId, plan: choice?.plan, options: options, state: &state, log: log)
                    await report(
                        "listing users", state: state, expected: previous?.counts.listed, plan: choice?.plan,
                        started: started, live: live)
                }
                // A shutdown during the listing may surface as the last page: never sweep after it.
                try Task.checkCancellation()
                try await sweep(runId: runId, startStamp: startStamp, options: options, state: &state, record: &record)
            } catch {
                if Task.isCancelled || error is CancellationError {
                    // Shutdown: the listing is incomplete, so nothing is removed; the next run starts over.
                    record.outcome = .interrupted
                    record.errors.append("interrupted by shutdown; nothing removed")
                    log.notice("reconcile interrupted by shutdown")
                } else {
                    // A run that failed part-way removes nothing: pages already written are true data.
                    record.outcome = .failed
                    record.errors.append(describe(error))
                    log.error("reconcile failed", metadata: ["error": "\(describe(error))"])
                }
            }
        }
        let recordStore = self.store
        if choiceWasBulk(state) {
            // Unstructured, so that a cancelled run still cleans up (GRDB throws CancellationError
            // for accesses from a cancelled task).
            try? await Task.detached { try await recordStore.clearStagedEnrichment(runId: runId) }.value
        }

        record.endedAt = Timestamp(clock.now)
        record.counts = state.counts
        if record.outcome == .running { record.outcome = state.held ? .held : .succeeded }
        // Drift: changes that events should have delivered but did not. Only meaningful once a run
        // has succeeded before (the first run creates everything).
        // Corrections of User.LastLogon alone are counted apart; when the hook leaves sign-ins out
        // (`event_types: changes`) and nothing polls them, they are the reconcile's job, not drift
        // (SPEC §20). With sign-ins delivered or polled, a missed one is drift like any change.
        record.lastLogonUpdates = previous == nil ? 0 : state.lastLogonUpdates
        let expected = connector.signInsComeFromTheReconcile ? state.lastLogonUpdates : 0
        record.drift =
            previous == nil ? 0 : state.counts.created + state.counts.updated - expected + state.counts.removed
        let callsAfter = client.callCounts
        record.oktaCalls = callsAfter.calls.merging(callsBefore.calls) { after, before in after - before }
            .filter { $0.value > 0 }
        record.rateLimited = callsAfter.tooManyRequests - callsBefore.tooManyRequests
        let waits = await client.limiter.waits - waitsBefore
        if waits > 0 { log.info("rate-limit waits", metadata: ["waits": "\(waits)"]) }
        // The record is written even when the run was cancelled: an unstructured task does not
        // inherit the cancellation.
        let finished = record
        try await Task.detached { try await recordStore.finishRun(finished) }.value
        log.info(
            "reconcile finished",
            metadata: [
                "outcome": "\(record.outcome.rawValue)", "listed": "\(record.counts.listed)",
                "created": "\(record.counts.created)", "updated": "\(record.counts.updated)",
                "unchanged": "\(record.counts.unchanged)", "removed": "\(record.counts.removed)",
                "unchanged_by_digest": "\(state.unchangedByDigest)",
                "drift": "\(record.drift)", "last_logon_updates": "\(record.lastLogonUpdates)",
                "okta_calls": "\(record.oktaCalls.values.reduce(0, +))",
            ])
        return record
    }

    struct RunState {
        var presentBefore: Int
        var counts = RunCounts()
        /// Updated users whose record changed in User.LastLogon alone.
        var lastLogonUpdates = 0
        var listedPresent = 0
        /// Users found unchanged from their raw digest alone (not decoded, mapped or hashed).
        var unchangedByDigest = 0
        var held = false
        var staged = false
        /// What this run gathers: the configured enrichment, without groups when the OAuth app lacks
        /// `okta.groups.read` and without devices on a Classic Engine org (SPEC §19).
        var enrich: EnrichSettings
        /// The digester of that enrichment.
        var digester: UserInputDigester
        /// Listed users whose status is no longer selected: removed by the sweep, behind the
        /// circuit breaker like every other removal.
        var notSelected: Set<String> = []
        /// With `user_scope.groups`: the members of the scope's groups (SPEC §19).
        var scopeMembers: Set<String>?
        /// Listed users with a selected status outside the scope's groups: removed by the sweep.
        var outOfScope: Set<String> = []
        /// The users listed and kept (written or unchanged): the sweep leaves them alone.
        var listed = ListedUserIds()
    }

    func choiceWasBulk(_ state: RunState) -> Bool { state.staged }

    /// What a run gathers: `enrich`, without groups when the OAuth app lacks `okta.groups.read`
    /// (asked again daily) and without devices on a Classic Engine org, where the Devices API does
    /// not exist: one line each, and the records carry no `User.Groups` / `User.Devices`.
    func effectiveEnrichment(log: Logger) async -> EnrichSettings {
        var enrich = connector.enrich
        if enrich.groups, await client.missingScopes().contains("okta.groups.read") {
            enrich.groups = false
            log.warning(
                "groups are not gathered: the OAuth token does not carry okta.groups.read (grant it to the app, and list it in okta.oauth.scopes when they are set; asked again daily)",
                metadata: ["grant": "okta.groups.read"])
        }
        if enrich.devices, await client.isClassicEngine() {
            enrich.devices = false
            log.notice("devices are not gathered: the org runs Classic Engine, which has no Devices API")
        }
        return enrich
    }

    // MARK: enrichment

    /// The bulk plan: every app's users and every device's users, staged in the store.
    func stageBulkEnrichment(
        runId: Int64, options: ReconcileOptions, state: inout RunState, started: Date, live: LiveProgress,
        previous: RunRecord?, callsBefore: OktaCallStats.Counts
    ) async throws {
        state.staged = true
        let left = BulkWorkLeft(
            previous: previous, callsBefore: callsBefore, groups: state.enrich.groups,
            devices: state.enrich.devices)
        if state.enrich.apps {
            // App-user pages are counted as they are found: each app still to read is taken to
            // need as many pages as the apps read so far did on average, and at least one (the
            // previous run's count when there is one).
            var appsRead = 0
            var appPagesRead = 0
            for try await apps in client.listApps() {
                let active = apps.filter { $0.status == nil || $0.status == "ACTIVE" }
                for (index, app) in active.enumerated() {
                    let assigned = AssignedApp(appName: app.name ?? "", label: app.label ?? "", instanceId: app.id)
                    var pages = 0
                    for try await userIds in client.appUserIds(appId: app.id) {
                        try await store.stageEnrichment(
                            runId: runId, apps: userIds.map { ($0, assigned) }, devices: [])
                        pages += 1
                        appPagesRead += 1
                        let average = appsRead > 0 ? Double(appPagesRead - pages) / Double(appsRead) : 0
                        let work = left.inApps(
                            made: client.callCounts,
                            estimate: max(0, Int(average.rounded(.up)) - pages)
                                + max(
                                    active.count - index - 1,
                                    Int((average * Double(active.count - index - 1)).rounded(.up))))
                        await report(
                            "reading app assignments", state: state, expected: nil, plan: nil, started: started,
                            live: live, work: work)
                    }
                    appsRead += 1
                    let average = Double(appPagesRead) / Double(appsRead)
                    let work = left.inApps(
                        made: client.callCounts,
                        estimate: max(
                            active.count - index - 1, Int((average * Double(active.count - index - 1)).rounded(.up))))
                    await report(
                        "reading app assignments", state: state, expected: nil, plan: nil, started: started,
                        live: live, work: work)
                }
            }
        }
        if state.enrich.groups {
            var groupsRead = 0
            var groupPagesRead = 0
            for try await groups in client.listGroups() {
                let mapped = groups.filter(\.isMapped)
                for (index, group) in mapped.enumerated() {
                    let membership = group.membership
                    for try await userIds in client.groupMemberIds(groupId: group.id) {
                        try await store.stageEnrichment(
                            runId: runId, apps: [], devices: [], groups: userIds.map { ($0, membership) })
                        groupPagesRead += 1
                    }
                    groupsRead += 1
                    let average = Double(groupPagesRead) / Double(groupsRead)
                    let work = left.inGroups(
                        made: client.callCounts,
                        estimate: Int((average * Double(mapped.count - index - 1)).rounded(.up)))
                    await report(
                        "reading group memberships", state: state, expected: nil, plan: nil, started: started,
                        live: live, work: work)
                }
            }
        }
        if state.enrich.devices {
            for try await devices in client.listDevices() {
                let links = devices.flatMap { item in item.userIds.map { ($0, item.device.summary) } }
                try await store.stageEnrichment(runId: runId, apps: [], devices: links)
                await report(
                    "reading devices", state: state, expected: nil, plan: nil, started: started, live: live,
                    work: left.inDevices(made: client.callCounts))
            }
        }
    }

    /// The per-user plan: app links and devices of each user, a few calls in flight.
    /// - Returns: The enrichment of each user Okta still has; users deleted since the listing
    ///   (`404 E0000007`) have none.
    func enrichPerUser(_ users: [String], concurrency: Int, enrich: EnrichSettings) async throws
        -> [String: StagedEnrichment?]
    {
        let wantApps = enrich.apps
        let wantDevices = enrich.devices
        let wantGroups = enrich.groups
        return try await withThrowingTaskGroup(of: (String, StagedEnrichment?).self) { group in
            var result: [String: StagedEnrichment?] = [:]
            var iterator = users.makeIterator()
            func add(_ userId: String) {
                group.addTask {
                    do {
                        let apps = wantApps ? try await client.appLinks(userId: userId).compactMap(\.assignedApp) : []
                        let devices =
                            wantDevices ? try await client.userDevices(userId: userId).map(\.device.summary) : []
                        let groups =
                            wantGroups
                            ? try await client.userGroups(userId: userId).filter(\.isMapped).map(\.membership) : []
                        return (userId, StagedEnrichment(apps: apps, devices: devices, groups: groups))
                    } catch OktaError.notFound {
                        // Deleted between the listing and now: skipped by this run (see `process`).
                        return (userId, nil)
                    }
                }
            }
            for _ in 0..<max(1, concurrency) { if let user = iterator.next() { add(user) } }
            while let (id, enrichment) = try await group.next() {
                result[id] = enrichment
                if let user = iterator.next() { add(user) }
            }
            return result
        }
    }

    // MARK: pages

    /// One page of the listing. A user whose raw object, enrichment and mapping are what the store
    /// last wrote for it (equal ``UserInputDigester`` digests) is only marked seen: no decode, no
    /// mapping, no hash. Every other user is decoded, mapped and committed as before, in one
    /// transaction; a malformed user fails the run before that transaction (users already marked
    /// seen stay so: a failed run removes nothing).
    func process(
        _ page: OktaUserPage, runId: Int64, plan: EnrichSettings.Plan?, options: ReconcileOptions,
        state: inout RunState, log: Logger
    ) async throws {
        guard !page.users.isEmpty else { return }
        state.counts.listed += page.users.count
        // Who each listed user is: from the raw object when it says so plainly, else by decoding it.
        var decoded: [Int: OktaUser] = [:]
        var ids: [String] = []
        var statuses: [String] = []
        ids.reserveCapacity(page.users.count)
        for (index, raw) in page.users.enumerated() {
            if let id = raw.id, let status = raw.status {
                ids.append(id)
                statuses.append(status)
            } else {
                let user = try decodeListed(page, index)
                decoded[index] = user
                ids.append(user.id)
                statuses.append(user.status)
            }
        }
        let (written, enrichment) = try await usersToWrite(
            ids: ids, statuses: statuses, runId: runId, plan: plan, options: options, state: &state, log: log)
        let enrich = state.enrich
        func change(_ index: Int) throws -> UserChange {
            let user = try decoded[index] ?? decodeListed(page, index)
            let staged = enrichment[user.id] ?? StagedEnrichment()
            let snapshot = UserSnapshot(
                user: user, apps: enrich.apps ? staged.apps : nil, devices: enrich.devices ? staged.devices : nil,
                groups: enrich.groups ? staged.groups : nil)
            return .upsert(snapshot: snapshot, record: connector.mapper.record(for: snapshot))
        }
        if options.dryRun {
            let changes = try written.map(change)
            let stored = try await store.recordHashes(connector: connector.slug, userIds: ids)
            for change in changes {
                switch change {
                case .upsert(_, let record):
                    if let hash = stored[record.key] {
                        state.listedPresent += 1
                        if hash == record.contentHash { state.counts.unchanged += 1 } else { state.counts.updated += 1 }
                    } else {
                        state.counts.created += 1
                    }
                case .remove:
                    break
                }
            }
            return
        }
        // The digest of each written user's inputs, when its raw object can take the fast path (a
        // user listed twice in one page never does: its upserts are applied in order).
        let counted = Dictionary(ids.map { ($0, 1) }, uniquingKeysWith: +)
        var digests: [String: String] = [:]
        for index in written {
            guard let raw = page.users[index].digest, counted[ids[index]] == 1 else { continue }
            let staged = enrichment[ids[index]] ?? StagedEnrichment()
            digests[ids[index]] = state.digester.digest(
                rawDigest: raw, apps: staged.apps, devices: staged.devices, groups: staged.groups)
        }
        // Users whose stored digest is the listed one need nothing written at all (one read per
        // page; nothing to look for in an empty store); the rest are decoded, mapped and committed.
        var unchanged: Set<String> = []
        if state.presentBefore > 0, !digests.isEmpty, !options.compareEveryUser {
            unchanged = try await store.unchangedByDigest(connector: connector.slug, digests: digests)
            state.counts.unchanged += unchanged.count
            state.unchangedByDigest += unchanged.count
        }
        for index in written { state.listed.insert(ids[index]) }
        var changes: [UserChange] = []
        changes.reserveCapacity(written.count - unchanged.count)
        for index in written where !unchanged.contains(ids[index]) { changes.append(try change(index)) }
        guard !changes.isEmpty else { return }
        // The records as stored, to tell a change of User.LastLogon alone from drift (SPEC §20).
        let storedRecords =
            state.presentBefore > 0
            ? try await store.records(connector: connector.slug, userIds: changes.map(\.userId)) : [:]
        let outcomes = try await store.commit(
            UserWriteBatch(
                connector: connector.slug, changes: changes, seenInRun: runId, at: Timestamp(clock.now),
                runFence: RunGate.runFence, rawDigests: digests))
        for (change, outcome) in zip(changes, outcomes) {
            switch outcome {
            case .created: state.counts.created += 1
            case .updated:
                state.counts.updated += 1
                if case .upsert(_, let record) = change, let stored = storedRecords[record.key],
                    record.differsInLastLogonOnly(from: stored)
                {
                    state.lastLogonUpdates += 1
                }
            case .unchanged, .stale: state.counts.unchanged += 1
            case .removed: state.counts.removed += 1
            case .alreadyAbsent: break
            }
        }
    }

    /// The users of a page to write, and their enrichment: a selected status, inside the scope's
    /// groups, and still in Okta when enriched (SPEC §6, §19). The others are noted for the sweep.
    func usersToWrite(
        ids: [String], statuses: [String], runId: Int64, plan: EnrichSettings.Plan?, options: ReconcileOptions,
        state: inout RunState, log: Logger
    ) async throws -> (written: [Int], enrichment: [String: StagedEnrichment]) {
        let selected = Set(connector.userStatuses.map(\.rawValue))
        // Out of the scope's groups (SPEC §19): neither enriched nor written; the sweep removes them.
        var outside: Set<Int> = []
        if let members = state.scopeMembers {
            for index in ids.indices where selected.contains(statuses[index]) && !members.contains(ids[index]) {
                outside.insert(index)
                state.outOfScope.insert(ids[index])
            }
        }
        let enrichable = outside.isEmpty ? ids : ids.indices.filter { !outside.contains($0) }.map { ids[$0] }
        var enrichment: [String: StagedEnrichment] = [:]
        var gone: Set<String> = []
        switch plan {
        case .bulk: enrichment = try await store.stagedEnrichment(runId: runId, userIds: enrichable)
        case .perUser, .auto:
            for (id, staged) in try await enrichPerUser(
                enrichable, concurrency: options.enrichmentConcurrency, enrich: state.enrich)
            {
                if let staged { enrichment[id] = staged } else { gone.insert(id) }
            }
        case nil: break
        }
        var written: [Int] = []
        written.reserveCapacity(ids.count)
        for index in ids.indices {
            guard selected.contains(statuses[index]) else {
                // Not written and not marked seen: the sweep removes it, counted against the breaker.
                state.notSelected.insert(ids[index])
                continue
            }
            guard !outside.contains(index) else { continue }
            guard !gone.contains(ids[index]) else {
                // Deleted in Okta between the listing and its enrichment: writing it without apps and
                // devices would be false. Not marked seen either, so the sweep treats it as not listed.
                log.info("user deleted during the reconcile; skipped", metadata: ["user": "\(ids[index])"])
                continue
            }
            written.append(index)
        }
        return (written, enrichment)
    }

    /// One listed user, decoded; a malformed one fails the page as a malformed answer.
    func decodeListed(_ page: OktaUserPage, _ index: Int) throws -> OktaUser {
        do {
            return try page.decodeUser(at: index)
        } catch {
            throw OktaError.malformedResponse(endpoint: "GET /api/v1/users", reason: "user \(index): \(error)")
        }
    }

    // MARK: removal

    /// Mark and sweep after a complete listing, behind the circuit breaker.
    func sweep(
        runId: Int64, startStamp: Timestamp, options: ReconcileOptions, state: inout RunState, record: inout RunRecord
    ) async throws {
        let candidates: [String]
        let candidateCount: Int
        if options.dryRun {
            candidates = []
            candidateCount = max(0, state.presentBefore - state.listedPresent)
        } else {
            candidates = try await notListed(untouchedSince: startStamp, state: &state)
            candidateCount = candidates.count
        }
        guard candidateCount > 0 else { return }
        let share = state.presentBefore > 0 ? Double(candidateCount) / Double(state.presentBefore) : 1
        let emptyListing = state.counts.listed == 0 && state.presentBefore > 10
        if (share > connector.reconcile.maxRemovalShare || emptyListing) && !options.confirmRemovals {
            state.held = true
            let reason =
                emptyListing
                ? "the listing returned no users where there were \(state.presentBefore)"
                : "the run would remove \(candidateCount) of \(state.presentBefore) users (\(Int((share * 100).rounded()))%, more than \(Int(connector.reconcile.maxRemovalShare * 100))%)"
            record.errors.append(
                "held: \(reason); nothing removed. Run `okta-connector reconcile --connector \"\(connector.name)\" --confirm-removals` to apply"
            )
            if !options.dryRun {
                // What it would remove, for the operator deciding (`runs show`, the console). Only
                // for showing: a store failure here leaves the run held, and says so.
                do {
                    try await store.recordHeldRemovals(connector: connector.slug, runId: runId, userIds: candidates)
                } catch let error where error is CancellationError || Task.isCancelled {
                    throw error  // a shutdown: the run is interrupted, not held
                } catch {
                    logger.warning(
                        "the held run's list of removals could not be kept",
                        metadata: ["connector": "\(connector.slug)", "error": "\(error)"])
                    record.errors.append("the list of users it would remove could not be kept: \(error)")
                }
            }
            logger.warning(
                "reconcile held by the circuit breaker",
                metadata: ["connector": "\(connector.slug)", "reason": "\(reason)"])
            return
        }
        if options.dryRun {
            state.counts.removed += candidateCount
            return
        }
        for start in stride(from: 0, to: candidates.count, by: 500) {
            try Task.checkCancellation()
            let batch = candidates[start..<min(candidates.count, start + 500)].map {
                UserChange.remove(userId: $0, reason: Self.removalReason($0, state: state))
            }
            let outcomes = try await store.commit(
                UserWriteBatch(
                    connector: connector.slug, changes: batch, at: Timestamp(clock.now), runFence: RunGate.runFence))
            state.counts.removed += outcomes.filter { if case .removed = $0 { true } else { false } }.count
        }
    }

    /// Why the sweep removes a user: its status, the scope's groups, or not listed at all.
    static func removalReason(_ userId: String, state: RunState) -> RemovalReason {
        if state.notSelected.contains(userId) { return .statusNotSelected }
        if state.outOfScope.contains(userId) { return .notInScope }
        return .notListed
    }

    /// The present users the listing did not keep and nothing wrote since the run started: the
    /// removal candidates of mark and sweep, in id order. Pages through the store's present ids
    /// (a few thousand at a time, so memory stays flat) and takes away the listed ones.
    func notListed(untouchedSince: Timestamp, state: inout RunState) async throws -> [String] {
        state.listed.seal()
        var candidates: [String] = []
        var after: String?
        while true {
            try Task.checkCancellation()
            let ids = try await store.presentUserIds(
                connector: connector.slug, untouchedSince: untouchedSince, after: after, limit: 5000)
            for id in ids where !state.listed.contains(id) { candidates.append(id) }
            guard ids.count == 5000, let last = ids.last else { return candidates }
            after = last
        }
    }

    func report(
        _ phase: String, state: RunState, expected: Int?, plan: EnrichSettings.Plan?, started: Date,
        live: LiveProgress, work bulkWork: WorkLeft? = nil
    ) async {
        let calls = client.callCounts.total
        let limiter = client.limiter
        let elapsed = clock.now.timeIntervalSince(started)
        var work = WorkLeft()
        if let bulkWork {
            // A bulk enrichment phase: its own calls left, then the listing.
            work = bulkWork
        } else if phase == "listing users" {
            if let expected {
                // The calls still needed: the rest of the listing, and per-user enrichment of the rest.
                let users = max(0, expected - state.counts.listed)
                work.calls[.usersList] = (users + 199) / 200
                if plan == .perUser || plan == .auto {
                    work.calls[.userLinks] =
                        users
                        * ((state.enrich.apps ? 1 : 0) + (state.enrich.devices ? 1 : 0)
                            + (state.enrich.groups ? 1 : 0))
                }
            } else {
                // Okta's listing says neither how many users nor how many pages are left.
                work.unknown = "how many users Okta has is known only once a first run has listed them"
            }
        }
        let eta = await estimate(work.calls, started: started, live: live)
        let report = ReconcileProgress(
            phase: phase, listed: state.counts.listed, calls: calls, rateLimitWaits: await limiter.waits,
            expectedUsers: expected, elapsed: elapsed, eta: eta, etaUnknown: work.unknown, callsLeft: work.calls,
            wait: await limiter.currentWait)
        live.set(report, counts: state.counts, at: clock.now)
        progress?(report)
    }

    /// Seconds left for `calls`, from the rate-limit windows as they stand now and the time a call
    /// has taken so far; at least a second while any call is left.
    func estimate(_ calls: [OktaBucket: Int], started: Date, live: LiveProgress) async -> TimeInterval? {
        let limiter = client.limiter
        var windows: [OktaBucket: ReconcileETA.Window] = [:]
        for bucket in calls.keys {
            if let window = await limiter.state(of: bucket) {
                windows[bucket] = ReconcileETA.Window(
                    limit: window.limit, remaining: window.remaining, resetIn: window.resetIn)
                live.noteLimit(window.limit, of: bucket)
            } else if let limit = live.limit(of: bucket) {
                // Between a reset and the next answer the limiter knows no window: a fresh one.
                windows[bucket] = ReconcileETA.Window(
                    limit: limit, remaining: limit, resetIn: ReconcileETA.windowLength)
            }
        }
        let calls = calls.filter { $0.value > 0 }
        let made = client.callCounts.total
        let working = max(0, clock.now.timeIntervalSince(started) - (await limiter.waitedSeconds))
        return ReconcileETA.estimate(
            calls: calls, windows: windows, share: limiter.share,
            secondsPerCall: made > 0 ? working / Double(made) : nil
        ).map { max(1, $0) }
    }

    /// Every `progressInterval` while the run lasts: one log line with the progress (and the wait in
    /// progress, if any) and the live counts written to the run record.
    func reportWhileRunning(
        live: LiveProgress, record: RunRecord, started: Date, callsBefore: OktaCallStats.Counts, log: Logger
    ) async {
        while !Task.isCancelled {
            // On the run's clock, as the rate-limit waits are.
            try? await clock.sleep(until: clock.now.addingTimeInterval(ReconcileETA.seconds(progressInterval)))
            guard !Task.isCancelled else { return }
            let (report, counts, reportedAt) = live.get()
            var running = record
            running.counts = counts
            let callsNow = client.callCounts
            running.oktaCalls = callsNow.calls.merging(callsBefore.calls) { now, before in now - before }
                .filter { $0.value > 0 }
            running.rateLimited = callsNow.tooManyRequests - callsBefore.tooManyRequests
            do {
                try await store.updateRunProgress(running)
            } catch {
                // Live counts are for status only: the run goes on, its final record is written at the end.
                log.warning("could not store the run's live counts", metadata: ["error": "\(error)"])
            }
            var metadata: Logger.Metadata = [
                "phase": "\(report.phase)", "listed": "\(counts.listed)", "created": "\(counts.created)",
                "updated": "\(counts.updated)", "unchanged": "\(counts.unchanged)",
                "okta_calls": "\(running.oktaCalls.values.reduce(0, +))",
            ]
            // The estimate made again now from the calls still needed and the windows as they
            // stand: a long rate-limit wait between two pages counts down to its reset, and the
            // windows after it are still counted (it neither repeats one number nor reaches zero).
            let eta =
                report.callsLeft.isEmpty
                ? report.eta(at: clock.now, reportedAt: reportedAt)
                : await estimate(report.callsLeft, started: started, live: live)
            if let eta {
                // A lower bound when part of the run cannot be counted yet.
                metadata[report.etaUnknown == nil ? "eta_s" : "eta_at_least_s"] = "\(Int(eta.rounded()))"
            }
            if let unknown = report.etaUnknown { metadata["eta_unknown"] = "\(unknown)" }
            if let wait = await client.limiter.currentWait { metadata["waiting"] = "\(wait.text(now: clock.now))" }
            log.notice("reconcile progress", metadata: metadata)
        }
    }

    func describe(_ error: any Error) -> String {
        if let okta = error as? OktaError { return okta.description }
        if let store = error as? StoreError { return store.description }
        return "\(error)"
    }
}

/// The latest progress of a run, shared between the run and its periodic report.
final class LiveProgress: Sendable {
    private let state: Mutex<(ReconcileProgress, RunCounts, Date)>

    init(_ initial: ReconcileProgress) { state = Mutex((initial, RunCounts(), Date())) }

    /// The last report, the counts with it and when it was made.
    func set(_ progress: ReconcileProgress, counts: RunCounts, at instant: Date) {
        state.withLock { $0 = (progress, counts, instant) }
    }

    func get() -> (ReconcileProgress, RunCounts, Date) { state.withLock { $0 } }

    /// The last limit seen of each bucket, for the windows after a reset.
    private let limits = Mutex<[OktaBucket: Int]>([:])

    func noteLimit(_ limit: Int, of bucket: OktaBucket) { limits.withLock { $0[bucket] = limit } }

    func limit(of bucket: OktaBucket) -> Int? { limits.withLock { $0[bucket] } }
}
