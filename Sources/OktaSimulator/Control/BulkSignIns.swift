import ConnectorDomain

/// A burst of sign-ins (`POST /sim/v1/sign-ins`, ``OktaSimulator/recordSignIns(_:)``): a day of an
/// org's sign-ins compressed into as little time as the hooks take them. The events are made in
/// chunks, and the next chunk waits while the hooks' backlog is full, so a million of them need no
/// more memory than a few thousand (the System Log is bounded already).
struct BulkSignIns: Sendable {
    /// Events made at a time.
    static let chunk = 1000
    /// Events that may wait for the deliverer before the next chunk is made.
    static let backlogLimit = 10_000

    let org: SimulatedOrg
    let deliverer: HookDeliverer

    /// Emits the events.
    /// - Parameter count: The events to emit.
    /// - Returns: The events emitted: fewer than `count` only when the org has no active user or the
    ///   simulator stops.
    func run(_ count: Int) async -> Int {
        var emitted = 0
        while emitted < count, !deliverer.isStopped, !Task.isCancelled {
            let made = org.recordSignIns(upTo: min(Self.chunk, count - emitted))
            guard made > 0 else { break }
            emitted += made
            await deliverer.waitForRoom(limit: Self.backlogLimit)
            // Other requests (the Management API the connector calls meanwhile) get their turn.
            await Task.yield()
        }
        return emitted
    }
}
