public import ConnectorDomain

/// Who gets a connector's run lease, shared by the backends: the lease is free when it lapsed, when
/// the claimant already holds it, or when its holder's process is gone (on this host).
public enum RunLeaseDecision {
    /// Decides a claim on the lease as stored.
    /// - Parameters:
    ///   - current: The stored lease, if any.
    ///   - claimant: The process asking for it.
    ///   - at: Now.
    /// - Returns: ``RunLeaseAcquisition/acquired`` when the claimant may write the lease as its own
    ///   (with its new times), else ``RunLeaseAcquisition/held(_:)`` with the lease that stays.
    public static func claim(current: RunLease?, by claimant: ProcessIdentity, at: Timestamp) -> RunLeaseAcquisition {
        guard let current else { return .acquired }
        let free =
            current.expiresAt <= at || current.holder == claimant.description
            || claimant.considersGone(current.holderIdentity)
        return free ? .acquired : .held(current)
    }
}

/// Who gets a connector's worker lease, shared by the backends: its holder renews it with the same
/// epoch; anyone else takes it, with the next epoch (the fencing token), once it lapsed or its
/// holder's process is gone (on this host); otherwise it stays as it is.
public enum WorkerLeaseDecision: Sendable, Hashable {
    /// The claimant holds this lease now: the backend writes it.
    case granted(WorkerLease)
    /// Another holder keeps this lease: nothing is written.
    case heldByAnother(WorkerLease)

    /// The lease the claim leaves in place, what ``StateStore/claimWorkerLease(connector:holder:at:expiresAt:)``
    /// answers.
    public var lease: WorkerLease {
        switch self {
        case .granted(let lease), .heldByAnother(let lease): return lease
        }
    }

    /// Decides a claim on the lease as stored.
    /// - Parameters:
    ///   - current: The stored lease; `nil` (or a never-held placeholder of epoch 0) for a connector
    ///     whose lease was never taken, whose first holder gets epoch 1.
    ///   - connector: The connector.
    ///   - holder: The claimant (`host pid incarnation`).
    ///   - at: Now.
    ///   - expiresAt: When the claimant's lease lapses unless renewed.
    public static func claim(
        current: WorkerLease?, connector: String, by holder: String, at: Timestamp, expiresAt: Timestamp
    ) -> WorkerLeaseDecision {
        let epoch: Int64
        if let current {
            let mine = current.holder == holder
            let claimant = ProcessIdentity(description: holder)
            let free =
                current.expiresAt <= at || (claimant.map { $0.considersGone(current.holderIdentity) } ?? false)
            guard mine || free else { return .heldByAnother(current) }
            epoch = mine ? current.epoch : current.epoch + 1
        } else {
            epoch = 1
        }
        return .granted(WorkerLease(connector: connector, holder: holder, epoch: epoch, expiresAt: expiresAt))
    }
}
