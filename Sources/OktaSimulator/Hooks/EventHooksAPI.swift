import AsyncHTTPClient
import ConnectorDomain
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1

/// The Event Hooks API: create, list, get, replace, delete, activate, deactivate and verify.
struct EventHooksAPI: Sendable {
    let registry: EventHookRegistry
    let client: HTTPClient
    let clock: any WallClock
    let base: SimulatorBaseURL
    var baseURL: String { base.value }
    let adminId: String

    func register(on router: Router<SimulatorRequestContext>) {
        router.post("/api/v1/eventHooks") { request, _ in
            guard let hook = await decode(request) else { return JSONResponse.invalid("the body is not an event hook") }
            do {
                let stored = try registry.create(hook, now: Timestamp(clock.now), createdBy: adminId)
                return JSONResponse.encode(stored.redacted(baseURL: baseURL))
            } catch let problem as EventHookRegistry.Problem {
                return JSONResponse.invalid(problem.reason)
            } catch {
                return JSONResponse.invalid("\(error)")
            }
        }
        router.get("/api/v1/eventHooks") { _, _ in
            JSONResponse.encode(registry.all().map { $0.redacted(baseURL: baseURL) })
        }
        router.get("/api/v1/eventHooks/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let hook = registry.get(id) else { return JSONResponse.notFound(id, kind: "EventHook") }
            return JSONResponse.encode(hook.redacted(baseURL: baseURL))
        }
        router.put("/api/v1/eventHooks/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let hook = await decode(request) else { return JSONResponse.invalid("the body is not an event hook") }
            do {
                guard let stored = try registry.replace(id, with: hook, now: Timestamp(clock.now)) else {
                    return JSONResponse.notFound(id, kind: "EventHook")
                }
                return JSONResponse.encode(stored.redacted(baseURL: baseURL))
            } catch let problem as EventHookRegistry.Problem {
                return JSONResponse.invalid(problem.reason)
            } catch {
                return JSONResponse.invalid("\(error)")
            }
        }
        router.delete("/api/v1/eventHooks/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let hook = registry.get(id) else { return JSONResponse.notFound(id, kind: "EventHook") }
            guard hook.status == "INACTIVE" else {
                return JSONResponse.invalid("deactivate the event hook before deleting it")
            }
            _ = registry.delete(id)
            return Response(status: .noContent)
        }
        router.post("/api/v1/eventHooks/:id/lifecycle/activate") { _, context in
            lifecycle(context.parameters.get("id") ?? "", status: "ACTIVE")
        }
        router.post("/api/v1/eventHooks/:id/lifecycle/deactivate") { _, context in
            lifecycle(context.parameters.get("id") ?? "", status: "INACTIVE")
        }
        router.post("/api/v1/eventHooks/:id/lifecycle/verify") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let hook = registry.get(id) else { return JSONResponse.notFound(id, kind: "EventHook") }
            if let failure = await verify(hook) {
                _ = registry.update(id) { $0.verificationStatus = "UNVERIFIED" }
                return JSONResponse.oktaError(
                    .badRequest, code: "E0000001",
                    summary: "Api validation failed: Verification of the event hook failed",
                    causes: [failure])
            }
            let verified = registry.update(id) { hook in
                hook.verificationStatus = "VERIFIED"
                hook.lastUpdated = Timestamp(clock.now).iso8601
            }
            return JSONResponse.encode(verified!.redacted(baseURL: baseURL))
        }
    }

    func decode(_ request: Request) async -> EventHookObject? {
        guard let bytes = try? await request.bodyBytes() else { return nil }
        return try? JSONDecoder().decode(EventHookObject.self, from: Data(bytes))
    }

    func lifecycle(_ id: String, status: String) -> Response {
        guard
            let hook = registry.update(
                id,
                { hook in
                    hook.status = status
                    hook.lastUpdated = Timestamp(clock.now).iso8601
                })
        else { return JSONResponse.notFound(id, kind: "EventHook") }
        return JSONResponse.encode(hook.redacted(baseURL: baseURL))
    }

    /// The verification request: one `GET` with `x-okta-verification-challenge` (and the auth header,
    /// whose presence Okta does not document), answered `{"verification": "<challenge>"}`; 3 s timeout
    /// and one retry. Returns why it failed, or `nil`.
    func verify(_ hook: EventHookObject) async -> String? {
        let challenge = UUID().uuidString + UUID().uuidString
        var failure = "no answer"
        for _ in 1...2 {
            var request = HTTPClientRequest(url: hook.channel.config.uri)
            request.method = .GET
            request.headers.add(name: "x-okta-verification-challenge", value: challenge)
            request.headers.add(name: "Accept", value: "application/json")
            if let scheme = hook.channel.config.authScheme, let value = scheme.value {
                request.headers.add(name: scheme.key, value: value)
            }
            for header in hook.channel.config.headers ?? [] {
                request.headers.add(name: header.key, value: header.value)
            }
            do {
                let response = try await client.execute(request, timeout: HookDeliverer.timeout)
                let body = try await response.body.collect(upTo: 1 << 16)
                guard response.status.code == 200 else {
                    failure = "the hook answered \(response.status.code)"
                    if (400..<500).contains(Int(response.status.code)) { break }
                    continue
                }
                struct Answer: Decodable { let verification: String }
                guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)),
                    answer.verification == challenge
                else {
                    return "the answer did not carry the challenge as {\"verification\": \"...\"}"
                }
                return nil
            } catch {
                failure = "\(error)"
            }
        }
        return failure
    }
}
