import ConnectorDomain
import ConnectorStore
import Foundation
import Testing

/// The store backends the contract runs against. PostgreSQL joins when its backend exists.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite

    var testDescription: String { rawValue }

    /// A fresh, empty store of this backend, and what to call when done.
    func makeStore() throws -> TestStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "okta-connector-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("state.db").path
            return TestStore(store: try SQLiteStateStore(path: path), location: path) {
                try? FileManager.default.removeItem(at: directory)
            }
        }
    }
}

/// A store under test and its clean-up.
final class TestStore: @unchecked Sendable {
    let store: any StateStore
    let location: String
    private let cleanUp: () -> Void

    init(store: any StateStore, location: String, cleanUp: @escaping () -> Void) {
        self.store = store
        self.location = location
        self.cleanUp = cleanUp
    }

    deinit { cleanUp() }
}

let connector = "okta-production"
let t0 = Timestamp(millisecondsSinceEpoch: 1_780_000_000_000)

func at(_ seconds: Int64) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + seconds * 1000)
}

/// A user snapshot and its mapped record.
func upsert(_ id: String, title: String = "Engineer", status: String = "ACTIVE", lastUpdated: Timestamp = t0)
    -> UserChange
{
    let user = OktaUser(
        id: id, status: status, lastUpdated: lastUpdated,
        profile: ["login": .string("\(id)@example.com"), "title": .string(title)])
    let snapshot = UserSnapshot(user: user)
    return .upsert(snapshot: snapshot, record: UserMapper().record(for: snapshot))
}

func event(_ uuid: String, user: String = "00u1", published: Timestamp, type: String = "user.lifecycle.activate")
    -> InboxEvent
{
    InboxEvent(
        uuid: uuid, eventType: type, subjectUserId: user, published: published,
        payloadJSON: #"{"uuid":"\#(uuid)"}"#)
}
