public import ConnectorDomain
public import Foundation
import Synchronization

/// The Okta calls the engine makes — the event applier, the reconciler and the System Log poller —
/// and what they read of the calls' bookkeeping, so that the engine depends on this and not on the
/// HTTP client.
///
/// ``OktaAPIClient`` is the real directory; a test can give the engine an in-memory one that
/// answers from a script, without sockets. Listings return the concrete ``OktaPageSequence``
/// (either kind of directory can make one), so the reconcile's loop over pages and users pays no
/// existential dispatch per page or per user.
///
/// Errors are ``OktaError``s with the client's meaning: ``OktaError/notFound(endpoint:)`` only for
/// Okta's `404 E0000007` (a deleted user), ``OktaError/credentialsRejected(reason:nextProbeAt:)``
/// while ``pause`` holds calls back, and so on.
public protocol OktaDirectory: Sendable {
    /// Every user with one of the statuses, page by page, each page located but not decoded.
    /// - Parameters:
    ///   - statuses: The statuses to list (the connector's `User status` selection).
    ///   - limit: Users a page (Okta's maximum is 200).
    func listUserPages(statuses: [OktaUserStatus], limit: Int) -> OktaUserPages

    /// One user.
    /// - Throws: ``OktaError/notFound(endpoint:)`` when Okta has no such user (deleted).
    func user(id: String) async throws -> OktaUser

    /// The apps assigned to a user.
    func appLinks(userId: String) async throws -> [OktaAppLink]

    /// The devices linked to a user.
    func userDevices(userId: String) async throws -> [OktaUserDevice]

    /// The groups a user is a member of, `Everyone` included.
    func userGroups(userId: String) async throws -> [OktaGroup]

    /// Every group, page by page (the bulk enrichment plan, scope by group).
    func listGroups() -> OktaPages<OktaGroup>

    /// The ids of a group's members, page by page.
    func groupMemberIds(groupId: String) -> OktaIdPages

    /// Optional scopes Okta did not grant the OAuth app (SPEC §19): the features that need them are
    /// off until a daily retry finds them granted. Empty for an API token.
    func missingScopes() async -> Set<String>

    /// Whether the org runs Classic Engine, where the Devices API does not exist (SPEC §19).
    func isClassicEngine() async -> Bool

    /// Every app instance, page by page (the bulk enrichment plan).
    func listApps() -> OktaPages<OktaApplication>

    /// The ids of every user assigned to an app, page by page (the bulk enrichment plan).
    func appUserIds(appId: String) -> OktaIdPages

    /// Every device with its users, page by page (the bulk enrichment plan).
    func listDevices() -> OktaPages<OktaDeviceWithUsers>

    /// The first request of a System Log polling stream.
    /// - Parameters:
    ///   - since: Where the stream starts.
    ///   - eventTypes: The event types wanted; empty for every type.
    ///   - limit: Events per page, 1 to 1000.
    func systemLogPollingURL(since: Timestamp, eventTypes: [String], limit: Int) -> String

    /// One page of the System Log, from a polling URL or a page's `next` link.
    func systemLogPage(url: String) async throws -> SystemLogPage

    /// The calls made so far, by endpoint and answer (a run records the difference it made).
    var callCounts: OktaCallStats.Counts { get }

    /// The rate limiter the calls share: its waits and windows feed a run's progress and ETA.
    var limiter: OktaRateLimiter { get }

    /// Holds calls back while Okta rejects the credentials; the applier holds events meanwhile.
    var pause: OktaCredentialPause { get }

    /// When Okta last accepted a call of this directory's credentials, in this process.
    var lastAcceptedCall: Date? { get }

    /// Okta's clock minus this host's, in seconds, from the `Date` header of its answers (SPEC §20);
    /// `nil` before the first answer.
    var clockOffset: Double? { get }

    /// One cheap authenticated call (`GET /api/v1/users?limit=1`): keeps an API token from expiring
    /// after 30 days without use (SPEC §19).
    func probeCredentials() async throws
}

extension OktaAPIClient: OktaDirectory {
    /// The counts of ``stats``.
    public var callCounts: OktaCallStats.Counts { stats.counts }

    public var lastAcceptedCall: Date? { accepted.withLock { $0 } }

    public var clockOffset: Double? { oktaClock.seconds }

    public func missingScopes() async -> Set<String> {
        // The token request is where Okta says which scopes it grants: make sure one was made. Not
        // while calls are paused for refused credentials (the pause's probe asks then, not every
        // event), and a failure here is left to the call that follows, which reports it.
        if pause.current == nil {
            _ = try? await credentials.headers(method: "GET", url: orgURL.absoluteString)
        }
        return await credentials.missingScopes
    }

    public func probeCredentials() async throws {
        let pages: OktaPages<OktaUser> = self.pages(
            path: "/api/v1/users", query: [("limit", "1")], bucket: .usersList, endpoint: "GET /api/v1/users")
        var iterator = pages.makeAsyncIterator()
        _ = try await iterator.next()
    }
}
