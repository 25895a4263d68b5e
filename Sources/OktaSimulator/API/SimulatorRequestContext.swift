import Hummingbird
import Logging
import NIOCore

/// The request context of the simulator: Hummingbird's core context plus the connection (so that
/// fault injection can drop it) and what authentication granted.
struct SimulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Scopes the credentials carry; an API token carries them all.
    var scopes: Set<String> = []

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
