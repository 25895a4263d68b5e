import ConnectorDomain
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The simulator's HTTP server. Hummingbird's `Application` stamps every response with its own
/// `Date`; a simulated Okta needs the `Date` of *its* clock, which may be skewed from the
/// connector's, because clients must compute rate-limit waits from `Date` and `X-Rate-Limit-Reset`
/// together. So this service builds the same server with the router's responder and sets `Date`
/// from the simulator's clock.
struct SimulatorHTTPService: Service {
    let responder: RouterResponder<SimulatorRequestContext>
    let serverBuilder: HTTPServerBuilder
    let address: BindAddress
    let clock: any WallClock
    let logger: Logger
    let onServerRunning: @Sendable (any Channel) async -> Void

    func run() async throws {
        let responder = self.responder
        let clock = self.clock
        let logger = self.logger
        let server = try serverBuilder.buildServer(
            configuration: .init(address: address, serverName: nil),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, responseWriter, channel in
                let context = SimulatorRequestContext(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as any HTTPResponseError {
                    response = try error.response(from: request, context: context)
                } catch {
                    response = Response(status: .internalServerError)
                }
                response.headers[.date] = HTTPDate.format(clock.now)
                try await responseWriter.write(
                    response: HTTPResponse(status: response.status, headerFields: response.headers), body: response.body
                )
            }, onServerRunning: onServerRunning)
        try await server.run()
    }
}
