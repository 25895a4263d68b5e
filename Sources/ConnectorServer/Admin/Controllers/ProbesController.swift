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

/// The probes, open to everyone: liveness (`/healthz`) and readiness (`/readyz`: the store answers).
struct ProbesController {
    let view: AdminView

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.get("healthz", use: healthz)
        group.get("readyz", use: readyz)
    }

    @Sendable func healthz(_ request: Request, context: AdminRequestContext) -> Response {
        plainText("ok\n")
    }

    @Sendable func readyz(_ request: Request, context: AdminRequestContext) async -> Response {
        await view.store.isReady() ? plainText("ready\n") : plainText("store not ready\n", status: .serviceUnavailable)
    }
}

/// The Prometheus metrics, behind the admin token.
struct MetricsController {
    let view: AdminView
    let metrics: ConnectorMetrics

    func addRoutes(to group: RouterGroup<AdminRequestContext>) {
        group.get("metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, context: AdminRequestContext) async -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: await metrics.scrape(view))))
    }
}

/// A plain-text answer.
func plainText(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "text/plain; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
}
