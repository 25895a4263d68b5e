public import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
public import Logging
import NIOCore
public import NIOHTTP1
import Synchronization

/// The Okta Management API client of one connector: authentication, rate limits, retries and
/// `Link` pagination (SPEC §6, §16). One `HTTPClient` serves every connector of the process.
public final class OktaAPIClient: Sendable {
    public let orgURL: URL
    public let credentials: OktaCredentialsProvider
    /// When Okta last accepted a call (any `2xx`).
    let accepted = Mutex<Date?>(nil)
    /// `/.well-known/okta-organization`'s `pipeline`, and until when it stands (a day; an hour
    /// after a failed read).
    let pipeline = Mutex<(value: String, until: Date)?>(nil)
    /// Okta's clock against this host's, from every answer's `Date` (SPEC §20).
    let oktaClock = ClockOffsetEstimate()
    let httpClient: HTTPClient
    public let limiter: OktaRateLimiter
    let clock: any WallClock
    let retry: RetryPolicy
    public let stats: OktaCallStats
    /// Holds calls back while Okta rejects the credentials.
    public let pause: OktaCredentialPause
    let slots: CallSlots
    let logger: Logger
    /// The deadline of one attempt of a call, connection included.
    let callTimeout: TimeInterval

    /// The largest page the connector asks for and accepts (32 MiB); bigger answers are malformed.
    static let maximumBody = 32 << 20

    /// Creates a client.
    /// - Parameters:
    ///   - orgURL: The org, e.g. `https://acme.okta.com`.
    ///   - credentials: How to authenticate.
    ///   - httpClient: The process's HTTP client (TLS verified).
    ///   - limiter: The connector's rate limiter.
    ///   - clock: Time for waits and backoff.
    ///   - retry: Backoff for `5xx`, timeouts and connection errors.
    ///   - maximumConcurrency: Calls in flight at most.
    ///   - callTimeout: The deadline of one attempt, connection included (short for `check-config`).
    public init(
        orgURL: URL, credentials: OktaCredentialsProvider, httpClient: HTTPClient, limiter: OktaRateLimiter,
        clock: any WallClock, retry: RetryPolicy = .okta, maximumConcurrency: Int = 16,
        stats: OktaCallStats = OktaCallStats(), pause: OktaCredentialPause = OktaCredentialPause(),
        logger: Logger = Logger(label: "okta-client"), callTimeout: TimeInterval = 60
    ) {
        self.callTimeout = callTimeout
        var base = orgURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.orgURL = URL(string: base) ?? orgURL
        self.credentials = credentials
        self.httpClient = httpClient
        self.limiter = limiter
        self.clock = clock
        self.retry = retry
        self.stats = stats
        self.pause = pause
        self.slots = CallSlots(limit: maximumConcurrency)
        self.logger = logger
        // Each wait is logged as it starts (`--verbose` shows it at once; `serve` logs it at info).
        limiter.observeWaits { [logger] wait in
            logger.info("\(wait)", metadata: ["endpoint_bucket": "\(wait.bucket.rawValue)"])
        }
    }

    // MARK: - Users

    /// The `filter` expression selecting users by status: `status eq "A" or status eq "B"`. `filter`
    /// reads the primary store (unlike `search`) and is the only way to list `DEPROVISIONED` users.
    public static func statusFilter(_ statuses: [OktaUserStatus]) -> String {
        statuses.map { "status eq \"\($0.rawValue)\"" }.joined(separator: " or ")
    }

    /// Every user with one of the statuses, page by page (200 a page, Okta's maximum).
    public func listUsers(statuses: [OktaUserStatus], limit: Int = 200) -> OktaPages<OktaUser> {
        pages(
            path: "/api/v1/users", query: [("limit", String(limit)), ("filter", Self.statusFilter(statuses))],
            bucket: .usersList, endpoint: "GET /api/v1/users")
    }

    /// The same listing as ``listUsers(statuses:limit:)``, each page located but not decoded.
    public func listUserPages(statuses: [OktaUserStatus], limit: Int = 200) -> OktaUserPages {
        let pages: OktaPages<OktaUser> = listUsers(statuses: statuses, limit: limit)
        return pages.reading { body in try OktaUserPage(parsing: [UInt8](body)) }
    }

    /// One user; `OktaError.notFound` when Okta answers `404 E0000007` (deleted user).
    public func user(id: String) async throws -> OktaUser {
        try decode(
            OktaUser.self,
            try await send(
                .GET, path: "/api/v1/users/\(escape(id))", bucket: .userGet, endpoint: "GET /api/v1/users/{id}"),
            "GET /api/v1/users/{id}")
    }

    /// The apps assigned to a user.
    public func appLinks(userId: String) async throws -> [OktaAppLink] {
        try decode(
            [OktaAppLink].self,
            try await send(
                .GET, path: "/api/v1/users/\(escape(userId))/appLinks", bucket: .userLinks,
                endpoint: "GET /api/v1/users/{id}/appLinks"),
            "GET /api/v1/users/{id}/appLinks")
    }

    /// The devices linked to a user (Identity Engine).
    public func userDevices(userId: String) async throws -> [OktaUserDevice] {
        try decode(
            [OktaUserDevice].self,
            try await send(
                .GET, path: "/api/v1/users/\(escape(userId))/devices", bucket: .userLinks,
                endpoint: "GET /api/v1/users/{id}/devices"),
            "GET /api/v1/users/{id}/devices")
    }

    /// The groups a user is a member of, `Everyone` included (not paged).
    public func userGroups(userId: String) async throws -> [OktaGroup] {
        try decode(
            [OktaGroup].self,
            try await send(
                .GET, path: "/api/v1/users/\(escape(userId))/groups", bucket: .userLinks,
                endpoint: "GET /api/v1/users/{id}/groups"),
            "GET /api/v1/users/{id}/groups")
    }

    /// Whether the org runs Classic Engine (`pipeline: v1` at `/.well-known/okta-organization`,
    /// read without authentication at most once a day): the Devices API exists on Identity Engine
    /// only (SPEC §19). When the endpoint cannot be read, the org is taken for Identity Engine (as
    /// before the probe existed) and the endpoint is asked again an hour later, not on every event.
    public func isClassicEngine() async -> Bool {
        if let known = pipeline.withLock({ $0 }), clock.now < known.until { return known.value == "v1" }
        let value = await organizationPipeline()
        let now = clock.now
        pipeline.withLock { $0 = (value ?? "idx", now.addingTimeInterval(value == nil ? 3600 : 86_400)) }
        return value == "v1"
    }

    /// `pipeline` of `/.well-known/okta-organization`, or `nil` when it cannot be read (logged).
    func organizationPipeline() async -> String? {
        struct Organization: Decodable { let pipeline: String? }
        var request = HTTPClientRequest(url: orgURL.absoluteString + "/.well-known/okta-organization")
        request.headers.add(name: "Accept", value: "application/json")
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(Int64(min(callTimeout, 30))))
            let body = try await response.body.collect(upTo: 1 << 16)
            guard response.status == .ok,
                let value = try JSONCoding.decoder().decode(Organization.self, from: Data(body.readableBytesView))
                    .pipeline
            else {
                logger.notice(
                    "no pipeline at /.well-known/okta-organization: taken for Identity Engine",
                    metadata: ["status": "\(response.status.code)"])
                return nil
            }
            return value
        } catch {
            logger.notice(
                "/.well-known/okta-organization could not be read: taken for Identity Engine",
                metadata: ["error": "\(error)"])
            return nil
        }
    }

    // MARK: - Bulk enrichment

    /// Every group, 1,000 a page (Okta's default is 10,000, which can time out in large orgs).
    public func listGroups() -> OktaPages<OktaGroup> {
        pages(path: "/api/v1/groups", query: [("limit", "1000")], bucket: .groupsList, endpoint: "GET /api/v1/groups")
    }

    /// The ids of a group's members, 1,000 a page asked (Okta may answer fewer and still link a
    /// next page), read without decoding the users.
    public func groupMemberIds(groupId: String) -> OktaIdPages {
        let pages: OktaPages<OktaUserId> = self.pages(
            path: "/api/v1/groups/\(escape(groupId))/users", query: [("limit", "1000")], bucket: .group,
            endpoint: "GET /api/v1/groups/{id}/users")
        return pages.reading { body in
            try OktaPageIds.read([UInt8](body)) ?? JSONCoding.decoder().decode([OktaUserId].self, from: body).map(\.id)
        }
    }

    /// Every app instance.
    public func listApps() -> OktaPages<OktaApplication> {
        pages(path: "/api/v1/apps", query: [("limit", "200")], bucket: .apps, endpoint: "GET /api/v1/apps")
    }

    /// Every user assigned to an app, directly or through a group (500 a page, the maximum).
    public func appUsers(appId: String) -> OktaPages<OktaAppUser> {
        pages(
            path: "/api/v1/apps/\(escape(appId))/users", query: [("limit", "500")], bucket: .apps,
            endpoint: "GET /api/v1/apps/{id}/users")
    }

    /// The ids of every user assigned to an app (500 a page), read without decoding the app users
    /// (a bulk reconcile needs nothing else of them); a page the raw reader cannot take whole is
    /// decoded as ``OktaAppUser``s, with the same errors.
    public func appUserIds(appId: String) -> OktaIdPages {
        let pages: OktaPages<OktaAppUser> = appUsers(appId: appId)
        return pages.reading { body in
            try OktaPageIds.read([UInt8](body)) ?? JSONCoding.decoder().decode([OktaAppUser].self, from: body).map(\.id)
        }
    }

    /// Every device with its users.
    public func listDevices() -> OktaPages<OktaDeviceWithUsers> {
        pages(
            path: "/api/v1/devices", query: [("limit", "200"), ("expand", "user")], bucket: .devices,
            endpoint: "GET /api/v1/devices")
    }

    // MARK: - Event hooks

    /// The org's event hooks.
    public func eventHooks() async throws -> [OktaEventHook] {
        try decode(
            [OktaEventHook].self,
            try await send(.GET, path: "/api/v1/eventHooks", bucket: .eventHooks, endpoint: "GET /api/v1/eventHooks"),
            "GET /api/v1/eventHooks")
    }

    /// One event hook; `OktaError.notFound` when Okta answers `404 E0000007`.
    public func eventHook(id: String) async throws -> OktaEventHook {
        try decode(
            OktaEventHook.self,
            try await send(
                .GET, path: "/api/v1/eventHooks/\(escape(id))", bucket: .eventHooks,
                endpoint: "GET /api/v1/eventHooks/{id}"),
            "GET /api/v1/eventHooks/{id}")
    }

    /// Deletes an event hook. Okta deletes only `INACTIVE` hooks (Event Hooks API, "Delete an event hook").
    public func deleteEventHook(id: String) async throws {
        _ = try await send(
            .DELETE, path: "/api/v1/eventHooks/\(escape(id))", bucket: .eventHooks,
            endpoint: "DELETE /api/v1/eventHooks/{id}")
    }

    /// Creates an event hook.
    public func createEventHook(_ hook: OktaEventHook) async throws -> OktaEventHook {
        let body = try JSONEncoder().encode(hook)
        return try decode(
            OktaEventHook.self,
            try await send(
                .POST, path: "/api/v1/eventHooks", bucket: .eventHooks, endpoint: "POST /api/v1/eventHooks", body: body),
            "POST /api/v1/eventHooks")
    }

    /// Replaces an event hook.
    public func replaceEventHook(id: String, with hook: OktaEventHook) async throws -> OktaEventHook {
        let body = try JSONEncoder().encode(hook)
        return try decode(
            OktaEventHook.self,
            try await send(
                .PUT, path: "/api/v1/eventHooks/\(escape(id))", bucket: .eventHooks,
                endpoint: "PUT /api/v1/eventHooks/{id}",
                body: body),
            "PUT /api/v1/eventHooks/{id}")
    }

    /// Runs a lifecycle operation (`activate`, `deactivate`, `verify`) on an event hook.
    public func eventHookLifecycle(id: String, operation: String) async throws -> OktaEventHook {
        try decode(
            OktaEventHook.self,
            try await send(
                .POST, path: "/api/v1/eventHooks/\(escape(id))/lifecycle/\(operation)", bucket: .eventHooks,
                endpoint: "POST /api/v1/eventHooks/{id}/lifecycle/\(operation)"),
            "POST /api/v1/eventHooks/{id}/lifecycle/\(operation)")
    }

    // MARK: - Pagination

    /// Pages of a listing, fetched one at a time as they are consumed (constant memory), following
    /// `Link: rel="next"` until there is none.
    public func pages<Item: Decodable & Sendable>(
        path: String, query: [(String, String)], bucket: OktaBucket, endpoint: String
    ) -> OktaPages<Item> {
        var components = URLComponents(url: orgURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = query.map { "\($0.0)=\(URLFormEncoding.encode($0.1))" }.joined(separator: "&")
        return OktaPages(
            client: self, first: components.url!.absoluteString, bucket: bucket, endpoint: endpoint,
            read: { body in try JSONCoding.decoder().decode([Item].self, from: body) })
    }

    func escape(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: OktaResponse, _ endpoint: String) throws -> T {
        do {
            return try JSONCoding.decoder().decode(type, from: response.body)
        } catch {
            throw OktaError.malformedResponse(endpoint: endpoint, reason: "\(error)")
        }
    }

    // MARK: - Sending

    /// One call with everything around it: rate-limit share, concurrency bound, authentication,
    /// `429` waits from the headers, retries with backoff for `5xx`/timeouts/connection errors,
    /// `X-Okta-Retry-For` / `X-Okta-Retry-Count` on retries.
    func send(
        _ method: HTTPMethod, path: String, bucket: OktaBucket, endpoint: String, body: Data? = nil
    ) async throws -> OktaResponse {
        try await send(method, url: orgURL.absoluteString + path, bucket: bucket, body: body, endpoint: endpoint)
    }

    func send(
        _ method: HTTPMethod, url: String, bucket: OktaBucket, body: Data?, endpoint: String
    ) async throws -> OktaResponse {
        try pause.admit(now: clock.now)
        do {
            let response = try await attempt(method, url: url, bucket: bucket, body: body, endpoint: endpoint)
            if let ended = pause.release() {
                logger.notice(
                    "Okta accepts the credentials again: calls resume",
                    metadata: ["paused_since": "\(Timestamp(ended.since).iso8601)", "held_calls": "\(ended.heldCalls)"])
            }
            return response
        } catch let error as OktaError {
            switch error {
            case .invalidCredentials, .missingPermission, .tokenRequestFailed(400..<500, _, _):
                if pause.engage(reason: error.description, now: clock.now) {
                    logger.error(
                        "Okta rejects the credentials: Okta calls are paused, one probe a minute, until it accepts them again or the configuration is reloaded",
                        metadata: ["error": "\(error)"])
                }
            default: break
            }
            throw error
        }
    }

    func attempt(
        _ method: HTTPMethod, url: String, bucket: OktaBucket, body: Data?, endpoint: String
    ) async throws -> OktaResponse {
        var failedAttempts = 0
        var rateLimitWaits = 0
        var retryFor: String?
        var retryCount = 0
        var reauthenticated = false
        var nonceRetried = false
        while true {
            try Task.checkCancellation()
            try await limiter.acquire(bucket)
            await slots.acquire()
            let outcome: Result<OktaResponse, any Error>
            do {
                var request = HTTPClientRequest(url: url)
                request.method = method
                for header in try await credentials.headers(method: method.rawValue, url: url) {
                    request.headers.add(name: header.name, value: header.value)
                }
                request.headers.add(name: "Accept", value: "application/json")
                // Ask Okta to leave credentials out of user objects (Okta "Users API").
                request.headers.add(
                    name: "Content-Type", value: "application/json; okta-response=omitCredentials,omitCredentialsLinks")
                request.headers.add(name: "User-Agent", value: "okta-connector/0.1")
                if let retryFor {
                    request.headers.add(name: "X-Okta-Retry-For", value: retryFor)
                    request.headers.add(name: "X-Okta-Retry-Count", value: String(retryCount))
                }
                if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
                let sentAt = clock.now
                let response = try await httpClient.execute(request, timeout: .milliseconds(Int64(callTimeout * 1000)))
                if let date = response.headers.first(name: "Date").flatMap(HTTPDate.parse) {
                    oktaClock.record(serverDate: date, sentAt: sentAt, receivedAt: clock.now)
                }
                let collected = try await response.body.collect(upTo: Self.maximumBody)
                outcome = .success(
                    OktaResponse(
                        status: Int(response.status.code), headers: response.headers,
                        body: Data(collected.readableBytesView)))
            } catch let error as OktaError {
                outcome = .failure(error)
            } catch is CancellationError {
                await slots.release()
                throw CancellationError()
            } catch {
                outcome = .failure(error)
            }
            await slots.release()

            let response: OktaResponse
            switch outcome {
            case .success(let answer): response = answer
            case .failure(let error as OktaError): throw error
            case .failure(let error):
                failedAttempts += 1
                stats.record(endpoint, status: 0)
                guard failedAttempts < retry.maximumAttempts else {
                    let plain = URL(string: url).flatMap {
                        TransportFailure.describe(error, url: $0, timeout: callTimeout)
                    }
                    throw OktaError.transport(endpoint: endpoint, reason: plain ?? "\(error)")
                }
                try await backoff(after: failedAttempts, endpoint: endpoint, reason: "\(error)")
                retryCount += 1
                continue
            }
            stats.record(endpoint, status: response.status)
            logger.debug(
                "Okta call",
                metadata: [
                    "method": "\(method.rawValue)", "endpoint": "\(endpoint)", "status": "\(response.status)",
                    "remaining": "\(response.header("X-Rate-Limit-Remaining") ?? "-")",
                ])
            let resetIn = rateLimitHeaders(of: response, endpoint: endpoint)
            await limiter.record(
                bucket, limit: HeaderValues.rateLimitCount(response.header("X-Rate-Limit-Limit"))?.value,
                remaining: HeaderValues.rateLimitCount(response.header("X-Rate-Limit-Remaining"))?.value,
                resetIn: resetIn)

            switch response.status {
            case 200..<300:
                let now = clock.now
                accepted.withLock { $0 = now }
                return response
            case 429:
                rateLimitWaits += 1
                guard rateLimitWaits <= retry.maximumRateLimitWaits else {
                    throw OktaError.rateLimited(endpoint: endpoint, attempts: rateLimitWaits)
                }
                retryFor = response.header("X-Okta-Request-Id") ?? retryFor
                retryCount += 1
                stats.recordRetry()
                logger.debug("rate limited; waiting for the reset", metadata: ["endpoint": "\(endpoint)"])
                try await limiter.waitAfterTooManyRequests(bucket, resetIn: resetIn)
            case 401:
                let challenge = response.header("WWW-Authenticate") ?? ""
                if challenge.contains("use_dpop_nonce"), !nonceRetried, let nonce = response.header("DPoP-Nonce"),
                    await credentials.acceptAPINonce(nonce)
                {
                    // Okta asks for a nonce in the API calls' proofs: repeat once with it.
                    nonceRetried = true
                    continue
                }
                if challenge.hasPrefix("DPoP"),
                    let description = Self.challengeParameter("error_description", challenge)
                {
                    throw OktaError.invalidCredentials(summary: "DPoP: \(description)")
                }
                if case .serviceApp = credentials.method, !reauthenticated {
                    reauthenticated = true
                    await credentials.invalidate()
                    continue
                }
                throw OktaError.invalidCredentials(
                    summary: response.errorBody?.errorSummary ?? "Invalid token provided")
            case 403:
                throw OktaError.missingPermission(
                    endpoint: endpoint, summary: response.errorBody?.errorSummary ?? "forbidden",
                    requiredScope: response.header("WWW-Authenticate").flatMap(Self.requiredScope))
            case 404:
                // Only Okta's own "resource not found" means the resource is gone; a 404 from a wrong
                // base path or a proxy's page must never look like a deleted user (SPEC §5).
                let body = response.errorBody
                guard body?.errorCode == "E0000007" else {
                    throw OktaError.apiError(endpoint: endpoint, status: 404, body: body)
                }
                throw OktaError.notFound(endpoint: endpoint)
            case 408, 500..<600:
                failedAttempts += 1
                guard failedAttempts < retry.maximumAttempts else {
                    throw OktaError.apiError(endpoint: endpoint, status: response.status, body: response.errorBody)
                }
                retryFor = response.header("X-Okta-Request-Id") ?? retryFor
                retryCount += 1
                try await backoff(after: failedAttempts, endpoint: endpoint, reason: "HTTP \(response.status)")
            default:
                throw OktaError.apiError(endpoint: endpoint, status: response.status, body: response.errorBody)
            }
        }
    }

    /// Seconds until the bucket's reset, from `X-Rate-Limit-Reset` against `Date`, clamped; a log
    /// line when a header was out of bounds.
    private func rateLimitHeaders(of response: OktaResponse, endpoint: String) -> TimeInterval? {
        let date = response.header("Date").flatMap(HTTPDate.parse)
        let reset = response.header("X-Rate-Limit-Reset")
        guard let resetIn = HeaderValues.rateLimitResetWait(reset, now: clock.now, responseDate: date) else {
            return nil
        }
        if resetIn.wasClamped {
            logger.warning(
                "Okta's rate-limit reset is out of bounds; clamped",
                metadata: [
                    "endpoint": "\(endpoint)", "x_rate_limit_reset": "\(reset?.prefix(40) ?? "")",
                    "date": "\(response.header("Date")?.prefix(40) ?? "")", "wait_s": "\(resetIn.value)",
                ])
        }
        return resetIn.value
    }

    private func backoff(after attempt: Int, endpoint: String, reason: String) async throws {
        stats.recordRetry()
        let delay = retry.delay(afterAttempt: attempt, random: Double.random(in: 0..<1))
        logger.debug(
            "retrying Okta call", metadata: ["endpoint": "\(endpoint)", "reason": "\(reason)", "delay": "\(delay)"])
        try await clock.sleep(until: clock.now.addingTimeInterval(delay))
    }

    /// A quoted parameter of a `WWW-Authenticate` challenge (`error_description="..."`).
    static func challengeParameter(_ name: String, _ header: String) -> String? {
        guard let range = header.range(of: "\(name)=\"") else { return nil }
        let rest = header[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// The `scope="..."` of a `WWW-Authenticate: Bearer ... error="insufficient_scope"` header.
    static func requiredScope(_ header: String) -> String? {
        guard let range = header.range(of: "scope=\"") else { return nil }
        let rest = header[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

/// One Okta answer.
public struct OktaResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: Data

    func header(_ name: String) -> String? { headers.first(name: name) }

    var errorBody: OktaErrorBody? { try? JSONCoding.decoder().decode(OktaErrorBody.self, from: body) }

    /// The values of every `Link` header line.
    var links: [String] { headers[canonicalForm: "link"].map(String.init) }
}

/// The pages of a listing, fetched lazily (`for try await page in pages`).
///
/// From Okta, each page is read from its body by `read` (a malformed body ends the listing with
/// ``OktaError/malformedResponse(endpoint:reason:)``), following `Link: rel="next"` (``PageCursor``).
/// Another ``OktaDirectory`` (an in-memory one in tests) supplies its pages through
/// ``init(supplying:)``. Either way the type is concrete, so a loop over the pages pays no
/// existential dispatch per page, let alone per item.
public struct OktaPageSequence<Element: Sendable>: AsyncSequence, Sendable {
    enum Source: Sendable {
        case okta(client: OktaAPIClient, first: String, bucket: OktaBucket, endpoint: String)
        case supplied(@Sendable (_ index: Int) async throws -> Element?)
    }

    let source: Source
    /// How an Okta page's body becomes an element (unused for supplied pages).
    let read: @Sendable (Data) throws -> Element

    init(
        client: OktaAPIClient, first: String, bucket: OktaBucket, endpoint: String,
        read: @escaping @Sendable (Data) throws -> Element
    ) {
        source = .okta(client: client, first: first, bucket: bucket, endpoint: endpoint)
        self.read = read
    }

    /// A listing whose pages come from elsewhere than Okta's HTTP API: page `index` (from 0) is
    /// asked for when the consumer reaches it, until `page` answers `nil`; an error it throws
    /// ends the listing as an Okta error would.
    /// - Parameter page: The page at an index, or `nil` past the last page.
    public init(supplying page: @escaping @Sendable (_ index: Int) async throws -> Element?) {
        source = .supplied(page)
        read = { _ in throw OktaError.malformedResponse(endpoint: "supplied pages", reason: "no body to read") }
    }

    /// The same listing, its pages read another way (Okta listings only: a supplied listing has
    /// no bodies to read again).
    func reading<Other: Sendable>(_ read: @escaping @Sendable (Data) throws -> Other) -> OktaPageSequence<Other> {
        switch source {
        case .okta(let client, let first, let bucket, let endpoint):
            return OktaPageSequence<Other>(client: client, first: first, bucket: bucket, endpoint: endpoint, read: read)
        case .supplied:
            preconditionFailure("reading(_:) is only for listings from Okta's HTTP API")
        }
    }

    public func makeAsyncIterator() -> Iterator {
        switch source {
        case .okta(let client, let first, let bucket, let endpoint):
            return Iterator(
                state: .okta(PageCursor(client: client, next: first, bucket: bucket, endpoint: endpoint)), read: read)
        case .supplied(let page):
            return Iterator(state: .supplied(page, index: 0), read: read)
        }
    }

    public struct Iterator: AsyncIteratorProtocol {
        enum State {
            case okta(PageCursor)
            case supplied(@Sendable (Int) async throws -> Element?, index: Int)
            case finished
        }

        var state: State
        let read: @Sendable (Data) throws -> Element

        public mutating func next() async throws -> Element? {
            switch state {
            case .okta(var cursor):
                // Taken out of the state so it mutates in place (no copy of its `seen` set), and put
                // back however this call ends, as a stored property would be.
                state = .finished
                defer { state = .okta(cursor) }
                guard let response = try await cursor.fetch() else { return nil }
                let element: Element
                do {
                    element = try read(response.body)
                } catch {
                    throw OktaError.malformedResponse(endpoint: cursor.endpoint, reason: "\(error)")
                }
                try cursor.advance(after: response)
                return element
            case .supplied(let page, let index):
                guard let element = try await page(index) else {
                    state = .finished
                    return nil
                }
                state = .supplied(page, index: index + 1)
                return element
            case .finished:
                return nil
            }
        }
    }
}

/// Pages of decoded items.
public typealias OktaPages<Item: Decodable & Sendable> = OktaPageSequence<[Item]>

/// Pages of a listing of which only the objects' ids are read (an app's users).
public typealias OktaIdPages = OktaPageSequence<[String]>

/// Pages of `GET /api/v1/users` with each user located but not decoded (``OktaUserPage``), for the
/// reconcile's fast path.
public typealias OktaUserPages = OktaPageSequence<OktaUserPage>

/// Where a listing is: the next page's URL, following `Link: rel="next"` until there is none, never
/// to the same URL twice and never away from the org.
struct PageCursor: Sendable {
    let client: OktaAPIClient
    var next: String?
    let bucket: OktaBucket
    let endpoint: String
    var seen: Set<String> = []

    /// The current page's answer, or `nil` after the last page.
    func fetch() async throws -> OktaResponse? {
        guard let url = next else { return nil }
        return try await client.send(.GET, url: url, bucket: bucket, body: nil, endpoint: endpoint)
    }

    /// Moves to the page the answer links to as `next`, if any.
    mutating func advance(after response: OktaResponse) throws {
        if let url = next { seen.insert(url) }
        if let following = LinkHeader.url(rel: "next", in: response.links) {
            guard !seen.contains(following) else { throw OktaError.repeatedCursor(endpoint: endpoint) }
            // Only follow links to the org itself: a link elsewhere would receive the credentials.
            guard let target = URL(string: following), target.host == client.orgURL.host,
                target.scheme == client.orgURL.scheme, target.port == client.orgURL.port
            else {
                throw OktaError.foreignLink(endpoint: endpoint, host: URL(string: following)?.host ?? following)
            }
            next = following
        } else {
            next = nil
        }
    }
}
