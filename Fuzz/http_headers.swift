// libFuzzer target: the HTTP date and the rate-limit and Retry-After header parsers (every Okta and
// sink answer is input). Built by scripts/fuzz.sh with Sources/ConnectorDomain/Time/HTTPDate.swift
// and Sources/ConnectorDomain/Time/HeaderValues.swift.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaders(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    let now = Date(timeIntervalSince1970: 1_780_000_000)
    if let date = HTTPDate.parse(text) {
        // A parsed date formats and parses back to the same second.
        let again = HTTPDate.parse(HTTPDate.format(date))
        precondition(again.map { abs($0.timeIntervalSince(date)) < 1 } ?? false, "HTTP date does not round-trip")
    }
    // `1e309` reads as infinity (the fuzzer's first find, now a seed): the callers clamp it, so only
    // NaN is ruled out here.
    if let number = HeaderValues.number(text) { precondition(!number.isNaN, "NaN read as a number") }
    if let wait = HeaderValues.retryAfter(text, now: now, responseDate: HTTPDate.parse(text)) {
        precondition(wait.value >= 0 && wait.value <= HeaderValues.maximumRetryAfter, "Retry-After out of bounds")
    }
    if let reset = HeaderValues.rateLimitResetWait(text, now: now, responseDate: nil) {
        precondition(reset.value >= 0 && reset.value <= HeaderValues.maximumResetWait, "reset wait out of bounds")
    }
    if let count = HeaderValues.rateLimitCount(text) {
        precondition(count.value >= 0 && count.value <= HeaderValues.maximumCount, "count out of bounds")
    }
    let lifetime = HeaderValues.tokenLifetime(HeaderValues.number(text))
    precondition(lifetime.value >= 0 && lifetime.value <= HeaderValues.maximumTokenLifetime, "lifetime out of bounds")
    return 0
}
