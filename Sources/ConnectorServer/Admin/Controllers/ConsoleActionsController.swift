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

/// The console's forms (SPEC §11): each reads the form, calls one of the connector's operations and
/// answers with a redirect (`303`) to the page to look at next, carrying a one-shot notice.
struct ConsoleActionsController {
    let console: ConsoleResponder

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.post("preferences/refresh", use: refreshPreference)
        group.post("sign-out", use: signOut)
        let connector = group.group("connectors/:name")
        connector.post("reconcile", use: reconcile)
        connector.post("runs/:id/confirm-removals", use: confirmRemovals)
        connector.post("resync", use: resyncUser)
        connector.post("resync-all", use: resendAll)
        connector.post("dead-letters/replay", use: replayDeadLetters)
        connector.post("failed-events/retry", use: retryFailedEvents)
        connector.post("hook/verify", use: verifyHook)
        connector.post("hook/register", use: registerHook)
    }

    @Sendable func refreshPreference(_ request: Request, context: AdminRequestContext) -> Response {
        let paused = context.form["paused"] == "on"
        if let session = context.session { console.sessions.setRefreshPaused(paused, for: session.id) }
        return console.redirect(
            SignInController.safeNext(context.form["next"]),
            notice: paused ? "Refreshing paused for this session." : "Refreshing resumed.", context: context)
    }

    @Sendable func signOut(_ request: Request, context: AdminRequestContext) -> Response {
        if let session = context.session { console.sessions.end(id: session.id) }
        console.admin.logger.notice("console sign-out")
        var response = Response(status: .seeOther, headers: [.location: "/sign-in", .cacheControl: "no-store"])
        response.setCookie(console.admin.cookie.expired())
        return response
    }

    /// Runs `act` on the connector of the URL, or answers with the not-found page.
    func withConnector(
        _ context: AdminRequestContext, _ act: (ConnectorRuntime, String) async throws -> Response
    ) async throws -> Response {
        guard let runtime = console.runtime(context) else { return console.noSuchConnector(context) }
        return try await act(runtime, "/connectors/\(runtime.settings.slug)")
    }

    @Sendable func reconcile(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let dryRun = context.form["dry_run"] == "on"
            switch try await runtime.operations.startReconcile(ReconcileOptions(trigger: .manual, dryRun: dryRun)) {
            case .started:
                let notice =
                    dryRun ? "Dry run started: it reports what would change and writes nothing." : "Reconcile started."
                return console.redirect(base, notice: notice, context: context)
            case .refused(let reason):
                return console.redirect(base, notice: "Not started: \(reason).", context: context)
            }
        }
    }

    @Sendable func confirmRemovals(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let options = ReconcileOptions(trigger: .manual, confirmRemovals: true)
            switch try await runtime.operations.startReconcile(options) {
            case .started:
                return console.redirect(base, notice: "Reconcile with removals confirmed started.", context: context)
            case .refused(let reason):
                return console.redirect(base, notice: "Not started: \(reason).", context: context)
            }
        }
    }

    @Sendable func resyncUser(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let id = (context.form["user_id"] ?? "").trimmingCharacters(in: .whitespaces)
            guard OktaIdentifier.isWellFormed(id) else {
                return console.redirect(
                    "\(base)/actions",
                    notice: "Not resynced: \"\(id.prefix(40))\" is not an Okta user id (00u…, 20 characters).",
                    context: context)
            }
            do {
                let outcome = try await runtime.operations.resyncUser(id: id)
                return console.redirect(
                    base, notice: "User \(id) resynced: \(outcome.map { "\($0)" } ?? "nothing to do").",
                    context: context)
            } catch {
                return console.redirect(
                    "\(base)/actions", notice: "User \(id) not resynced: \(error)", context: context)
            }
        }
    }

    @Sendable func resendAll(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let queued = try await runtime.operations.resendAll()
            return console.redirect(
                base, notice: "\(queued) user record\(queued == 1 ? "" : "s") queued for the sink again.",
                context: context)
        }
    }

    @Sendable func replayDeadLetters(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            guard case .success(let ids) = RowSelection.parse(context.form["id"]) else {
                return console.redirect(
                    "\(base)/dead-letters",
                    notice: "Nothing replayed: \"\(context.form["id"] ?? "")\" is not a dead letter id.",
                    context: context)
            }
            let count = try await runtime.operations.replayDeadLetters(ids: ids)
            return console.redirect(
                "\(base)/dead-letters",
                notice: "\(count) dead letter\(count == 1 ? "" : "s") re-queued for the sink.", context: context)
        }
    }

    @Sendable func retryFailedEvents(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let page = "\(base)/dead-letters#failed-events"
            guard case .success(let ids) = RowSelection.parse(context.form["id"]) else {
                return console.redirect(
                    page, notice: "Nothing retried: \"\(context.form["id"] ?? "")\" is not a failed event id.",
                    context: context)
            }
            let count = try await runtime.operations.retryFailedEvents(ids: ids)
            return console.redirect(
                page, notice: "\(count) failed event\(count == 1 ? "" : "s") will be applied again.", context: context)
        }
    }

    @Sendable func verifyHook(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let notice = await runtime.operations.verifyHooks()
            await console.admin.hooks.refresh(runtime)
            return console.redirect(base, notice: notice, context: context)
        }
    }

    @Sendable func registerHook(_ request: Request, context: AdminRequestContext) async throws -> Response {
        try await withConnector(context) { runtime, base in
            let notice = await runtime.operations.registerHook(url: context.form["url"] ?? "")
            await console.admin.hooks.refresh(runtime)
            return console.redirect(base, notice: notice, context: context)
        }
    }
}
