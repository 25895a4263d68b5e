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

/// The console's pages (SPEC §11): each reads what it shows and renders its template.
struct ConsolePagesController {
    let console: ConsoleResponder
    var view: AdminView { console.view }

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.get("/", use: overview)
        let connector = group.group("connectors/:name")
        connector.get(use: connectorPage)
        connector.get("runs/:id", use: run)
        connector.get("dead-letters", use: deadLetters)
        connector.get("actions", use: actions)
    }

    @Sendable func overview(_ request: Request, context: AdminRequestContext) async throws -> Response {
        ConsolePages.overview(try await StatusReport.make(view), chrome: console.chrome(context, refresh: 15))
    }

    @Sendable func connectorPage(_ request: Request, context: AdminRequestContext) async throws -> Response {
        guard let runtime = console.runtime(context) else { return console.noSuchConnector(context) }
        return ConsolePages.connector(
            try await pageData(runtime), chrome: console.chrome(context, refresh: 15, path: request.uri.path))
    }

    @Sendable func run(_ request: Request, context: AdminRequestContext) async throws -> Response {
        guard let runtime = console.runtime(context), let id = context.parameters.get("id").flatMap(Int64.init),
            let run = try await view.store.run(id: id), run.connector == runtime.settings.slug
        else { return console.noSuchConnector(context) }
        let removals = run.outcome == .held ? try await HeldRunRemovals.of(run, store: view.store) : nil
        return ConsolePages.run(
            run, connectorName: runtime.settings.name, removals: removals,
            chrome: console.chrome(context, refresh: run.outcome == .running ? 5 : nil, path: request.uri.path))
    }

    @Sendable func deadLetters(_ request: Request, context: AdminRequestContext) async throws -> Response {
        guard let runtime = console.runtime(context) else { return console.noSuchConnector(context) }
        let slug = runtime.settings.slug
        return ConsolePages.deadLetters(
            connectorName: runtime.settings.name, slug: slug,
            letters: try await view.store.deadLetters(connector: slug, limit: 500),
            letterCount: try await view.store.deadLetterCount(connector: slug),
            events: try await view.store.failedEvents(connector: slug, limit: 500),
            eventCount: try await view.store.failedEventCount(connector: slug),
            chrome: console.chrome(context, refresh: 30, path: request.uri.path))
    }

    @Sendable func actions(_ request: Request, context: AdminRequestContext) async throws -> Response {
        guard let runtime = console.runtime(context) else { return console.noSuchConnector(context) }
        let settings = runtime.settings
        return ConsolePages.actions(
            connectorName: settings.name, slug: settings.slug, hookPath: settings.eventHook.path,
            publicURL: settings.eventHook.publicURL?.absoluteString, chrome: console.chrome(context, refresh: nil))
    }

    /// Everything the connector page shows.
    func pageData(_ runtime: ConnectorRuntime) async throws -> ConnectorPageData {
        let settings = runtime.settings
        var status = try await StatusReport.connector(
            store: view.store, name: settings.name, slug: settings.slug, server: settings.server,
            active: settings.active, oktaURL: settings.okta.url.absoluteString,
            statuses: settings.userStatuses.map(\.rawValue), schedule: "\(settings.schedule)",
            hookPath: settings.eventHook.path, lastDelivery: view.receiver.lastDelivery(settings.slug),
            eventSource: settings.eventSource.rawValue)
        status.health = runtime.health
        let now = view.clock.now
        status.rateLimitWait = await runtime.operations.currentRateLimitWait()?.text(now: now)
        let thisMinute = Int64(now.timeIntervalSince1970 / 60) * 60_000
        let first = thisMinute - 59 * 60_000
        let counts = try await view.store.eventsReceivedPerMinute(
            connector: settings.slug, since: Timestamp(millisecondsSinceEpoch: first))
        let minutes = stride(from: first, through: thisMinute, by: 60_000).map {
            (minute: Date(timeIntervalSince1970: Double($0) / 1000), events: counts[$0] ?? 0)
        }
        return ConnectorPageData(
            status: status, hooks: console.admin.hooks.observation(settings.slug),
            buckets: await runtime.operations.rateLimits(), rateLimitShare: settings.okta.rateLimitShare,
            eventsPerMinute: minutes, generatedAt: now)
    }
}
