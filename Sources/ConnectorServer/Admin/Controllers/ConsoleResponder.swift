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

/// What the console's page and form controllers share: the connector named in the URL, the chrome
/// of a page for the session, the redirect that answers a form with a notice, the not-found page.
struct ConsoleResponder: Sendable {
    let admin: AdminDependencies
    var view: AdminView { admin.view }
    var sessions: ConsoleSessions { admin.sessions }

    /// The connector named by the route's `:name`.
    func runtime(_ context: AdminRequestContext) -> ConnectorRuntime? {
        view.runtime(named: context.parameters.get("name"))
    }

    /// The chrome of a page for this request; takes the session's notice.
    func chrome(_ context: AdminRequestContext, refresh: Int?, path: String = "/") -> ConsoleChrome {
        ConsoleChrome(
            csrf: context.session?.csrfToken, notice: context.session.flatMap { sessions.takeNotice(for: $0.id) },
            connectors: view.connectors.map { (name: $0.settings.name, slug: $0.settings.slug) }, refresh: refresh,
            refreshPaused: context.session.map { sessions.isRefreshPaused($0.id) } ?? false, path: path)
    }

    /// The answer to a form: back to a page, with a notice for the session. Reloading the page it
    /// lands on never repeats the action.
    func redirect(_ location: String, notice: String, context: AdminRequestContext) -> Response {
        if let session = context.session { sessions.leaveNotice(notice, for: session.id) }
        return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    func noSuchConnector(_ context: AdminRequestContext) -> Response {
        ConsolePages.notFound(chrome: chrome(context, refresh: nil))
    }
}
