/// What an event means for the connector's copy of a user: the effect table of SPEC §5.
public struct EventEffect: Sendable, Hashable {
    /// Move `lastLogin` forward to this instant, with no Okta call.
    public var lastLoginAt: Timestamp?
    /// Move `passwordChanged` forward to this instant.
    public var passwordChangedAt: Timestamp?
    /// What to read again from Okta.
    public var refresh: Set<Refresh>
    /// The event says the user was deleted. A delivery needs only the shared secret, so this is a
    /// claim, never acted on alone: the user is read again and removed when Okta says so (`404
    /// E0000007`, or a status outside the selection) (SPEC §20).
    public var remove: Bool

    /// The parts of a user a refresh reads from Okta.
    public enum Refresh: String, Sendable, Hashable, CaseIterable {
        /// `GET /api/v1/users/{id}`.
        case user
        /// The user's assigned apps.
        case apps
        /// The user's devices.
        case devices
        /// The groups the user is a member of.
        case groups
    }

    /// Creates an effect.
    public init(
        lastLoginAt: Timestamp? = nil, passwordChangedAt: Timestamp? = nil, refresh: Set<Refresh> = [],
        remove: Bool = false
    ) {
        self.lastLoginAt = lastLoginAt
        self.passwordChangedAt = passwordChangedAt
        self.refresh = refresh
        self.remove = remove
    }

    /// An effect that changes nothing.
    public static let none = EventEffect()

    /// Whether this effect changes nothing.
    public var isNone: Bool { self == .none }
}

/// How an event was understood.
public enum EventInterpretation: Sendable, Hashable {
    /// The event applies to a user with this effect.
    case apply(userId: String, effect: EventEffect)
    /// The event did not succeed (`outcome.result` not `SUCCESS`): it changes nothing.
    case notSuccessful
    /// The event names no user the connector can act on.
    case noSubjectUser
    /// The event type is not one the connector acts on: kept, counted and ignored.
    case unknownType
}

extension OktaLogEvent {
    /// Event types whose `published` moves `lastLogin` forward with no Okta call; they are the most
    /// frequent events and a refresh for each would burn the rate limit (SPEC §5).
    public static let loginEventTypes: Set<String> = [
        "user.session.start", "user.authentication.sso", "user.authentication.auth_via_mfa",
    ]

    /// Event types after which the user is read again from Okta.
    public static let userRefreshEventTypes: Set<String> = [
        "user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.reactivate",
        "user.lifecycle.deactivate", "user.lifecycle.suspend", "user.lifecycle.unsuspend",
        "user.account.lock", "user.account.unlock", "user.account.unlock_by_admin",
        "user.account.update_profile",
    ]

    /// Event types that change the password timestamp (and may change the status).
    public static let passwordEventTypes: Set<String> = [
        "user.account.update_password", "user.account.reset_password",
    ]

    /// Event types that change the user's assigned apps.
    public static let appEventTypes: Set<String> = [
        "application.user_membership.add", "application.user_membership.remove",
        "application.user_membership.update",
    ]

    /// Event types that change the groups a user is a member of, and with them the apps assigned
    /// through a group.
    public static let groupEventTypes: Set<String> = ["group.user_membership.add", "group.user_membership.remove"]

    /// Event types that change the user's devices (`device.lifecycle.*` is matched by prefix).
    public static let deviceEventTypes: Set<String> = [
        "device.enrollment.create", "device.user.add", "device.user.remove",
    ]

    /// The event types a connector's event hook subscribes to (SPEC §5), sorted.
    public static let subscribedEventTypes: [String] = {
        let lifecycle = [
            "device.lifecycle.activate", "device.lifecycle.deactivate", "device.lifecycle.delete",
            "device.lifecycle.suspend", "device.lifecycle.unsuspend",
        ]
        return
            (loginEventTypes.union(userRefreshEventTypes).union(passwordEventTypes).union(appEventTypes)
            .union(groupEventTypes).union(deviceEventTypes).union(lifecycle).union(["user.lifecycle.delete.initiated"]))
            .sorted()
    }()

    /// The event types a hook of a profile subscribes to (SPEC §20), sorted.
    public static func subscribedEventTypes(_ profile: HookEventTypes) -> [String] {
        switch profile {
        case .all: return subscribedEventTypes
        case .changes: return subscribedEventTypes.filter { !loginEventTypes.contains($0) }
        }
    }

    /// Event types the System Log records but event hooks cannot deliver (SPEC §16: not eligible):
    /// System Log polling reads them, so the changes they stand for do not wait for the reconcile.
    public static let systemLogOnlyEventTypes: Set<String> = [
        "user.account.expire_password", "user.account.update_primary_email", "user.lifecycle.delete.completed",
    ]

    /// The event types System Log polling asks for (SPEC §17): the subscribed ones and those only
    /// the System Log has, sorted.
    public static let polledEventTypes: [String] = subscribedEventTypes + systemLogOnlyEventTypes.sorted()

    /// The event type as a metrics label: one of ``polledEventTypes``, or `other` — labels come
    /// from a bounded set whatever a delivery carries.
    public static func metricLabel(forType type: String) -> String {
        polledEventTypeSet.contains(type) ? type : "other"
    }

    static let subscribedEventTypeSet = Set(subscribedEventTypes)
    static let polledEventTypeSet = Set(polledEventTypes)

    /// What this event means for its subject user.
    public var interpretation: EventInterpretation {
        guard outcomeResult == nil || outcomeResult == "SUCCESS" else { return .notSuccessful }
        var effect = EventEffect()
        if Self.loginEventTypes.contains(eventType) {
            effect.lastLoginAt = published
        } else if Self.passwordEventTypes.contains(eventType) {
            effect.passwordChangedAt = published
            effect.refresh = [.user]
        } else if Self.userRefreshEventTypes.contains(eventType) {
            effect.refresh = [.user]
        } else if eventType == "user.account.expire_password" || eventType == "user.account.update_primary_email" {
            effect.refresh = [.user]
        } else if eventType == "user.lifecycle.delete.initiated" || eventType == "user.lifecycle.delete.completed" {
            effect.remove = true
            effect.refresh = [.user]
        } else if Self.appEventTypes.contains(eventType) {
            effect.refresh = [.apps]
        } else if Self.groupEventTypes.contains(eventType) {
            effect.refresh = [.apps, .groups]
        } else if Self.deviceEventTypes.contains(eventType) || eventType.hasPrefix("device.lifecycle.") {
            effect.refresh = [.devices]
        } else {
            return .unknownType
        }
        guard let userId = subjectUserId else { return .noSubjectUser }
        return .apply(userId: userId, effect: effect)
    }
}

/// Which events a connector's hook subscribes to (`event_hook.event_types`, SPEC §20). Okta's daily
/// cap of hook events is the whole org's, and sign-ins are most of an org's events.
public enum HookEventTypes: String, Sendable, Hashable, CaseIterable {
    /// Every type the connector acts on, sign-ins included (`User.LastLogon` in real time).
    case all
    /// Every type but the three sign-in types: `User.LastLogon` then comes from the reconcile or
    /// from System Log polling.
    case changes
}
