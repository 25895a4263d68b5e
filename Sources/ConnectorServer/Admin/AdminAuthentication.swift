import ConnectorDomain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// What the admin listener knows of a request once it is let in.
struct AdminRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The console session the request came with; `nil` for a bearer token.
    var session: ConsoleSessions.Session?
    /// The fields of a URL-encoded form body (`application/x-www-form-urlencoded`), read once.
    var form: HTMLForm = HTMLForm()
    /// The client's IP address (for the sign-in throttle).
    let clientAddress: String

    init(source: Source) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Where the console goes after a sign-in or a form: a path of this listener, never another site.
enum SignInRedirect {
    /// The path, when it is one of this listener's; `/` otherwise.
    ///
    /// Only the characters of an RFC 3986 path and query are let through: no control character (a
    /// browser drops a TAB or a line break from a URL, so `/<TAB>/evil.example` becomes
    /// `//evil.example`, another site), no `\` (read as `/` by browsers), no space, no `#`, nothing
    /// outside ASCII; and never `//` at the start (a network path to another host).
    /// - Parameter next: The `next` field or parameter, if any.
    /// - Returns: A path starting with a single `/`.
    static func path(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.allSatisfy(isPathByte) else {
            return "/"
        }
        return next
    }

    /// `pchar`, `/` and `?` of RFC 3986: unreserved, percent, sub-delims, `:` and `@`.
    static func isPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~%!$&'()*+,;=:@/?".utf8.contains(byte)
        }
    }
}

/// A URL-encoded form (`a=1&b=two+words`), as browsers send them.
struct HTMLForm: Sendable {
    private(set) var fields: [(String, String)] = []

    init() {}

    /// Decodes a form body; pairs that do not decode are left out.
    init(_ body: String) {
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String? {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            fields.append((name, value))
        }
    }

    /// The first value of a field.
    subscript(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
}

/// Lets in a request with `Authorization: Bearer <admin token>` (scripts, Prometheus) or with a live
/// console session cookie (browsers). A session's state-changing requests must come from the
/// console's own pages: same origin when the browser says (`Origin`), and the session's CSRF token
/// in the `csrf` form field or the `X-CSRF-Token` header. Without either credential a page
/// request gets the sign-in form, anything else `401`. Wrong bearer tokens are throttled per
/// address like the sign-in form's, counted, and logged at most once a minute.
struct AdminAuthenticationMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext

    let token: AdminToken
    let sessions: ConsoleSessions
    let cookie: ConsoleCookie
    let logger: Logger
    let wrongBearerTokens: WrongBearerTokens
    /// Opens `GET /metrics` only.
    let metricsToken: MetricsToken?

    /// Creates the middleware.
    /// - Parameters:
    ///   - token: The admin token in force.
    ///   - sessions: The console's sessions.
    ///   - cookie: The session cookie's settings.
    ///   - logger: The logger.
    ///   - wrongBearerTokens: The throttle and log of wrong bearer tokens; one per listener.
    init(
        token: AdminToken, sessions: ConsoleSessions, cookie: ConsoleCookie, logger: Logger,
        wrongBearerTokens: WrongBearerTokens? = nil, metricsToken: MetricsToken? = nil
    ) {
        self.metricsToken = metricsToken
        self.token = token
        self.sessions = sessions
        self.cookie = cookie
        self.logger = logger
        self.wrongBearerTokens = wrongBearerTokens ?? WrongBearerTokens(clock: sessions.clock)
    }

    /// The largest form accepted (the console's forms are a few hundred bytes).
    static let maximumFormBytes = 64 * 1024

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var request = request
        var context = context
        if let header = request.headers[.authorization] {
            if let wait = wrongBearerTokens.throttle.retryAfter(context.clientAddress) {
                return try Self.tooManyRequests(retryAfter: wait)
            }
            if let metricsToken, request.method == .get, request.uri.path == "/metrics", header.hasPrefix("Bearer "),
                metricsToken.matches(String(header.dropFirst(7)))
            {
                return try await next(request, context)
            }
            guard header.hasPrefix("Bearer "), token.matches(String(header.dropFirst(7))) else {
                wrongBearerTokens.refused(context.clientAddress, path: request.uri.path, logger: logger)
                return try Self.unauthorized()
            }
            try await Self.readForm(&request, into: &context)
            return try await next(request, context)
        }
        if let id = request.cookies[cookie.name]?.value,
            let session = sessions.session(id: id, tokenGeneration: token.generation)
        {
            context.session = session
            if request.method != .get && request.method != .head {
                guard Self.isSameOrigin(request) else {
                    logger.warning(
                        "console request refused: it came from another site",
                        metadata: ["path": "\(request.uri.path)", "origin": "\(request.headers[.origin] ?? "")"])
                    return Self.forbidden("This request came from another site and was refused.")
                }
                try await Self.readForm(&request, into: &context)
                let presented = request.headers[.csrfToken] ?? context.form["csrf"] ?? ""
                guard HookSecretMatcher(secrets: [Secret(session.csrfToken)]).matches(presented) else {
                    logger.warning(
                        "console request refused: missing or wrong CSRF token",
                        metadata: ["path": "\(request.uri.path)"])
                    return Self.forbidden(
                        "This form is out of date or did not come from the console (CSRF check). Reload the page and try again."
                    )
                }
            }
            return try await next(request, context)
        }
        if request.method == .get && Self.isPage(request.uri.path) {
            var response = ConsolePages.signIn(next: request.uri.path, error: nil, status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer realm=\"okta-connector\""
            if request.cookies[cookie.name] != nil { response.setCookie(cookie.expired()) }
            return response
        }
        return try Self.unauthorized()
    }

    /// Whether a path is a console page (a browser's request) rather than the API or metrics.
    static func isPage(_ path: String) -> Bool {
        !path.hasPrefix("/api/") && path != "/metrics"
    }

    /// A browser's request is same-origin when its `Origin` (sent with every cross-site POST by
    /// current browsers) names the host it was sent to; a request without `Origin` relies on the
    /// CSRF token alone.
    static func isSameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let authority = request.head.authority, let url = URL(string: origin), let host = url.host else {
            return false
        }
        // The default port may be written or left out on either side.
        func normalized(_ text: String, scheme: String?) -> String {
            let lower = text.lowercased()
            for (defaultScheme, port) in [("http", ":80"), ("https", ":443")]
            where (scheme == nil || scheme == defaultScheme) && lower.hasSuffix(port) {
                return String(lower.dropLast(port.count))
            }
            return lower
        }
        // An IPv6 literal is bracketed in the Host header (`[::1]:9090`), not in `URL.host`.
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let originAuthority = url.port.map { "\(bracketed):\($0)" } ?? bracketed
        return normalized(originAuthority, scheme: url.scheme) == normalized(authority, scheme: url.scheme)
    }

    static func readForm(_ request: inout Request, into context: inout Context) async throws {
        guard request.method == .post,
            request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        else { return }
        let body = try await request.collectBody(upTo: maximumFormBytes)
        context.form = HTMLForm(String(buffer: body))
    }

    static func unauthorized() throws -> Response {
        try refusal(
            .unauthorized, "a valid bearer token is required",
            headers: [.wwwAuthenticate: "Bearer realm=\"okta-connector\""])
    }

    static func tooManyRequests(retryAfter wait: TimeInterval) throws -> Response {
        try refusal(
            .tooManyRequests, "too many wrong admin tokens from this address; try again later",
            headers: [.retryAfter: "\(Int(wait.rounded(.up)))"])
    }

    /// A refusal given before any route: the API's `{"error": "…"}` (``ErrorMessage``, keys sorted),
    /// as `application/json`.
    static func refusal(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = try JSONCoding.encoder().encode(ErrorMessage(error: message))
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func forbidden(_ message: String) -> Response {
        ConsolePages.message(title: "Refused", text: message, status: .forbidden)
    }
}

/// Wrong admin bearer tokens: throttled per address (10 a minute, then `429`, the right token
/// too), counted in `okta_connector_admin_token_refused_total{via="bearer"}`, and logged in at
/// most one line a minute with how many arrived and from where.
final class WrongBearerTokens: Sendable {
    let throttle: SignInThrottle
    let log: WrongTokenLog

    init(clock: any WallClock) {
        throttle = SignInThrottle(clock: clock, via: "bearer")
        log = WrongTokenLog(clock: clock)
    }

    /// Counts, throttles and (at most once a minute) logs a wrong token.
    func refused(_ address: String, path: String, logger: Logger) {
        throttle.recordFailure(address)
        if let line = log.note(address) {
            logger.warning(
                "admin API request refused: wrong or missing bearer token",
                metadata: [
                    "refused_since_last_line": "\(line.count)", "clients": "\(line.addresses.joined(separator: ","))",
                    "path": "\(path)",
                ])
        }
    }
}

/// The console's session cookie: `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
/// page sends it), `Secure` and `__Host-` prefixed when the admin listener has TLS, and expiring with
/// the session.
struct ConsoleCookie: Sendable {
    let secure: Bool
    let lifetime: TimeInterval

    var name: String { secure ? "__Host-okta-connector-session" : "okta-connector-session" }

    /// The cookie that carries a session.
    func carrying(_ session: ConsoleSessions.Session) -> Cookie {
        Cookie(
            name: name, value: session.id, maxAge: max(1, Int(lifetime)), path: "/", secure: secure, httpOnly: true,
            sameSite: .strict)
    }

    /// The cookie that makes the browser forget the session.
    func expired() -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}

extension HTTPField.Name {
    /// The console's CSRF token for requests sent by script.
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
}
