import ConnectorDomain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// What every Okta API request goes through, in Okta's order: request id and `Date`, the org's
/// concurrency limit, injected faults, authentication and scopes, then the rate-limit bucket; every
/// answer carries `X-Rate-Limit-*` for its bucket.
struct OktaAPIMiddleware: RouterMiddleware {
    typealias Context = SimulatorRequestContext

    let clock: any WallClock
    let limiter: RateLimiter?
    let faults: FaultInjector
    let apiTokens: Set<String>
    let oauth: OAuthServiceApps
    let counters: RequestCounters
    /// The org's base URL, for the `htu` of DPoP proofs.
    let base: SimulatorBaseURL

    /// The bucket and the scope an API path needs.
    static func endpoint(method: HTTPRequest.Method, path: String) -> (bucket: String, scope: String?) {
        let parts = path.split(separator: "/").map(String.init)  // ["api", "v1", resource, ...]
        guard parts.count >= 3 else { return (OktaBucket.userGet, nil) }
        switch parts[2] {
        case "users":
            if parts.count == 3 { return (OktaBucket.usersList, "okta.users.read") }
            if parts.count == 4 { return (OktaBucket.userGet, "okta.users.read") }
            return (OktaBucket.userLinks, "okta.users.read")
        case "groups":
            // Okta counts the groups listing apart from a group and its members.
            return (parts.count == 3 ? OktaBucket.groupsList : OktaBucket.group, "okta.groups.read")
        case "apps": return (OktaBucket.apps, "okta.apps.read")
        case "devices": return (OktaBucket.devices, "okta.devices.read")
        case "logs": return (OktaBucket.logs, "okta.logs.read")
        case "eventHooks":
            return (OktaBucket.eventHooks, method == .get ? "okta.eventHooks.read" : "okta.eventHooks.manage")
        default: return (OktaBucket.userGet, nil)
        }
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/v1/") else { return try await next(request, context) }
        let (bucket, scope) = Self.endpoint(method: request.method, path: path)
        var response = try await answer(request, context: context, bucket: bucket, scope: scope, next: next)
        response.headers[.xOktaRequestId] = Self.requestId()
        response.headers[.date] = HTTPDate.format(clock.now)
        counters.count("\(request.method.rawValue) \(bucket)", status: response.status.code)
        return response
    }

    private func answer(
        _ request: Request, context: Context, bucket: String, scope: String?,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let limiter {
            guard limiter.enter() else {
                // The concurrency limit's 429 shows its limit and 0 remaining (Okta "Rate limits").
                var headers = HTTPFields()
                headers[.xRateLimitLimit] = String(limiter.settings.concurrency)
                headers[.xRateLimitRemaining] = "0"
                headers[.xRateLimitReset] = String(Int64(clock.now.timeIntervalSince1970) + 1)
                return tooManyRequests(headers)
            }
        }
        defer { limiter?.leave() }

        switch faults.next(path: request.uri.path) {
        case .dropConnection:
            try? await context.channel.close()
            return Response(status: .internalServerError)
        case .rateLimitStorm:
            limiter?.exhaust(bucket, now: clock.now)
            var headers = HTTPFields()
            if let decision = limiter?.take(bucket, now: clock.now) { headers = rateHeaders(decision) }
            return tooManyRequests(headers)
        case .serverError(let status):
            return JSONResponse.oktaError(
                HTTPResponse.Status(code: status), code: "E0000009", summary: "Internal Server Error")
        case .slow(let delay):
            // The delay comes from the control API: clamped, so that no value posted there can trap.
            // It passes on the simulator's clock, so a test with a manual clock decides when it ends.
            let seconds = HeaderValues.seconds(delay, maximum: 600)?.value ?? 0
            try await clock.sleep(seconds: seconds)
        case .none:
            break
        }

        var context = context
        // A revoked token (or deactivated service app) fails every call with Okta's invalid-token answer.
        if faults.tokenRevoked {
            return JSONResponse.oktaError(.unauthorized, code: "E0000011", summary: "Invalid token provided")
        }
        switch await authenticate(request) {
        case .failure(let refusal):
            var headers = HTTPFields()
            if let challenge = refusal.challenge { headers[.wwwAuthenticate] = challenge }
            return JSONResponse.oktaError(
                .unauthorized, code: "E0000011", summary: "Invalid token provided", headers: headers)
        case .success(let scopes):
            if let scope, !scopes.contains(scope),
                !(scope == "okta.eventHooks.read" && scopes.contains("okta.eventHooks.manage"))
            {
                var headers = HTTPFields()
                headers[.wwwAuthenticate] =
                    "Bearer realm=\"IDX\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", scope=\"\(scope)\""
                return JSONResponse.oktaError(
                    .forbidden, code: "E0000006", summary: "You do not have permission to perform the requested action",
                    headers: headers)
            }
            context.scopes = scopes
        }

        guard let limiter, let decision = limiter.take(bucket, now: clock.now) else {
            return try await next(request, context)
        }
        guard decision.allowed else { return tooManyRequests(rateHeaders(decision)) }
        var response = try await next(request, context)
        for field in rateHeaders(decision) { response.headers[field.name] = field.value }
        return response
    }

    /// Missing or wrong credentials; for a DPoP token, Okta's challenge says why.
    struct Refusal: Error {
        var challenge: String?
    }

    /// The scopes the request's credentials carry. Okta's Python SDK 3.4.6 sends `SSWS<token>`
    /// without the space: both are accepted. A DPoP-bound token must come as `DPoP` with a proof by
    /// its key; sent as `Bearer` it is refused.
    func authenticate(_ request: Request) async -> Result<Set<String>, Refusal> {
        guard let authorization = request.headers[.authorization] else { return .failure(Refusal()) }
        if authorization.hasPrefix("SSWS") {
            let token = authorization.dropFirst(4).trimmingCharacters(in: .whitespaces)
            return apiTokens.contains(token) ? .success(Self.allScopes) : .failure(Refusal())
        }
        if authorization.hasPrefix("Bearer "), let issued = oauth.issued(String(authorization.dropFirst(7))),
            issued.boundTo == nil
        {
            return .success(issued.scopes)
        }
        guard authorization.hasPrefix("DPoP ") else { return .failure(Refusal()) }
        let token = String(authorization.dropFirst(5))
        guard let issued = oauth.issued(token), let boundTo = issued.boundTo else { return .failure(Refusal()) }
        func refuse(_ description: String) -> Result<Set<String>, Refusal> {
            .failure(
                Refusal(
                    challenge: "DPoP algs=\"ES256\", error=\"invalid_dpop_proof\", error_description=\"\(description)\""
                ))
        }
        guard let proof = request.headers[.dpop] else { return refuse("The DPoP proof JWT header is missing.") }
        do {
            let verified = try await oauth.dpop.verify(
                proof, method: request.method.rawValue, url: base.value + request.uri.path, accessToken: token)
            guard verified.thumbprint == boundTo else { return refuse("The DPoP proof is not by the token's key.") }
            return .success(issued.scopes)
        } catch {
            return refuse(DPoPVerifier.describe(error))
        }
    }

    static let allScopes: Set<String> = [
        "okta.users.read", "okta.apps.read", "okta.devices.read", "okta.eventHooks.read", "okta.eventHooks.manage",
        "okta.logs.read", "okta.groups.read",
    ]

    func rateHeaders(_ decision: RateLimiter.Decision) -> HTTPFields {
        var headers = HTTPFields()
        headers[.xRateLimitLimit] = String(decision.limit)
        headers[.xRateLimitRemaining] = String(decision.remaining)
        headers[.xRateLimitReset] = String(decision.resetAt)
        return headers
    }

    /// `429 E0000047`, without `Retry-After` (Okta sends none).
    func tooManyRequests(_ headers: HTTPFields) -> Response {
        JSONResponse.oktaError(
            .tooManyRequests, code: "E0000047", summary: "API call exceeded rate limit due to too many requests.",
            headers: headers)
    }

    static func requestId() -> String {
        var random = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(random.next() as UInt32, radix: 16) }.joined().padding(
            toLength: 32, withPad: "0", startingAt: 0)
    }
}

/// Requests answered, by endpoint and status: what benchmarks count as "Okta calls".
public final class RequestCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func count(_ endpoint: String, status: Int) {
        counts.withLock { $0["\(endpoint) \(status)", default: 0] += 1 }
    }

    /// `"GET /api/v1/users 200": 12` and so on.
    public var snapshot: [String: Int] { counts.withLock { $0 } }

    /// Requests to an endpoint (any status).
    public func total(_ endpointPrefix: String) -> Int {
        snapshot.filter { $0.key.hasPrefix(endpointPrefix + " ") }.values.reduce(0, +)
    }

    /// Forgets every count.
    public func reset() { counts.withLock { $0 = [:] } }

    /// Management API calls answered so far, in total and by status.
    public var calls: ManagementAPICalls {
        var calls = ManagementAPICalls()
        for (key, count) in snapshot {
            guard let space = key.lastIndex(of: " ") else { continue }
            let status = String(key[key.index(after: space)...])
            calls.total += count
            calls.byStatus[status, default: 0] += count
            calls.byEndpoint[String(key[..<space]), default: 0] += count
        }
        return calls
    }
}

/// How many Management API calls the simulator answered: what tests count a connector's calls with.
public struct ManagementAPICalls: Sendable, Codable, Hashable {
    /// Every answered call.
    public var total = 0
    /// By status code (`"200"`, `"401"`, `"429"`).
    public var byStatus: [String: Int] = [:]
    /// By method and rate-limit bucket (`"GET /api/v1/users"`).
    public var byEndpoint: [String: Int] = [:]

    /// No calls.
    public init() {}
}
