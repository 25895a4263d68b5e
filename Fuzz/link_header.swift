// libFuzzer target: the `Link` header parser (Okta's pagination; the next-page URL is followed).
// Built by scripts/fuzz.sh together with Sources/OktaClient/LinkHeader.swift.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLinkHeader(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    // One header line, or several lines as a client that does not join them hands them over.
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for relation in ["next", "self", ""] {
        for values in [[text], lines] {
            if let url = LinkHeader.url(rel: relation, in: values) {
                // Whatever is returned was between < and > in the input: never made up.
                precondition(values.contains { $0.contains("<\(url)>") }, "link not taken from the input")
            }
        }
    }
    return 0
}
