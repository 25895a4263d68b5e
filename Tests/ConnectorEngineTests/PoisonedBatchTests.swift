import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import NeuronsSinks
import Synchronization
import Testing

/// A sink that rejects, as a whole, every batch holding one of some keys (as an ingestion endpoint
/// that validates a batch all or nothing), and keeps what it accepts.
final class PoisonSensitiveSink: RecordSink {
    let poisoned: Set<String>
    let accepted = Mutex<[SinkRecord]>([])
    let calls = Mutex(0)

    init(poisoned: Set<String>) { self.poisoned = poisoned }

    func deliver(_ batch: SinkBatch) async throws(SinkError) {
        calls.withLock { $0 += 1 }
        let bad = batch.records.map(\.key).filter(poisoned.contains)
        guard bad.isEmpty else {
            throw .permanent(reason: "HTTP 422 record \(bad.sorted().joined(separator: ",")) has an invalid attribute")
        }
        accepted.withLock { $0 += batch.records }
    }
}

@Suite("A rejected batch is narrowed down to its bad records (SPEC §9)", .timeLimit(.minutes(2)))
struct PoisonedBatchTests {
    @Test(arguments: StoreBackend.available)
    func onlyTheRejectedRecordsBecomeDeadLettersAndTheRestIsDelivered(_ backend: StoreBackend) async throws {
        let test = try await backend.makeStore()
        let store = test.store
        let ids = (0..<40).map { String(format: "00u%02d", $0) }
        // Two versions of each user: the coalesced latest must be what arrives.
        for round in 0..<2 {
            let changes = ids.map { id -> UserChange in
                let snapshot = UserSnapshot(
                    user: OktaUser(
                        id: id, status: "ACTIVE", profile: ["login": .string("\(id)@x"), "title": .string("v\(round)")])
                )
                return .upsert(snapshot: snapshot, record: UserMapper().record(for: snapshot))
            }
            _ = try await store.commit(UserWriteBatch(connector: "c", changes: changes, at: Timestamp(Date())))
        }
        let sink = PoisonSensitiveSink(poisoned: ["00u07", "00u31"])
        let forwarder = OutboxForwarder(
            connector: "c", store: store, sink: sink, clock: SystemWallClock(), logger: quietLogger, batchSize: 500)
        _ = try await forwarder.drain()

        let letters = try await store.deadLetters(connector: "c", limit: 100)
        #expect(Set(letters.map(\.userId)) == ["00u07", "00u31"])
        #expect(letters.allSatisfy { $0.reason.contains("HTTP 422 record \($0.userId) has an invalid attribute") })
        let accepted = sink.accepted.withLock { $0 }
        #expect(accepted.map(\.key).sorted() == ids.filter { !["00u07", "00u31"].contains($0) })
        #expect(Set(accepted.map(\.version)).count == 1, "the latest version of each user, once")
        #expect(accepted.allSatisfy { $0.attributesJSON?.contains("v1") == true })
        #expect(try await store.pendingOutbox(connector: "c", limit: 100).isEmpty)
        let calls = sink.calls.withLock { $0 }
        #expect(calls <= 2 * 2 * 6 + 1, "splitting costs about 2·log2(n) calls per bad record, \(calls) made")

        // Replaying the dead letters rejects the two again, and nothing else is sent again.
        #expect(try await store.replayDeadLetters(connector: "c", ids: nil, at: Timestamp(Date())) == letters.count)
        _ = try await forwarder.drain()
        #expect(Set(try await store.deadLetters(connector: "c", limit: 100).map(\.userId)) == ["00u07", "00u31"])
        #expect(sink.accepted.withLock { $0 }.count == accepted.count)
    }
}
