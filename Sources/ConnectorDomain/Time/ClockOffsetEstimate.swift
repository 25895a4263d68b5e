public import Foundation
import Synchronization

/// How far a server's clock is from the local one, from the `Date` header of its answers (SPEC §20).
///
/// `Date` has a resolution of one second and is set somewhere between sending the request and
/// receiving the answer: one sample is the header's middle of its second minus the middle of the
/// call on the local clock, so a sample is off by up to half a second plus half the round trip.
/// As NTP does, the estimate trusts the calls with the shortest round trips: the median of the
/// third of the last samples that took least time, which a slow answer (a loaded host, a queue at
/// Okta) does not move.
public final class ClockOffsetEstimate: Sendable {
    private let samples = Mutex<[(offset: Double, roundTrip: Double)]>([])
    /// Samples kept.
    public static let window = 15
    /// The largest offset taken as a clock's (a day).
    public static let plausible: Double = 86_400

    /// An estimate without samples.
    public init() {}

    /// Adds one call's sample.
    /// - Parameters:
    ///   - serverDate: The answer's `Date` header, parsed.
    ///   - sentAt: When the request left, on the local clock.
    ///   - receivedAt: When the answer's headers arrived, on the local clock.
    public func record(serverDate: Date, sentAt: Date, receivedAt: Date) {
        let roundTrip = max(0, receivedAt.timeIntervalSince(sentAt))
        let middle = sentAt.addingTimeInterval(roundTrip / 2)
        let sample = serverDate.addingTimeInterval(0.5).timeIntervalSince(middle)
        // A `Date` a day or more away is not a clock that drifted but an answer that is wrong (a
        // proxy's, a test server's): it is left out rather than shift every lag and the System
        // Log's start by it.
        guard sample.isFinite, roundTrip.isFinite, abs(sample) < Self.plausible else { return }
        samples.withLock { samples in
            samples.append((sample, roundTrip))
            if samples.count > Self.window { samples.removeFirst(samples.count - Self.window) }
        }
    }

    /// The server's clock minus the local one, in seconds; `nil` before the first sample.
    public var seconds: Double? {
        let all = samples.withLock { $0 }
        guard !all.isEmpty else { return nil }
        let quickest = all.sorted { $0.roundTrip < $1.roundTrip }.prefix(max(1, (all.count + 2) / 3))
        let sorted = quickest.map(\.offset).sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
