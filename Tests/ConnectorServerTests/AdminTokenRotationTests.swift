import ConnectorApp
import ConnectorConfiguration
import ConnectorDomain
import ConnectorServer
import Foundation
import Testing

@Suite("Admin token rotation on reload (SPEC §12)", .serialized, .timeLimit(.minutes(3)))
struct AdminTokenRotationTests {
    @Test func aReloadedTokenIsRequiredAtOnceAndTheOldOneRefused() async throws {
        let serve = try await ServeHarness(users: 5)
        defer { Task { await serve.stop() } }
        #expect(try await serve.get("/api/status", token: "admin-token").status == 200)
        var rotated = serve.configuration
        rotated.server.admin?.token = Secret("rotated-admin-token")
        try await serve.application.reload(rotated)
        #expect(try await serve.get("/api/status", token: "admin-token").status == 401, "the old token is refused")
        #expect(try await serve.get("/metrics", token: "admin-token").status == 401)
        #expect(try await serve.get("/api/status", token: "rotated-admin-token").status == 200)
        #expect(try await serve.get("/healthz", token: nil).status == 200, "probes stay open")
    }
}
