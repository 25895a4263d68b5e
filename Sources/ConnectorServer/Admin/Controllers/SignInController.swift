import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OktaClient

/// The console's sign-in page and form, open to everyone: the admin token once, then a session
/// cookie (SPEC §11).
struct SignInController {
    let admin: AdminDependencies

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.get("sign-in", use: page)
        group.post("sign-in", use: signIn)
    }

    @Sendable func page(_ request: Request, context: AdminRequestContext) -> Response {
        ConsolePages.signIn(next: Self.safeNext(request.uri.queryParameters.get("next")), error: nil)
    }

    @Sendable func signIn(_ request: Request, context: AdminRequestContext) async throws -> Response {
        // Counted from here, before the body arrives: slow guesses in flight share the limit.
        let attempt = admin.signInThrottle.begin(context.clientAddress)
        if case .refused(let wait) = attempt {
            let seconds = Int(wait.rounded(.up))
            var refused = ConsolePages.signIn(
                next: "/", error: "Too many wrong tokens from this address: try again in \(seconds) s.",
                status: .tooManyRequests)
            refused.headers[.retryAfter] = "\(seconds)"
            return refused
        }
        defer { attempt.end() }
        // A sign-in posted from another site's page would sign the browser in to a session the
        // other site chose the token of (login CSRF): same origin only.
        guard AdminAuthenticationMiddleware.isSameOrigin(request) else {
            return AdminAuthenticationMiddleware.forbidden("This sign-in came from another site and was refused.")
        }
        var request = request
        let body = try await request.collectBody(upTo: AdminAuthenticationMiddleware.maximumFormBytes)
        let form = HTMLForm(String(buffer: body))
        let next = Self.safeNext(form["next"])
        guard let presented = form["token"], admin.token.matches(presented) else {
            attempt.failed()
            admin.logger.warning(
                "console sign-in refused: wrong admin token", metadata: ["client": "\(context.clientAddress)"])
            return ConsolePages.signIn(
                next: next, error: "That is not the admin token. Check server.admin.token in the configuration.",
                status: .unauthorized)
        }
        let session = admin.sessions.start(tokenGeneration: admin.token.generation)
        admin.logger.notice("console sign-in", metadata: ["sessions": "\(admin.sessions.count)"])
        var response = Response(status: .seeOther, headers: [.location: next, .cacheControl: "no-store"])
        response.setCookie(admin.cookie.carrying(session))
        return response
    }

    /// Where to go after signing in: a path of this listener, never another site (`//host`).
    static func safeNext(_ next: String?) -> String { SignInRedirect.path(next) }
}
