import Hummingbird

/// `GET /.well-known/okta-organization`: the org's id and whether it runs Identity Engine
/// (`pipeline: idx`) or Classic Engine (`v1`). Okta answers it without authentication, outside the
/// Management API's rate limits.
struct OrganizationAPI: Sendable {
    let organizationId: String
    let classic: Bool
    let base: SimulatorBaseURL

    func register(on router: Router<SimulatorRequestContext>) {
        router.get("/.well-known/okta-organization") { _, _ in
            var writer = JSONWriter(capacity: 256)
            writer.beginObject()
            writer.field("id", organizationId)
            writer.field("pipeline", classic ? "v1" : "idx")
            writer.key("_links")
            writer.beginObject()
            writer.key("organization"); writer.beginObject(); writer.field("href", base.value); writer.endObject()
            writer.endObject()
            writer.endObject()
            return JSONResponse.make(writer.bytes)
        }
    }
}
