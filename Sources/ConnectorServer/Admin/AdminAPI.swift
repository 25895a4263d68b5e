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
import Synchronization

/// The admin token in force: a reloaded configuration replaces it, and the old one is refused from
/// then on. Its generation counts the rotations, so that console sessions started with an earlier
/// token end with it.
final class AdminToken: Sendable {
    private let state: Mutex<(token: Secret, matcher: HookSecretMatcher, generation: UInt64)>

    init(_ token: Secret) {
        state = Mutex((token, HookSecretMatcher(secrets: [token]), 0))
    }

    /// Puts a new token in force; the same token again changes nothing.
    func replace(with token: Secret) {
        let new = HookSecretMatcher(secrets: [token])
        state.withLock { state in
            guard state.token != token else { return }
            state = (token, new, state.generation + 1)
        }
    }

    /// Whether the presented token is the one in force (constant time).
    func matches(_ presented: String) -> Bool {
        state.withLock { $0.matcher }.matches(presented)
    }

    /// How many times the token was rotated.
    var generation: UInt64 { state.withLock { $0.generation } }
}

/// The admin listener (SPEC §11): probes open; the API, metrics and the console behind the admin
/// token, sent as `Authorization: Bearer` by scripts or signed in with once by a browser.
struct AdminAPI: Sendable {
    let view: AdminView
    let token: AdminToken
    let sessions: ConsoleSessions
    let signInThrottle: SignInThrottle
    let cookie: ConsoleCookie
    let hooks: EventHookMonitor
    let metrics: ConnectorMetrics
    let logger: Logger
    let reload: @Sendable () async throws -> String

    func register(on router: Router<AdminRequestContext>) {
        router.get("/healthz") { _, _ in text("ok\n") }
        router.get("/readyz") { _, _ in
            await view.store.isReady() ? text("ready\n") : text("store not ready\n", status: .serviceUnavailable)
        }
        registerSignIn(on: router)
        let secured = router.group().add(
            middleware: AdminAuthenticationMiddleware(token: token, sessions: sessions, cookie: cookie, logger: logger))
        secured.get("/metrics") { _, _ in
            let body = await metrics.scrape(view)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        secured.get("/api/status") { _, _ in json(try await StatusReport.make(view).json) }
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
        // `?dry_run=true` reports without writing; `?confirm_removals=true` lets a run remove more
        // than the circuit breaker allows.
        secured.post("/api/connectors/:name/reconcile") { request, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            let query = request.uri.queryParameters
            let options = ReconcileOptions(
                trigger: .manual, dryRun: query.get("dry_run") == "true",
                confirmRemovals: query.get("confirm_removals") == "true")
            switch try await runtime.operations.startReconcile(options) {
            case .started: return json(["status": "started"], status: .accepted)
            case .refused(let reason): return json(["error": .string(reason)], status: .conflict)
            }
        }
        secured.post("/api/connectors/:name/users/:id/resync") { _, context in
            guard let runtime = runtime(context.parameters.get("name")), let id = context.parameters.get("id") else {
                return notFound()
            }
            guard OktaIdentifier.isWellFormed(id) else {
                return json(["error": "not an Okta user id"], status: .badRequest)
            }
            let outcome = try await runtime.operations.resyncUser(id: id)
            return json(["user": .string(id), "outcome": .string(outcome.map { "\($0)" } ?? "nothing to do")])
        }
        secured.post("/api/connectors/:name/resync-all") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            let queued = try await runtime.operations.resendAll()
            return json(["queued": .integer(Int64(queued))])
        }
        secured.get("/api/connectors/:name/dead-letters") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            let letters = try await view.store.deadLetters(connector: runtime.settings.slug, limit: 1000)
            return json(
                .array(
                    letters.map { letter -> JSONValue in
                        [
                            "id": .integer(letter.id), "userId": .string(letter.userId),
                            "operation": .string(letter.operation.rawValue), "version": .integer(letter.version),
                            "reason": .string(letter.reason), "failedAt": .string(letter.failedAt.iso8601),
                        ]
                    }))
        }
        // `?id=N` replays one; without it, all of the connector's.
        secured.post("/api/connectors/:name/dead-letters/replay") { request, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            guard case .success(let ids) = RowSelection.parse(request.uri.queryParameters.get("id")) else {
                return json(["error": "id must be dead letter ids separated by commas"], status: .badRequest)
            }
            let count = try await runtime.operations.replayDeadLetters(ids: ids)
            return json(["replayed": .integer(Int64(count))])
        }
        secured.get("/api/connectors/:name/failed-events") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            let events = try await view.store.failedEvents(connector: runtime.settings.slug, limit: 1000)
            return json(
                .array(
                    events.map { event -> JSONValue in
                        var object: [String: JSONValue] = [
                            "id": .integer(event.seq), "eventType": .string(event.eventType),
                            "attempts": .integer(Int64(event.attempts)), "lastError": .string(event.lastError),
                            "failedAt": .string(event.failedAt.iso8601),
                        ]
                        if let user = event.subjectUserId { object["userId"] = .string(user) }
                        return .object(object)
                    }))
        }
        // `?id=N` retries one; without it, all of the connector's.
        secured.post("/api/connectors/:name/failed-events/retry") { request, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            guard case .success(let ids) = RowSelection.parse(request.uri.queryParameters.get("id")) else {
                return json(["error": "id must be failed event ids separated by commas"], status: .badRequest)
            }
            let count = try await runtime.operations.retryFailedEvents(ids: ids)
            return json(["retried": .integer(Int64(count))])
        }
        // The event hooks as last read from Okta (cached; never a call per request).
        secured.get("/api/connectors/:name/hooks") { _, context in
            guard let runtime = runtime(context.parameters.get("name")) else { return notFound() }
            guard let observation = hooks.observation(runtime.settings.slug) else {
                return json(["checkedAt": .null, "hooks": .array([])])
            }
            var object: [String: JSONValue] = [
                "hooks": .array(
                    observation.hooks.map { hook -> JSONValue in
                        [
                            "id": .string(hook.id ?? ""), "status": .string(hook.status ?? ""),
                            "verificationStatus": .string(hook.verificationStatus ?? ""),
                            "url": .string(hook.channel.config.uri),
                            "delivering": .bool(hook.status == "ACTIVE" && hook.verificationStatus == "VERIFIED"),
                        ]
                    }),
                "checkedAt": observation.checkedAt.map { .string(Timestamp($0).iso8601) } ?? .null,
            ]
            if let error = observation.error { object["error"] = .string(error) }
            return json(.object(object))
        }
        registerConsole(on: secured)
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

func notFound() -> Response { json(["error": "no such connector"], status: .notFound) }
