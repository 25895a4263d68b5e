import ConnectorDomain
import Foundation
import Testing

/// Inputs the fuzzers found (Fuzz/corpus/*/regression-*), kept as tests.
@Suite struct FuzzRegressionTests {
    @Test(arguments: [
        "Sun, 06 Nov 0147 08:49:37 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
    ])
    func anHTTPDateOfAnyFourDigitYearFormatsAndParsesBack(_ text: String) throws {
        let date = try #require(HTTPDate.parse(text))
        #expect(HTTPDate.format(date) == text)
        #expect(HTTPDate.parse(HTTPDate.format(date)) == date)
    }
}
