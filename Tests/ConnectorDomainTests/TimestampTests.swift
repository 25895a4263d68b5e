import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Testing

@Suite("Timestamps")
struct TimestampTests {
    @Test func parsesOktaFormatWithMilliseconds() {
        let value = Timestamp.parse("2020-08-27T18:19:24.123Z")
        #expect(value?.millisecondsSinceEpoch == 1_598_552_364_123)
        #expect(value?.iso8601 == "2020-08-27T18:19:24.123Z")
    }

    @Test func parsesWithoutFractionAndWithOffsets() {
        #expect(Timestamp.parse("2020-08-27T18:19:24Z")?.iso8601 == "2020-08-27T18:19:24.000Z")
        #expect(Timestamp.parse("2020-08-27T20:19:24.5+02:00")?.iso8601 == "2020-08-27T18:19:24.500Z")
        #expect(Timestamp.parse("2020-08-27T18:19:24.123456789Z")?.iso8601 == "2020-08-27T18:19:24.123Z")
        #expect(Timestamp.parse("1969-12-31T23:59:59.999Z")?.millisecondsSinceEpoch == -1)
        #expect(Timestamp.parse("1969-12-31T23:59:59.999Z")?.iso8601 == "1969-12-31T23:59:59.999Z")
    }

    @Test(arguments: [
        "", "2020-08-27", "2020-13-01T00:00:00Z", "2021-02-29T00:00:00Z", "2020-08-27T18:19:24", "null",
        "2020-08-27T18:19:24.Z", "2020-08-27T24:00:00Z",
    ])
    func rejectsMalformedText(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func roundTripsThroughDate() {
        let value = Timestamp(millisecondsSinceEpoch: 1_700_000_000_123)
        #expect(Timestamp(value.date) == value)
    }
}
