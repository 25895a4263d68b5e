import ConnectorDomain
import Foundation
import Testing

/// Inputs the fuzzers found (Fuzz/corpus/*/regression-*), kept as tests.
@Suite struct FuzzRegressionTests {
    /// Years before 1000 were formatted with fewer than four digits and did not parse back. The
    /// fuzzer's input (`regression-year-0147`) names the wrong weekday (6 Nov 147 was a Monday in the
    /// proleptic Gregorian calendar); the parser ignores the weekday, as RFC 9110 allows.
    @Test(arguments: [
        "Sun, 06 Nov 0147 08:49:37 GMT", "Mon, 06 Nov 0147 08:49:37 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ])
    func anHTTPDateOfAnyFourDigitYearFormatsAndParsesBack(_ text: String) throws {
        let date = try #require(HTTPDate.parse(text))
        #expect(HTTPDate.parse(HTTPDate.format(date)) == date)
        #expect(HTTPDate.format(date).dropFirst(5) == text.dropFirst(5), "four-digit year, same date and time")
    }

    @Test func theFormattedWeekdayIsTheDatesOwn() throws {
        let date = try #require(HTTPDate.parse("Sun, 06 Nov 0147 08:49:37 GMT"))
        #expect(HTTPDate.format(date) == "Mon, 06 Nov 0147 08:49:37 GMT")
    }
}
