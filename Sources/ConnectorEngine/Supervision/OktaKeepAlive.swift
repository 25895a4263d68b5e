public import ConnectorDomain
public import ConnectorStore
public import Foundation
public import Logging
public import OktaClient
public import ServiceLifecycle
import Synchronization

/// Keeps a connector's Okta credentials alive and their state known (SPEC §19). An API token expires
/// after 30 days without use: when no call of the connector was accepted for a day (in any replica:
/// the store keeps the time), one cheap authenticated call is made, also while the connector is
/// inactive. Each minute it records in the store when Okta last accepted the connector's calls and,
/// when Okta refuses them, which credential and why, for `status`, the console and the API.
public final class OktaKeepAlive: Service, Sendable {
    let connector: String
    /// What the credential is, for operators: `API token (SSWS)`, `OAuth 2.0 service app …`.
    let credential: String
    let okta: any OktaDirectory
    let store: any StateStore
    let clock: any WallClock
    let logger: Logger
    /// How often the state is recorded (and a paused credential probed).
    let interval: TimeInterval
    /// The longest the credentials go without an accepted call.
    let maximumIdle: TimeInterval
    private let recorded = Mutex<(accepted: Date?, rejection: String?, clock: OktaClockOffset?)>((nil, nil, nil))

    /// Creates the service.
    public init(
        connector: String, credential: String, okta: any OktaDirectory, store: any StateStore, clock: any WallClock,
        logger: Logger, interval: TimeInterval = 60, maximumIdle: TimeInterval = 86_400
    ) {
        self.connector = connector
        self.credential = credential
        self.okta = okta
        self.store = store
        self.clock = clock
        self.logger = logger
        self.interval = interval
        self.maximumIdle = maximumIdle
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // A round ends at shutdown too: a keep-alive call retrying an unreachable Okta must not
            // hold the connector's stop (its parts stop in turn, this one first).
            try? await cancelWhenGracefulShutdown {
                await self.tick()
                try await self.clock.sleep(seconds: self.interval)
            }
        }
    }

    /// One round: record what this process's calls learnt; probe when idle for a day or paused.
    func tick() async {
        do {
            let stored = try await store.oktaContact(connector: connector)
            let lastAccepted = [okta.lastAcceptedCall, stored?.lastAcceptedAt?.date].compactMap { $0 }.max()
            let idle = lastAccepted.map { clock.now.timeIntervalSince($0) >= maximumIdle } ?? true
            if idle || okta.pause.current != nil { await probe() }
            try await record()
            try await recordClock()
        } catch {
            logger.warning(
                "cannot record Okta's answer to the credentials; trying again", metadata: ["error": "\(error)"])
        }
    }

    private func probe() async {
        do {
            try await okta.probeCredentials()
            logger.info("Okta accepted the credentials (keep-alive call)")
        } catch OktaError.credentialsRejected {
            // Held by the pause until its next probe minute: nothing new to learn.
        } catch {
            // A refused credential engages the pause, which ``record()`` writes down; anything else
            // (Okta unreachable) is tried again at the next round.
            logger.warning(
                "the keep-alive call to Okta failed", metadata: ["credential": "\(credential)", "error": "\(error)"])
        }
    }

    /// Writes a newer acceptance, or the pause's reason, when they changed.
    private func record() async throws {
        let accepted = okta.lastAcceptedCall
        let pause = okta.pause.current.map { "\(credential): \($0.reason)" }
        let (newAcceptance, newRejection) = recorded.withLock { state -> (Bool, Bool) in
            let newer = accepted.map { date in state.accepted.map { date.timeIntervalSince($0) >= interval } ?? true }
            return (newer ?? false, pause != nil && pause != state.rejection)
        }
        guard newAcceptance || newRejection else { return }
        try await store.recordOktaContact(
            connector: connector, acceptedAt: newAcceptance ? accepted.map(Timestamp.init) : nil,
            rejection: newRejection ? pause.map { OktaRejection(at: Timestamp(clock.now), reason: $0) } : nil)
        recorded.withLock { state in
            if newAcceptance { state.accepted = accepted }
            if newRejection { state.rejection = pause }
        }
    }

    /// Writes Okta's clock offset (SPEC §20) when it moved by a second or more, or every ten minutes,
    /// so that `status`, which reads only the store, corrects lags by it.
    private func recordClock() async throws {
        guard let seconds = okta.clockOffset else { return }
        let now = Timestamp(clock.now)
        let due = recorded.withLock { state -> Bool in
            guard let last = state.clock else { return true }
            return abs(last.seconds - seconds) >= 1
                || now.millisecondsSinceEpoch - last.measuredAt.millisecondsSinceEpoch >= 600_000
        }
        guard due else { return }
        let offset = OktaClockOffset(seconds: seconds, measuredAt: now)
        try await store.recordOktaClock(connector: connector, offset: offset)
        recorded.withLock { $0.clock = offset }
        if let summary = offset.summary {
            logger.notice("\(summary)", metadata: ["offset_s": "\((seconds * 10).rounded() / 10)"])
        }
    }
}
