public import ConnectorConfiguration

/// Chooses how a reconcile gathers assigned apps, devices and groups: the plan with the fewest Okta
/// calls (SPEC §6, §19).
///
/// Cost model, in calls, for `U` users, `A` apps, `S` app assignments, `D` devices, `G` groups and
/// `M` memberships (of groups other than `Everyone`):
/// - per user: `U` calls to `/users/{id}/appLinks`, `U` to `/users/{id}/devices` and `U` to
///   `/users/{id}/groups`;
/// - bulk: `⌈A/200⌉` to `/apps`, `Σ max(1, ⌈users of app/500⌉)` ≈ `A + S/500` to `/apps/{id}/users`,
///   `⌈D/200⌉` to `/devices?expand=user`, `⌈G/1000⌉` to `/groups` and `Σ max(1, ⌈members/1000⌉)`
///   ≈ `G + M/1000` to `/groups/{id}/users` (Okta may answer fewer than the 1,000 asked: more pages,
///   never fewer). `Everyone` (`BUILT_IN`) is not mapped and never listed.
/// Bulk wins for every org beyond a few dozen users; per-user wins only for tiny orgs, where it also
/// needs no staging. Without a previous run the org's size is unknown and bulk is chosen (its cost
/// is bounded by the app count, per-user's by the user count).
public enum EnrichmentPlanner {
    /// A plan and the calls it is expected to cost.
    public struct Choice: Sendable, Hashable, CustomStringConvertible {
        public var plan: EnrichSettings.Plan
        public var estimatedCalls: Int
        public var alternativeCalls: Int

        public var description: String {
            "\(plan == .bulk ? "bulk" : "per-user") (≈\(estimatedCalls) calls, against ≈\(alternativeCalls) for the other plan)"
        }
    }

    /// Calls of the per-user plan.
    public static func perUserCalls(users: Int, settings: EnrichSettings) -> Int {
        users * ((settings.apps ? 1 : 0) + (settings.devices ? 1 : 0) + (settings.groups ? 1 : 0))
    }

    /// Calls of the bulk plan.
    public static func bulkCalls(
        users: Int, apps: Int, assignmentsPerUser: Double, devicesPerUser: Double, settings: EnrichSettings,
        groups: Int = 50, membershipsPerUser: Double = 5
    )
        -> Int
    {
        var calls = 0
        if settings.apps {
            let assignments = Double(users) * assignmentsPerUser
            calls += max(1, (apps + 199) / 200) + apps + Int((assignments / 500).rounded(.up))
        }
        if settings.devices { calls += max(1, Int((Double(users) * devicesPerUser / 200).rounded(.up))) }
        if settings.groups {
            let memberships = Double(users) * membershipsPerUser
            calls += max(1, (groups + 999) / 1000) + groups + Int((memberships / 1000).rounded(.up))
        }
        return calls
    }

    /// The plan for a run.
    /// - Parameters:
    ///   - settings: The connector's enrichment settings.
    ///   - expectedUsers: Users listed by the previous run, if any.
    ///   - expectedApps: Apps in the org, if known.
    public static func choose(settings: EnrichSettings, expectedUsers: Int?, expectedApps: Int? = nil) -> Choice? {
        guard settings.apps || settings.devices || settings.groups else { return nil }
        // The previous run's count comes from a stored row: kept to a sane range so that the
        // arithmetic below cannot overflow (no Okta org has a billion users).
        let users = min(1_000_000_000, max(0, expectedUsers ?? 0))
        let perUser = perUserCalls(users: users, settings: settings)
        let bulk = bulkCalls(
            users: users, apps: min(1_000_000, max(0, expectedApps ?? 50)), assignmentsPerUser: 5, devicesPerUser: 1,
            settings: settings)
        switch settings.plan {
        case .perUser: return Choice(plan: .perUser, estimatedCalls: perUser, alternativeCalls: bulk)
        case .bulk: return Choice(plan: .bulk, estimatedCalls: bulk, alternativeCalls: perUser)
        case .auto:
            if expectedUsers != nil, perUser < bulk {
                return Choice(plan: .perUser, estimatedCalls: perUser, alternativeCalls: bulk)
            }
            return Choice(plan: .bulk, estimatedCalls: bulk, alternativeCalls: perUser)
        }
    }
}
