import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The admin token in force: a reloaded configuration replaces it, and the old one is refused from
/// then on.
final class AdminToken: Sendable {
    private let matcher: Mutex<HookSecretMatcher>

    init(_ token: Secret) {
        matcher = Mutex(HookSecretMatcher(secrets: [token]))
    }

    /// Puts a new token in force.
    func replace(with token: Secret) {
        let new = HookSecretMatcher(secrets: [token])
        matcher.withLock { $0 = new }
    }

    /// Whether the presented token is the one in force (constant time).
    func matches(_ presented: String) -> Bool {
        matcher.withLock { $0 }.matches(presented)
    }
}

/// The admin listener (SPEC §11): probes open, everything else behind `Authorization: Bearer`.
struct AdminAPI: Sendable {
    let view: ConnectorRuntimeView
    let token: AdminToken
    let metrics: ConnectorMetrics
    let logger: Logger
    let reload: @Sendable () async throws -> String

    func register(on router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in text("ok\n") }
        router.get("/readyz") { _, _ in
            await view.store.isReady() ? text("ready\n") : text("store not ready\n", status: .serviceUnavailable)
        }
        let secured = router.group().add(
            middleware: BearerTokenMiddleware(token: token))
        secured.get("/metrics") { _, _ in
            let body = await metrics.scrape(view)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        secured.get("/api/status") { _, _ in json(try await StatusReport.make(view).json) }
        secured.get("/") { _, _ in
            let report = try await StatusReport.make(view)
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: StatusPage.html(report))))
        }
        secured.post("/api/reload") { _, _ in
            do {
                return json(["status": .string(try await reload())])
            } catch {
                return json(["error": .string("\(error)")], status: .unprocessableContent)
            }
        }
        secured.get("/api/connectors/:name/runs") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            let runs = try await view.store.runs(connector: runtime.settings.slug, limit: 50)
            return json(.array(runs.map(StatusReport.runJSON)))
        }
        secured.post("/api/connectors/:name/reconcile") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            guard runtime.settings.active else {
                return json(["error": "the connector is inactive"], status: .conflict)
            }
            // In this process or another one sharing the store (a CLI `reconcile`): the holder is named.
            if let holder = try await view.gate.holder(of: runtime.settings.slug) {
                return json(["error": .string(holder.message(connector: runtime.settings.slug))], status: .conflict)
            }
            // A manual run: it does not move the schedule. It outlives the request, so it runs in
            // the supervisor's task group, under the run gate.
            view.startManualRun(runtime)
            return json(["status": "started"], status: .accepted)
        }
        secured.post("/api/connectors/:name/users/:id/resync") { _, context in
            guard let runtime = runtime(context.parameters.get("name")), let id = context.parameters.get("id") else {
                return notFound()
            }
            guard OktaIdentifier.isWellFormed(id) else {
                return json(["error": "not an Okta user id"], status: .badRequest)
            }
            let outcome = try await runtime.applier.resync(userId: id)
            return json(["user": .string(id), "outcome": .string(outcome.map { "\($0)" } ?? "nothing to do")])
        }
    }

    /// The connector with a URL name or a name (percent-decoded: `Okta%20production`), as the CLI
    /// accepts both.
    func runtime(_ name: String?) -> ConnectorRuntime? {
        guard let name else { return nil }
        let decoded = name.removingPercentEncoding ?? name
        return view.connectors.first {
            $0.settings.slug == name || $0.settings.name == name || $0.settings.slug == decoded
                || $0.settings.name == decoded
        }
    }
}

/// `Authorization: Bearer <token>`, compared in constant time.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: AdminToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            token.matches(String(header.dropFirst(7)))
        else {
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"okta-connector\""],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\":\"a valid bearer token is required\"}")))
        }
        return try await next(request, context)
    }
}

func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "text/plain; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
}

func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(value))))
}

func notFound() -> Response { json(["error": "no such connector"], status: .notFound) }
