import ConnectorDomain
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import PostgreSQLStore
import PostgresNIO
import SQLiteStore
import Testing

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
