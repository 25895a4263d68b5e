import ConnectorDomain
import Foundation
import Testing

/// Values from outside never trap and never stall the process (SPEC §12, §15).
@Suite("Hostile header values are parsed defensively and clamped")
struct HeaderValuesTests {
    static let now = Timestamp.parse("2026-06-01T12:00:00Z")!.date
    static let hostileNumbers = [
        "-5", "-99999999999999999999", "99999999999999999999", "1e308", "-1e308", "1e309", "nan", "NaN", "inf",
        "-inf", "infinity", "0x1p10", "garbage", "", " ", "12abc", "1.5.5", "١٢", String(repeating: "9", count: 5000),
    ]

    @Test(
        arguments: HeaderValuesTests.hostileNumbers + [
            "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
        ])
    func retryAfterIsNeverOutsideZeroToAnHour(_ text: String) {
        for date in [nil, Self.now, Date(timeIntervalSince1970: 0), HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT")] {
            if let wait = HeaderValues.retryAfter(text, now: Self.now, responseDate: date) {
                #expect(wait.value >= 0 && wait.value <= HeaderValues.maximumRetryAfter, "\(text)")
                #expect(wait.value.isFinite)
            }
        }
    }

    @Test(arguments: [
        ("7", 7.0, false), (" 120 ", 120, false), ("0", 0, false), ("007", 7, false),
        ("99999999999999999999", 3600, true), ("3601", 3600, true),
        ("Mon, 01 Jun 2026 12:00:30 GMT", 30, false), ("Mon, 01 Jun 2026 11:00:00 GMT", 0, true),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 3600, true),
    ])
    func retryAfterReadsDeltaSecondsAndHTTPDates(_ text: String, _ seconds: Double, _ clamped: Bool) {
        let wait = HeaderValues.retryAfter(text, now: Self.now, responseDate: nil)
        #expect(wait == HeaderValues.Clamped(seconds, wasClamped: clamped), "\(text)")
    }

    /// RFC 9110 §10.2.3: delta-seconds are digits only; anything else is not a `Retry-After` and the
    /// sender's own backoff applies (it is not a number clamped to the longest wait).
    @Test(arguments: [
        "nan", "inf", "-inf", "garbage", "", "0x10", "Thu, 99 Foo 2026 99:99:99 GMT", "1e400", "1e308", "1E2",
        "soon", "-5", "+5", "1.5", "١٢", "5 s", "infinity",
    ])
    func unusableRetryAfterIsIgnored(_ text: String) {
        #expect(HeaderValues.retryAfter(text, now: Self.now, responseDate: nil) == nil)
        #expect(HeaderValues.retryAfter(nil, now: Self.now, responseDate: nil) == nil)
    }

    @Test func anHTTPDateRetryAfterIsMeasuredAgainstTheResponseDate() {
        // The sink's clock is a day ahead of ours: the wait is 20 s, not a day and 20 s.
        let sinkDate = Self.now.addingTimeInterval(86_400)
        let wait = HeaderValues.retryAfter(
            HTTPDate.format(sinkDate.addingTimeInterval(20)), now: Self.now, responseDate: sinkDate)
        #expect(wait == HeaderValues.Clamped(20))
    }

    @Test(arguments: HeaderValuesTests.hostileNumbers + ["1598552424", "-1598552424", "253402300799", "0"])
    func rateLimitResetWaitsAreBounded(_ text: String) {
        for date in [nil, Self.now, Date(timeIntervalSince1970: 0), HTTPDate.parse("Fri, 31 Dec 9999 23:59:59 GMT")] {
            if let wait = HeaderValues.rateLimitResetWait(text, now: Self.now, responseDate: date) {
                #expect(wait.value >= 0 && wait.value <= HeaderValues.maximumResetWait, "\(text)")
            }
        }
    }

    @Test func aResetIsTheDistanceFromOktasDate() {
        let oktaDate = Self.now.addingTimeInterval(-7200)
        let reset = String(Int64(oktaDate.timeIntervalSince1970) + 42)
        #expect(HeaderValues.rateLimitResetWait(reset, now: Self.now, responseDate: oktaDate) == .init(42))
        let farFuture = String(Int64(oktaDate.timeIntervalSince1970) + 86_400 * 365)
        #expect(
            HeaderValues.rateLimitResetWait(farFuture, now: Self.now, responseDate: oktaDate)
                == .init(HeaderValues.maximumResetWait, wasClamped: true))
        #expect(
            HeaderValues.rateLimitResetWait("1", now: Self.now, responseDate: oktaDate) == .init(0, wasClamped: true))
    }

    @Test(arguments: HeaderValuesTests.hostileNumbers + ["600", "0", "1.5", "1000001"])
    func rateLimitCountsAreNonNegativeAndBounded(_ text: String) {
        if let count = HeaderValues.rateLimitCount(text) {
            #expect(count.value >= 0 && count.value <= HeaderValues.maximumCount, "\(text)")
        }
        #expect(HeaderValues.rateLimitCount("600") == .init(600))
        #expect(HeaderValues.rateLimitCount("-1") == nil)
        #expect(HeaderValues.rateLimitCount("1.5") == nil)
        #expect(HeaderValues.rateLimitCount("1e300") == .init(HeaderValues.maximumCount, wasClamped: true))
    }

    @Test(arguments: [nil, -1, 0, 3600, 1e308, -1e308, .nan, .infinity] as [Double?])
    func tokenLifetimesAreBounded(_ expiresIn: Double?) {
        let lifetime = HeaderValues.tokenLifetime(expiresIn).value
        #expect(lifetime >= 0 && lifetime <= HeaderValues.maximumTokenLifetime)
        if expiresIn == nil { #expect(lifetime == 3600) }
    }

    @Test(arguments: [
        "Thu, 27 Aug 2020 18:19:24 GMT", "Thu, 99 Aug 2020 18:19:24 GMT", "Thu, 27 Aug 99999999999 18:19:24 GMT",
        "Thu, 27 Aug 2020 99:99:99 GMT", "Thu, 27 Aug 2020 18:19 GMT", "Thu, 27 Aug 2020 18:19:24 PST",
        "Thu, 27 Aug -2020 18:19:24 GMT", "Thu, -1 Aug 2020 18:19:24 GMT", "Thu, 31 Feb 2020 18:19:24 GMT",
        "Thu, 27 Aug 2020 -1:-1:-1 GMT", "Thu, 27 Aug 9223372036854775807 18:19:24 GMT", "", "garbage",
    ])
    func hostileHTTPDatesParseOrAreRejectedWithoutTrapping(_ text: String) {
        let date = HTTPDate.parse(text)
        if text == "Thu, 27 Aug 2020 18:19:24 GMT" {
            #expect(date == Date(timeIntervalSince1970: 1_598_552_364))
        } else {
            #expect(date == nil, "\(text)")
        }
    }

    /// Seconds since 1970 (not `Date`s: Foundation's own `Date.description` traps on the extreme ones).
    @Test(arguments: [
        Date.distantFuture.timeIntervalSince1970, Date.distantPast.timeIntervalSince1970, 1e300, -1e300, .infinity,
        -.infinity, .nan, 9.3e15,
    ])
    func extremeInstantsFormatWithoutTrapping(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(!HTTPDate.format(date).isEmpty)
        #expect(!Timestamp(date).iso8601.isEmpty)
        #expect(Timestamp(date) <= Timestamp(millisecondsSinceEpoch: 253_402_300_799_999))
    }

    @Test func saturatingConversionNeverTraps() {
        #expect(Int64(saturating: 1e308) == .max)
        #expect(Int64(saturating: -1e308) == .min)
        #expect(Int64(saturating: .infinity) == .max)
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int64(saturating: 42.9) == 42)
        #expect(Int64(saturating: 0x1p63) == .max)
        #expect(Int64(saturating: 9_223_372_036_854_774_784 as Double) == 9_223_372_036_854_774_784)
    }
}
