public import ConnectorStore

/// What a run held by the circuit breaker would have removed, for an operator deciding whether to
/// confirm (`runs show`, the console's run page). Read from the marks the run left: the present
/// users it did not list and nothing touched since it started. Only the newest listing run's marks
/// are current; a later run has marked users anew.
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
                "run \(later.id) listed the users since: its marks replace this run's, so this list is no longer known")
        }
        let ids = try await store.usersNotSeen(connector: run.connector, inRun: run.id, untouchedSince: run.startedAt)
        var users: [StoredUser] = []
        for id in ids.prefix(limit) {
            if let user = try await store.user(connector: run.connector, id: id) { users.append(user) }
        }
        return .users(users, total: ids.count)
    }
}
