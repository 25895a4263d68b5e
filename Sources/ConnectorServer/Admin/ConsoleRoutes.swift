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

/// The console's pages and forms (SPEC §11). Every form posts, and is answered with a redirect
/// (`303`) to the page to look at next, carrying a one-shot notice: reloading a page never repeats
/// an action.
extension AdminAPI {
    /// The sign-in page and form, open to everyone.
    func registerSignIn(on router: Router<AdminRequestContext>) {
        router.get("/sign-in") { request, _ in
            ConsolePages.signIn(next: Self.safeNext(request.uri.queryParameters.get("next")), error: nil)
        }
        router.post("/sign-in") { request, context in
            var request = request
            // Counted from here, before the body arrives: slow guesses in flight share the limit.
            let attempt = signInThrottle.begin(context.clientAddress)
            if case .refused(let wait) = attempt {
                var refused = ConsolePages.signIn(
                    next: "/",
                    error: "Too many wrong tokens from this address: try again in \(Int(wait.rounded(.up))) s.",
                    status: .tooManyRequests)
                refused.headers[.retryAfter] = "\(Int(wait.rounded(.up)))"
                return refused
            }
            defer { attempt.end() }
            // A sign-in posted from another site's page would sign the browser in to a session
            // the other site chose the token of (login CSRF): same origin only.
            guard AdminAuthenticationMiddleware.isSameOrigin(request) else {
                return AdminAuthenticationMiddleware.forbidden("This sign-in came from another site and was refused.")
            }
            let body = try await request.collectBody(upTo: AdminAuthenticationMiddleware.maximumFormBytes)
            let form = HTMLForm(String(buffer: body))
            let next = Self.safeNext(form["next"])
            guard let presented = form["token"], token.matches(presented) else {
                attempt.failed()
                logger.warning(
                    "console sign-in refused: wrong admin token", metadata: ["client": "\(context.clientAddress)"])
                return ConsolePages.signIn(
                    next: next, error: "That is not the admin token. Check server.admin.token in the configuration.",
                    status: .unauthorized)
            }
            let session = sessions.start(tokenGeneration: token.generation)
            logger.notice("console sign-in", metadata: ["sessions": "\(sessions.count)"])
            var response = Response(status: .seeOther, headers: [.location: next, .cacheControl: "no-store"])
            response.setCookie(cookie.carrying(session))
            return response
        }
    }

    /// Where to go after signing in: a path of this listener, never another site (`//host`).
    static func safeNext(_ next: String?) -> String { SignInRedirect.path(next) }

    /// The chrome of a page for this request.
    func chrome(_ context: AdminRequestContext, refresh: Int?, path: String = "/") -> ConsoleChrome {
        ConsoleChrome(
            csrf: context.session?.csrfToken, notice: context.session.flatMap { sessions.takeNotice(for: $0.id) },
            connectors: view.connectors.map { (name: $0.settings.name, slug: $0.settings.slug) }, refresh: refresh,
            refreshPaused: context.session.map { sessions.isRefreshPaused($0.id) } ?? false, path: path)
    }

    /// The answer to a form: back to a page, with a notice for the session.
    func redirect(_ location: String, notice: String, context: AdminRequestContext) -> Response {
        if let session = context.session { sessions.leaveNotice(notice, for: session.id) }
        return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    func noSuchConnector(_ context: AdminRequestContext) -> Response {
        ConsolePages.page(
            title: "Not found", chrome: chrome(context, refresh: nil),
            body: "<h1>Not found</h1><p class=\"error\">No connector of that name runs in this process.</p>",
            status: .notFound)
    }

    func registerConsole(on router: RouterGroup<AdminRequestContext>) {
        router.get("/") { _, context in
            ConsolePages.overview(try await StatusReport.make(view), chrome: chrome(context, refresh: 15))
        }
        router.post("/preferences/refresh") { _, context in
            let paused = context.form["paused"] == "on"
            if let session = context.session { sessions.setRefreshPaused(paused, for: session.id) }
            return redirect(
                Self.safeNext(context.form["next"]),
                notice: paused ? "Refreshing paused for this session." : "Refreshing resumed.", context: context)
        }
        router.post("/sign-out") { _, context in
            if let session = context.session { sessions.end(id: session.id) }
            logger.notice("console sign-out")
            var response = Response(status: .seeOther, headers: [.location: "/sign-in", .cacheControl: "no-store"])
            response.setCookie(cookie.expired())
            return response
        }
        router.get("/connectors/:name") { request, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            return ConsolePages.connector(
                try await pageData(runtime), chrome: chrome(context, refresh: 15, path: request.uri.path))
        }
        router.get("/connectors/:name/runs/:id") { request, context in
            guard let runtime = runtime(context.parameters.get("name")),
                let id = context.parameters.get("id").flatMap(Int64.init),
                let run = try await view.store.run(id: id), run.connector == runtime.settings.slug
            else { return noSuchConnector(context) }
            var removals: HeldRunRemovals.Answer?
            if run.outcome == .held { removals = try await HeldRunRemovals.of(run, store: view.store) }
            return ConsolePages.run(
                run, connectorName: runtime.settings.name, removals: removals,
                chrome: chrome(context, refresh: run.outcome == .running ? 5 : nil, path: request.uri.path))
        }
        router.get("/connectors/:name/dead-letters") { request, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let slug = runtime.settings.slug
            return ConsolePages.deadLetters(
                connectorName: runtime.settings.name, slug: slug,
                letters: try await view.store.deadLetters(connector: slug, limit: 500),
                letterCount: try await view.store.deadLetterCount(connector: slug),
                events: try await view.store.failedEvents(connector: slug, limit: 500),
                eventCount: try await view.store.failedEventCount(connector: slug),
                chrome: chrome(context, refresh: 30, path: request.uri.path)
            )
        }
        router.get("/connectors/:name/actions") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let settings = runtime.settings
            let known = hooks.observation(settings.slug)?.hooks.first?.channel.config.uri
            return ConsolePages.actions(
                connectorName: settings.name, slug: settings.slug, hookPath: settings.eventHook.path,
                suggestedURL: known ?? "https://connector.example.com\(settings.eventHook.path)",
                chrome: chrome(context, refresh: nil))
        }
        router.post("/connectors/:name/reconcile") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let dryRun = context.form["dry_run"] == "on"
            let base = "/connectors/\(runtime.settings.slug)"
            switch try await runtime.operations.startReconcile(ReconcileOptions(trigger: .manual, dryRun: dryRun)) {
            case .started:
                return redirect(
                    base,
                    notice: dryRun
                        ? "Dry run started: it reports what would change and writes nothing." : "Reconcile started.",
                    context: context)
            case .refused(let reason):
                return redirect(base, notice: "Not started: \(reason).", context: context)
            }
        }
        router.post("/connectors/:name/runs/:id/confirm-removals") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let base = "/connectors/\(runtime.settings.slug)"
            switch try await runtime.operations.startReconcile(
                ReconcileOptions(trigger: .manual, confirmRemovals: true))
            {
            case .started:
                return redirect(base, notice: "Reconcile with removals confirmed started.", context: context)
            case .refused(let reason):
                return redirect(base, notice: "Not started: \(reason).", context: context)
            }
        }
        router.post("/connectors/:name/resync") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let base = "/connectors/\(runtime.settings.slug)"
            let id = (context.form["user_id"] ?? "").trimmingCharacters(in: .whitespaces)
            guard OktaIdentifier.isWellFormed(id) else {
                return redirect(
                    "\(base)/actions",
                    notice: "Not resynced: \"\(id.prefix(40))\" is not an Okta user id (00u…, 20 characters).",
                    context: context)
            }
            do {
                let outcome = try await runtime.operations.resyncUser(id: id)
                return redirect(
                    base, notice: "User \(id) resynced: \(outcome.map { "\($0)" } ?? "nothing to do").",
                    context: context)
            } catch {
                return redirect("\(base)/actions", notice: "User \(id) not resynced: \(error)", context: context)
            }
        }
        router.post("/connectors/:name/resync-all") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let queued = try await runtime.operations.resendAll()
            return redirect(
                "/connectors/\(runtime.settings.slug)",
                notice: "\(queued) user record\(queued == 1 ? "" : "s") queued for the sink again.", context: context)
        }
        router.post("/connectors/:name/dead-letters/replay") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            guard case .success(let ids) = RowSelection.parse(context.form["id"]) else {
                return redirect(
                    "/connectors/\(runtime.settings.slug)/dead-letters",
                    notice: "Nothing replayed: \"\(context.form["id"] ?? "")\" is not a dead letter id.",
                    context: context)
            }
            let count = try await runtime.operations.replayDeadLetters(ids: ids)
            return redirect(
                "/connectors/\(runtime.settings.slug)/dead-letters",
                notice: "\(count) dead letter\(count == 1 ? "" : "s") re-queued for the sink.", context: context)
        }
        router.post("/connectors/:name/failed-events/retry") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            guard case .success(let ids) = RowSelection.parse(context.form["id"]) else {
                return redirect(
                    "/connectors/\(runtime.settings.slug)/dead-letters#failed-events",
                    notice: "Nothing retried: \"\(context.form["id"] ?? "")\" is not a failed event id.",
                    context: context)
            }
            let count = try await runtime.operations.retryFailedEvents(ids: ids)
            return redirect(
                "/connectors/\(runtime.settings.slug)/dead-letters#failed-events",
                notice: "\(count) failed event\(count == 1 ? "" : "s") will be applied again.", context: context)
        }
        router.post("/connectors/:name/hook/verify") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let base = "/connectors/\(runtime.settings.slug)"
            let notice = await runtime.operations.verifyHooks()
            await hooks.refresh(runtime)
            return redirect(base, notice: notice, context: context)
        }
        router.post("/connectors/:name/hook/register") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return noSuchConnector(context) }
            let base = "/connectors/\(runtime.settings.slug)"
            let notice = await runtime.operations.registerHook(url: context.form["url"] ?? "")
            await hooks.refresh(runtime)
            return redirect(base, notice: notice, context: context)
        }
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
        let buckets = await runtime.operations.rateLimits()
        let now = view.clock.now
        let thisMinute = Int64(now.timeIntervalSince1970 / 60) * 60_000
        let first = thisMinute - 59 * 60_000
        let counts = try await view.store.eventsReceivedPerMinute(
            connector: settings.slug, since: Timestamp(millisecondsSinceEpoch: first))
        let minutes = stride(from: first, through: thisMinute, by: 60_000).map {
            (minute: Date(timeIntervalSince1970: Double($0) / 1000), events: counts[$0] ?? 0)
        }
        return ConnectorPageData(
            status: status, hooks: hooks.observation(settings.slug), buckets: buckets,
            rateLimitShare: settings.okta.rateLimitShare, eventsPerMinute: minutes, generatedAt: now)
    }
}
