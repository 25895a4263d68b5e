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

/// A refusal of the JSON API: its status and `{"error": "…"}`.
struct AdminAPIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static let noSuchConnector = AdminAPIError(.notFound, "no such connector")

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try context.responseEncoder.encode(ErrorMessage(error: message), from: request, context: context)
        response.status = status
        return response
    }
}

/// The admin JSON API under `/api` (SPEC §11, docs/operations.md): each action reads its input,
/// calls one of the connector's operations and answers with a `Codable` body.
struct AdminAPIController {
    let admin: AdminDependencies
    var view: AdminView { admin.view }

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.get("status", use: status)
        group.post("reload", use: reload)
        let connector = group.group("connectors/:name")
        connector.get("runs", use: runs)
        connector.post("reconcile", use: reconcile)
        connector.post("users/:id/resync", use: resyncUser)
        connector.post("resync-all", use: resendAll)
        connector.get("dead-letters", use: deadLetters)
        connector.post("dead-letters/replay", use: replayDeadLetters)
        connector.get("failed-events", use: failedEvents)
        connector.post("failed-events/retry", use: retryFailedEvents)
        connector.get("hooks", use: hooks)
    }

    func runtime(_ context: AdminRequestContext) throws -> ConnectorRuntime {
        guard let runtime = view.runtime(named: context.parameters.get("name")) else {
            throw AdminAPIError.noSuchConnector
        }
        return runtime
    }

    @Sendable func status(_ request: Request, context: AdminRequestContext) async throws -> StatusBody {
        StatusBody(try await StatusReport.make(view))
    }

    @Sendable func reload(_ request: Request, context: AdminRequestContext) async throws -> StatusMessage {
        do {
            return StatusMessage(status: try await admin.reload())
        } catch {
            throw AdminAPIError(.unprocessableContent, "\(error)")
        }
    }

    @Sendable func runs(_ request: Request, context: AdminRequestContext) async throws -> [RunBody] {
        try await view.store.runs(connector: try runtime(context).settings.slug, limit: 50).map(RunBody.init)
    }

    /// `?dry_run=true` reports without writing; `?confirm_removals=true` lets a run remove more than
    /// the circuit breaker allows.
    @Sendable func reconcile(_ request: Request, context: AdminRequestContext) async throws
        -> EditedResponse<StatusMessage>
    {
        let query = request.uri.queryParameters
        let options = ReconcileOptions(
            trigger: .manual, dryRun: query.get("dry_run") == "true",
            confirmRemovals: query.get("confirm_removals") == "true")
        switch try await runtime(context).operations.startReconcile(options) {
        case .started: return EditedResponse(status: .accepted, response: StatusMessage(status: "started"))
        case .refused(let reason): throw AdminAPIError(.conflict, reason)
        }
    }

    @Sendable func resyncUser(_ request: Request, context: AdminRequestContext) async throws -> ResyncBody {
        let runtime = try runtime(context)
        let id = context.parameters.get("id") ?? ""
        guard OktaIdentifier.isWellFormed(id) else { throw AdminAPIError(.badRequest, "not an Okta user id") }
        let outcome = try await runtime.operations.resyncUser(id: id)
        return ResyncBody(user: id, outcome: outcome.map { "\($0)" } ?? "nothing to do")
    }

    @Sendable func resendAll(_ request: Request, context: AdminRequestContext) async throws -> QueuedBody {
        QueuedBody(queued: try await runtime(context).operations.resendAll())
    }

    @Sendable func deadLetters(_ request: Request, context: AdminRequestContext) async throws -> [DeadLetterBody] {
        try await view.store.deadLetters(connector: try runtime(context).settings.slug, limit: 1000)
            .map(DeadLetterBody.init)
    }

    /// `?id=N` (or `N,M`) replays those; without it, all of the connector's.
    @Sendable func replayDeadLetters(_ request: Request, context: AdminRequestContext) async throws -> ReplayedBody {
        let runtime = try runtime(context)
        guard case .success(let ids) = RowSelection.parse(request.uri.queryParameters.get("id")) else {
            throw AdminAPIError(.badRequest, "id must be dead letter ids separated by commas")
        }
        return ReplayedBody(replayed: try await runtime.operations.replayDeadLetters(ids: ids))
    }

    @Sendable func failedEvents(_ request: Request, context: AdminRequestContext) async throws -> [FailedEventBody] {
        try await view.store.failedEvents(connector: try runtime(context).settings.slug, limit: 1000)
            .map(FailedEventBody.init)
    }

    /// `?id=N` (or `N,M`) retries those; without it, all of the connector's.
    @Sendable func retryFailedEvents(_ request: Request, context: AdminRequestContext) async throws -> RetriedBody {
        let runtime = try runtime(context)
        guard case .success(let ids) = RowSelection.parse(request.uri.queryParameters.get("id")) else {
            throw AdminAPIError(.badRequest, "id must be failed event ids separated by commas")
        }
        return RetriedBody(retried: try await runtime.operations.retryFailedEvents(ids: ids))
    }

    /// The event hooks as last read from Okta (cached; never a call per request).
    @Sendable func hooks(_ request: Request, context: AdminRequestContext) async throws -> HooksBody {
        HooksBody(admin.hooks.observation(try runtime(context).settings.slug))
    }
}
