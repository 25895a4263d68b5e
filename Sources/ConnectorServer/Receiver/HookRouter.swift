public import Hummingbird

/// The event hook listener's routes (SPEC §4): at each connector's hook path, Okta's one-time
/// verification `GET` and its deliveries `POST`; any other path is `404`. Paths are resolved at
/// request time, so a configuration reload changes them without restarting the listener.
/// - Parameters:
///   - receiver: The receiver that verifies and stores.
///   - maximumBodyBytes: The largest delivery body read (`server.max_body_bytes`).
/// - Returns: The router.
public func buildHookRouter(receiver: EventHookReceiver, maximumBodyBytes: Int) -> Router<BasicRequestContext> {
    let router = Router()
    HookController(receiver: receiver, maximumBodyBytes: maximumBodyBytes).addRoutes(to: router.group())
    return router
}

/// The hook paths of every connector, as a controller: each action finds the connector of the path
/// and hands the request to the receiver.
struct HookController<Context: RequestContext> {
    let receiver: EventHookReceiver
    let maximumBodyBytes: Int

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("**", use: verify)
        group.post("**", use: deliver)
    }

    @Sendable func verify(_ request: Request, context: Context) -> Response {
        guard let route = receiver.route(request.uri.path) else { return Self.noHook }
        return receiver.verify(request, connector: route.connector, matcher: route.matcher, header: route.header)
    }

    @Sendable func deliver(_ request: Request, context: Context) async throws -> Response {
        guard let route = receiver.route(request.uri.path) else { return Self.noHook }
        return try await receiver.deliver(
            request, context: context, connector: route.connector, matcher: route.matcher, header: route.header,
            maximumBodyBytes: maximumBodyBytes)
    }

    static var noHook: Response { EventHookReceiver.error(.notFound, "no event hook at this path") }
}
