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

/// What the admin listener's routes read and act on: the connectors' operations (through the
/// view), the credentials and sessions, the hook monitor, the metrics and the reload.
struct AdminDependencies: Sendable {
    let view: AdminView
    let token: AdminToken
    let metricsToken: MetricsToken
    let sessions: ConsoleSessions
    let signInThrottle: SignInThrottle
    let cookie: ConsoleCookie
    let hooks: EventHookMonitor
    let metrics: ConnectorMetrics
    let logger: Logger
    let reload: @Sendable () async throws -> String
}

/// The admin listener's routes (SPEC §11): the probes and the sign-in form open; the metrics, the
/// JSON API and the console behind the admin token (a bearer token or a console session).
/// - Parameter admin: What the routes act on.
/// - Returns: The router.
func buildAdminRouter(_ admin: AdminDependencies) -> Router<AdminRequestContext> {
    let router = Router(context: AdminRequestContext.self)
    ProbesController(view: admin.view).addRoutes(to: router.group())
    SignInController(admin: admin).addRoutes(to: router.group())
    let secured = router.group().add(
        middleware: AdminAuthenticationMiddleware(
            token: admin.token, sessions: admin.sessions, cookie: admin.cookie, logger: admin.logger,
            metricsToken: admin.metricsToken))
    MetricsController(view: admin.view, metrics: admin.metrics).addRoutes(to: secured)
    AdminAPIController(admin: admin).addRoutes(to: secured.group("api"))
    let console = ConsoleResponder(admin: admin)
    ConsolePagesController(console: console).addRoutes(to: secured)
    ConsoleActionsController(console: console).addRoutes(to: secured)
    return router
}

extension AdminRequestContext {
    /// JSON bodies with sorted keys and unescaped slashes, as the API always wrote them.
    var responseEncoder: JSONEncoder { JSONCoding.encoder() }
}

extension AdminView {
    /// The connector with a URL name or a name (percent-decoded: `Okta%20production`), as the CLI
    /// accepts both.
    func runtime(named name: String?) -> ConnectorRuntime? {
        guard let name else { return nil }
        let decoded = name.removingPercentEncoding ?? name
        return connectors.first {
            $0.settings.slug == name || $0.settings.name == name || $0.settings.slug == decoded
                || $0.settings.name == decoded
        }
    }
}

/// The rows a replay or retry names (`id=N` or `id=N,M`, from the API or a console form): absent
/// means all of the connector's; anything given must be row ids only, never quietly narrowed or
/// widened (a mistyped id must not replay everything).
enum RowSelection {
    struct Invalid: Error {
        let text: String
    }

    static func parse(_ text: String?) -> Result<[Int64]?, Invalid> {
        guard let text else { return .success(nil) }
        var ids: [Int64] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = Int64(item.trimmingCharacters(in: .whitespaces)), id > 0 else {
                return .failure(Invalid(text: String(text.prefix(40))))
            }
            ids.append(id)
        }
        return .success(ids)
    }
}
