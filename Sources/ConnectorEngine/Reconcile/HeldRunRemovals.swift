public import ConnectorStore

/// What a run held by the circuit breaker would have removed, for an operator deciding whether to
/// confirm (`runs show`, the console's run page). Read from what the run kept when it was held:
/// the present users it did not list and nothing touched since it started. Only the newest listing
/// run's list is current; a later run has listed the users anew.
public enum HeldRunRemovals {
    /// The answer: the users, or why they cannot be told.
    public enum Answer: Sendable {
        /// The users the run would remove (at most `limit`), and how many there are in all.
        case users([StoredUser], total: Int)
        /// Why the list cannot be told.
        case unavailable(String)
    }

    /// The users a held run would remove.
    /// - Parameters:
    ///   - run: The run (its outcome must be `held`).
    ///   - store: The store.
    ///   - limit: At most this many users are read in full.
    /// - Returns: The users, or why they cannot be told.
    public static func of(_ run: RunRecord, store: any StateStore, limit: Int = 500) async throws -> Answer {
        guard run.outcome == .held else { return .unavailable("run \(run.id) was not held (\(run.outcome.rawValue))") }
        guard !run.dryRun else {
            return .unavailable("a dry run marks no users; a real run (it is held again) shows them")
        }
        let newer = try await store.runs(connector: run.connector, limit: 200).filter {
            $0.id > run.id && !$0.dryRun && $0.outcome != .running
        }
        if let later = newer.last {
            return .unavailable(
                "run \(later.id) listed the users since: its listing replaces this run's, so this list is no longer known"
            )
        }
        guard let kept = try await store.heldRemovals(connector: run.connector, runId: run.id) else {
            return .unavailable("run \(run.id) kept no list of its removals (held by an earlier version)")
        }
        // Users removed or written since (an event, an operator's resync) are no longer candidates:
        // both lists are in id order (bytewise), so one walk through the present ids keeps the rest.
        var ids: [String] = []
        var next = kept.startIndex
        var after: String?
        while next < kept.endIndex {
            let page = try await store.presentUserIds(
                connector: run.connector, untouchedSince: run.startedAt, after: after, limit: 5000)
            for id in page {
                while next < kept.endIndex, kept[next].utf8.lexicographicallyPrecedes(id.utf8) { next += 1 }
                if next < kept.endIndex, kept[next] == id {
                    ids.append(id)
                    next += 1
                }
            }
            guard page.count == 5000, let last = page.last else { break }
            after = last
        }
        var users: [StoredUser] = []
        for id in ids.prefix(limit) {
            if let user = try await store.user(connector: run.connector, id: id) { users.append(user) }
        }
        return .users(users, total: ids.count)
    }
}
