import ConnectorDomain
public import Foundation

/// One change for the sink: an upsert with the record's attributes, or a delete (SPEC §9).
public struct SinkRecord: Sendable, Hashable {
    /// `upsert` or `delete`.
    public var operation: String
    /// The Okta user id.
    public var key: String
    /// The per-user version; only grows, so the sink can ignore stale re-sends.
    public var version: Int64
    /// Canonical JSON of the attributes, for upserts.
    public var attributesJSON: String?

    /// Creates a record.
    public init(operation: String, key: String, version: Int64, attributesJSON: String?) {
        self.operation = operation
        self.key = key
        self.version = version
        self.attributesJSON = attributesJSON
    }

    /// The record as one JSON object: `{"op","key","version","attributes"}`.
    public var json: String {
        var text = "{\"op\":\"\(operation)\",\"key\":" + CanonicalJSON.string(.string(key)) + ",\"version\":\(version)"
        if let attributesJSON { text += ",\"attributes\":" + attributesJSON }
        return text + "}"
    }
}

/// A batch handed to a sink; its id is the idempotency key of the delivery.
public struct SinkBatch: Sendable, Hashable {
    public var connector: String
    public var batchId: String
    public var records: [SinkRecord]

    /// Creates a batch.
    public init(connector: String, batchId: String, records: [SinkRecord]) {
        self.connector = connector
        self.batchId = batchId
        self.records = records
    }
}

/// Why a sink did not take a batch.
public enum SinkError: Error, Sendable, CustomStringConvertible {
    /// Worth retrying later (`408`, `429`, `5xx`, timeouts, connection errors), after at least `retryAfter`.
    case retryable(reason: String, retryAfter: TimeInterval?)
    /// Rejected for good (other `4xx`): the batch goes to the dead letters.
    case permanent(reason: String)
    /// The sink refuses the connector's credentials (`401` after a fresh token, `403`, or the token
    /// endpoint refusing the client). Not the records' fault: they stay queued and are retried slowly
    /// until the configuration is fixed.
    case credentialsRejected(reason: String)

    /// Whether the batch stays queued for another attempt.
    public var isRetryable: Bool {
        if case .permanent = self { return false }
        return true
    }

    /// The wait the sink asked for, if any.
    public var retryAfter: TimeInterval? {
        switch self {
        case .retryable(_, let retryAfter): return retryAfter
        case .credentialsRejected: return SinkError.credentialsRetryInterval
        case .permanent: return nil
        }
    }

    /// How often rejected credentials are tried again: slowly, since only an operator can fix them.
    public static let credentialsRetryInterval: TimeInterval = 60

    public var description: String {
        switch self {
        case .retryable(let reason, _): return "retryable: \(reason)"
        case .permanent(let reason): return "rejected: \(reason)"
        case .credentialsRejected(let reason): return "sink rejects credentials: \(reason)"
        }
    }
}

/// Where mapped records go (SPEC §9): the Neurons HTTP endpoint, CSV snapshots, or NDJSON.
public protocol RecordSink: Sendable {
    /// Delivers a batch; returns once the sink has accepted all of it.
    func deliver(_ batch: SinkBatch) async throws(SinkError)
}
