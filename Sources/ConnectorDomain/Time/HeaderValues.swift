public import Foundation

/// Waits, instants and counts read from outside the process (Okta's and the sink's headers and
/// bodies), parsed defensively and clamped in this one place, so that no value from outside can trap
/// the process or stall it for ever (SPEC §12, §15).
///
/// Every parser accepts any text: garbage, empty text, `nan`, `inf`, negative numbers, numbers of
/// any size. Nothing here converts an unchecked `Double` to an integer or builds a `Duration` from
/// one; callers wait with the clamped `TimeInterval`s this returns.
public enum HeaderValues {
    /// The longest wait a `Retry-After` can impose: one hour. Longer values are clamped (and
    /// reported as clamped); the outbox keeps the records meanwhile (SPEC §9).
    public static let maximumRetryAfter: TimeInterval = 3600

    /// The longest wait for an Okta rate-limit reset: Okta's windows are about 60 s (SPEC §16), so a
    /// reset more than two minutes past that is a broken header or a broken clock, not a window.
    public static let maximumResetWait: TimeInterval = 180

    /// The longest an access token is trusted without asking for a new one (Okta and Neurons tokens
    /// last an hour).
    public static let maximumTokenLifetime: TimeInterval = 86_400

    /// The largest rate-limit count believed; larger counts are clamped.
    public static let maximumCount = 1_000_000

    /// A value after clamping, and whether clamping changed it (worth a log line).
    public struct Clamped<Value: Sendable & Equatable>: Sendable, Equatable {
        /// The value, within its bounds.
        public var value: Value
        /// Whether the value read was outside the bounds.
        public var wasClamped: Bool

        /// Creates a clamped value.
        /// - Parameters:
        ///   - value: The value, within bounds.
        ///   - wasClamped: Whether the value read was outside the bounds.
        public init(_ value: Value, wasClamped: Bool = false) {
            self.value = value
            self.wasClamped = wasClamped
        }
    }

    /// A number of seconds within `0...maximum`.
    /// - Parameters:
    ///   - seconds: Any number, possibly not finite.
    ///   - maximum: The upper bound.
    /// - Returns: The seconds within bounds, or `nil` for NaN.
    public static func seconds(_ seconds: Double, maximum: TimeInterval) -> Clamped<TimeInterval>? {
        if seconds.isNaN { return nil }
        if seconds < 0 { return Clamped(0, wasClamped: true) }
        if seconds > maximum { return Clamped(maximum, wasClamped: true) }
        return Clamped(seconds)
    }

    /// Parses a number written as digits, an optional sign and fraction, or an exponent; `nil` for
    /// anything else (including `nan`, `inf` and hexadecimal, which `Double.init` would accept).
    /// - Parameter text: The text, surrounding spaces ignored.
    /// - Returns: The number, possibly huge or infinite when the digits overflow a `Double`
    ///   (clamping is the caller's); never NaN.
    public static func number(_ text: some StringProtocol) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty,
            trimmed.utf8.allSatisfy({
                ($0 >= 48 && $0 <= 57) || $0 == 43 || $0 == 45 || $0 == 46 || $0 == 101 || $0 == 69
            }),
            let value = Double(trimmed), !value.isNaN
        else { return nil }
        return value
    }

    /// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP date, as the wait it asks for.
    ///
    /// Delta-seconds are digits only (`1*DIGIT`): a sign, a fraction, an exponent (`1e400`), `inf`
    /// or a word (`soon`) is not a `Retry-After`, and is ignored so that the sender's own backoff
    /// applies, instead of being read as a number and clamped to the longest wait. An HTTP date is
    /// measured against the response's `Date` when it has a valid one (the two come from the same
    /// clock), else against the local clock.
    /// - Parameters:
    ///   - text: The header's value, if any.
    ///   - now: The local time.
    ///   - responseDate: The response's `Date`, already parsed.
    /// - Returns: The wait within `0...maximumRetryAfter`, or `nil` when there is no usable value.
    public static func retryAfter(_ text: String?, now: Date, responseDate: Date?) -> Clamped<TimeInterval>? {
        guard let text else { return nil }
        if let delta = deltaSeconds(text) { return seconds(delta, maximum: maximumRetryAfter) }
        guard let date = HTTPDate.parse(text.trimmingCharacters(in: .whitespaces)) else { return nil }
        return seconds(date.timeIntervalSince(responseDate ?? now), maximum: maximumRetryAfter)
    }

    /// RFC 9110's `delta-seconds`: one or more ASCII digits, surrounding spaces ignored.
    /// - Parameter text: The text.
    /// - Returns: The number (possibly huge, never infinite: clamping is the caller's), or `nil` for
    ///   anything that is not only digits.
    static func deltaSeconds(_ text: some StringProtocol) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        // Digits beyond what an hour needs say the same as an hour; a very long run of digits is
        // never handed to `Double` whole.
        let significant = trimmed.drop { $0 == "0" }
        if significant.utf8.count > 18 { return Double(Int64.max) }
        return significant.isEmpty ? 0 : Double(significant)
    }

    /// `X-Rate-Limit-Limit` or `X-Rate-Limit-Remaining`: a non-negative count.
    /// - Parameter text: The header's value, if any.
    /// - Returns: The count within `0...maximumCount`, or `nil` for garbage and negative counts.
    public static func rateLimitCount(_ text: String?) -> Clamped<Int>? {
        guard let text, let value = number(text), value >= 0, value == value.rounded() else { return nil }
        if value > Double(maximumCount) { return Clamped(maximumCount, wasClamped: true) }
        return Clamped(Int(value))
    }

    /// `X-Rate-Limit-Reset` (UTC epoch seconds) as the wait until the reset, measured against the
    /// response's `Date` when it has one, since Okta's clock and ours differ (SPEC §16).
    /// - Parameters:
    ///   - text: The header's value, if any.
    ///   - now: The local time.
    ///   - responseDate: The response's `Date`, already parsed.
    /// - Returns: The wait within `0...maximumResetWait`, or `nil` when there is no usable value.
    public static func rateLimitResetWait(_ text: String?, now: Date, responseDate: Date?) -> Clamped<TimeInterval>? {
        guard let text, let reset = number(text) else { return nil }
        return seconds(reset - (responseDate ?? now).timeIntervalSince1970, maximum: maximumResetWait)
    }

    /// An OAuth `expires_in` as the token's lifetime: absent means an hour (Okta's and Neurons'
    /// default), anything else is clamped to `0...maximumTokenLifetime`.
    /// - Parameter expiresIn: The decoded `expires_in`, if any.
    /// - Returns: The lifetime in seconds.
    public static func tokenLifetime(_ expiresIn: Double?) -> Clamped<TimeInterval> {
        guard let expiresIn else { return Clamped(3600) }
        return seconds(expiresIn, maximum: maximumTokenLifetime) ?? Clamped(0, wasClamped: true)
    }
}

extension Int64 {
    /// Converts a floating-point number, saturating at `Int64.min` and `Int64.max` instead of
    /// trapping; NaN becomes 0. Rounds toward zero, as `Int64(_:)` does.
    /// - Parameter value: Any number.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 0x1p63 {  // 2^63, the first value past Int64.max
            self = .max
        } else if value <= -0x1p63 {
            self = .min
        } else {
            self.init(value)
        }
    }
}
