public import Foundation
import Synchronization

/// Misbehaviour to inject into the Management API (SPEC §13): `429` storms, `5xx`, slow and dropped
/// responses, a repeated `next` cursor. Counted faults hit the next N matching requests, so tests
/// are exact; rates are drawn from a seeded generator.
public struct FaultPlan: Sendable, Codable, Hashable {
    /// Only requests whose path starts with this are affected (`nil`: every Okta API request).
    public var pathPrefix: String?
    /// The next N requests answer `429 E0000047` with the bucket emptied until its reset.
    public var rateLimitStorm: Int
    /// The next N requests answer `500 E0000009`.
    public var serverErrors: Int
    /// Share of requests answering `503`.
    public var serverErrorRate: Double
    /// The next N requests wait `slowDelay` seconds before answering.
    public var slowResponses: Int
    public var slowDelay: TimeInterval
    /// The next N requests get their connection closed without an answer.
    public var droppedConnections: Int
    /// From this page of a user listing on (1-based), the `next` link repeats the request's own cursor.
    public var repeatNextCursorFromPage: Int?
    /// The next N user listings answer a body that is not valid JSON (System Log pages too, when
    /// `pathPrefix` is `/api/v1/logs`).
    public var malformedPages: Int
    /// Token revocation: every Management API call answers `401 E0000011` (whatever its path) until
    /// this is cleared, as when an admin revokes the connector's API token or deactivates its service app.
    public var tokenRevoked: Bool

    /// No faults.
    public init(
        pathPrefix: String? = nil, rateLimitStorm: Int = 0, serverErrors: Int = 0, serverErrorRate: Double = 0,
        slowResponses: Int = 0, slowDelay: TimeInterval = 0, droppedConnections: Int = 0,
        repeatNextCursorFromPage: Int? = nil, malformedPages: Int = 0, tokenRevoked: Bool = false
    ) {
        self.pathPrefix = pathPrefix
        self.rateLimitStorm = rateLimitStorm
        self.serverErrors = serverErrors
        self.serverErrorRate = serverErrorRate
        self.slowResponses = slowResponses
        self.slowDelay = slowDelay
        self.droppedConnections = droppedConnections
        self.repeatNextCursorFromPage = repeatNextCursorFromPage
        self.malformedPages = malformedPages
        self.tokenRevoked = tokenRevoked
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            pathPrefix: try c.decodeIfPresent(String.self, forKey: .pathPrefix),
            rateLimitStorm: try c.decodeIfPresent(Int.self, forKey: .rateLimitStorm) ?? 0,
            serverErrors: try c.decodeIfPresent(Int.self, forKey: .serverErrors) ?? 0,
            serverErrorRate: try c.decodeIfPresent(Double.self, forKey: .serverErrorRate) ?? 0,
            slowResponses: try c.decodeIfPresent(Int.self, forKey: .slowResponses) ?? 0,
            slowDelay: try c.decodeIfPresent(Double.self, forKey: .slowDelay) ?? 0,
            droppedConnections: try c.decodeIfPresent(Int.self, forKey: .droppedConnections) ?? 0,
            repeatNextCursorFromPage: try c.decodeIfPresent(Int.self, forKey: .repeatNextCursorFromPage),
            malformedPages: try c.decodeIfPresent(Int.self, forKey: .malformedPages) ?? 0,
            tokenRevoked: try c.decodeIfPresent(Bool.self, forKey: .tokenRevoked) ?? false)
    }
}

/// What the fault plan decided for one request.
enum InjectedFault: Equatable {
    case none
    case rateLimitStorm
    case serverError(status: Int)
    case slow(TimeInterval)
    case dropConnection
}

/// The current fault plan, consumed request by request.
final class FaultInjector: Sendable {
    private let plan = Mutex(FaultPlan())
    private let random = Mutex(SplitMix64(seed: 0xFA17))

    var current: FaultPlan { plan.withLock { $0 } }

    func set(_ newPlan: FaultPlan) { plan.withLock { $0 = newPlan } }

    /// Revokes or restores the token, keeping the other faults.
    func setTokenRevoked(_ revoked: Bool) { plan.withLock { $0.tokenRevoked = revoked } }

    /// Whether every Management API call answers `401 E0000011` now.
    var tokenRevoked: Bool { plan.withLock { $0.tokenRevoked } }

    /// Decides the fault for a request and counts it down.
    func next(path: String) -> InjectedFault {
        plan.withLock { plan in
            if let prefix = plan.pathPrefix, !path.hasPrefix(prefix) { return .none }
            if plan.droppedConnections > 0 {
                plan.droppedConnections -= 1
                return .dropConnection
            }
            if plan.rateLimitStorm > 0 {
                plan.rateLimitStorm -= 1
                return .rateLimitStorm
            }
            if plan.serverErrors > 0 {
                plan.serverErrors -= 1
                return .serverError(status: 500)
            }
            if plan.serverErrorRate > 0, random.withLock({ $0.chance(plan.serverErrorRate) }) {
                return .serverError(status: 503)
            }
            if plan.slowResponses > 0 {
                plan.slowResponses -= 1
                return .slow(plan.slowDelay)
            }
            return .none
        }
    }

    /// Whether the next System Log page should be malformed (counted down), when the plan's path
    /// prefix names this path; a plan without a prefix leaves the System Log alone.
    func takeMalformedPage(path: String) -> Bool {
        plan.withLock { plan in
            guard plan.malformedPages > 0, let prefix = plan.pathPrefix, path.hasPrefix(prefix) else { return false }
            plan.malformedPages -= 1
            return true
        }
    }

    /// Whether the next user listing should be malformed (and counts it down).
    func takeMalformedPage() -> Bool {
        plan.withLock { plan in
            guard plan.malformedPages > 0 else { return false }
            plan.malformedPages -= 1
            return true
        }
    }
}
