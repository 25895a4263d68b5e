public import ConnectorDomain
import Foundation

/// The rows of the enrichment staging table as both stores write and read them: `(user id, kind,
/// payload JSON)`, kind `app`, `device` or `group`. An app's or a group's payload is the same for
/// every user assigned to it, so each distinct value is encoded once per call and each distinct
/// payload decoded once: a bulk reconcile stages and reads back one row per assignment or
/// membership, thousands per app or group.
public enum EnrichmentStagingRows {
    /// The rows for some apps, devices and groups of users.
    public static func encode(
        apps: [(userId: String, app: AssignedApp)], devices: [(userId: String, device: DeviceSummary)],
        groups: [(userId: String, group: GroupMembership)] = []
    ) throws -> [(userId: String, kind: String, payload: String)] {
        let encoder = JSONCoding.encoder()
        var appPayloads: [AssignedApp: String] = [:]
        var groupPayloads: [GroupMembership: String] = [:]
        var rows: [(userId: String, kind: String, payload: String)] = []
        rows.reserveCapacity(apps.count + devices.count + groups.count)
        for (userId, app) in apps {
            rows.append((userId, "app", try encoded(app, memo: &appPayloads, encoder: encoder)))
        }
        for (userId, group) in groups {
            rows.append((userId, "group", try encoded(group, memo: &groupPayloads, encoder: encoder)))
        }
        for (userId, device) in devices {
            rows.append((userId, "device", String(decoding: try encoder.encode(device), as: UTF8.self)))
        }
        return rows
    }

    /// Reads rows back, in their order, per user.
    /// - Throws: ``StoreError/corruptRow(table:key:reason:)`` for a payload that does not decode.
    public static func decode(_ rows: [(userId: String, kind: String, payload: String)], runId: Int64) throws
        -> [String: StagedEnrichment]
    {
        var apps: [String: AssignedApp] = [:]
        var devices: [String: DeviceSummary] = [:]
        var groups: [String: GroupMembership] = [:]
        var staged: [String: StagedEnrichment] = [:]
        for (userId, kind, payload) in rows {
            do {
                if kind == "app" {
                    staged[userId, default: StagedEnrichment()].apps.append(try decoded(payload, memo: &apps))
                } else if kind == "group" {
                    staged[userId, default: StagedEnrichment()].groups.append(try decoded(payload, memo: &groups))
                } else {
                    staged[userId, default: StagedEnrichment()].devices.append(try decoded(payload, memo: &devices))
                }
            } catch {
                throw StoreError.corruptRow(table: "enrichment_staging", key: "\(runId)/\(userId)", reason: "\(error)")
            }
        }
        return staged
    }

    /// A value encoded once: the same app or group is staged for many users.
    static func encoded<Value: Encodable & Hashable>(
        _ value: Value, memo: inout [Value: String], encoder: JSONEncoder
    ) throws -> String {
        if let known = memo[value] { return known }
        let payload = String(decoding: try encoder.encode(value), as: UTF8.self)
        memo[value] = payload
        return payload
    }

    /// A payload decoded once: the same app or device is staged for many users.
    static func decoded<Value: Decodable>(_ payload: String, memo: inout [String: Value]) throws -> Value {
        if let known = memo[payload] { return known }
        let value = try JSONCoding.decode(Value.self, from: payload)
        memo[payload] = value
        return value
    }
}
