// libFuzzer target: the raw reader of `GET /api/v1/users` pages (the reconcile's fast path), which
// reads Okta's answers byte by byte. Built by scripts/fuzz.sh with the domain files it needs.
// Properties: never a crash; every located object lies inside the page; whenever the direct reader
// reads a user, `JSONDecoder` reads exactly the same user from the same bytes; the `id` and `status`
// the scanner took for the digest are the decoded user's; the ids `OktaPageIds` reads from a page of
// valid UTF-8 are those `JSONDecoder` reads.
import Foundation

struct IdOnly: Decodable { let id: String }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUserPage(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: bytes, count: count))
    if let ids = try? OktaPageIds.read(input), String(validating: input, as: UTF8.self) != nil {
        let decoded = try? JSONCoding.decoder().decode([IdOnly].self, from: Data(input)).map(\.id)
        precondition(decoded == ids, "OktaPageIds read \(ids), JSONDecoder \(String(describing: decoded))")
    }
    guard let page = try? OktaUserPage(parsing: input) else { return 0 }
    for index in page.users.indices {
        let raw = page.users[index]
        precondition(raw.range.lowerBound >= 0 && raw.range.upperBound <= input.count, "an object outside the page")
        let decoded = try? JSONCoding.decoder().decode(OktaUser.self, from: Data(page.rawObject(at: index)))
        if page.readsDirectly(at: index) {
            precondition(decoded != nil, "the direct reader read a user JSONDecoder refuses")
            precondition((try? page.decodeUser(at: index)) == decoded, "the direct reader differs from JSONDecoder")
        }
        if raw.digest != nil, let decoded {
            precondition(raw.id == decoded.id, "the digest's id is not the user's")
            precondition(raw.status == decoded.status, "the digest's status is not the user's")
        }
    }
    return 0
}
