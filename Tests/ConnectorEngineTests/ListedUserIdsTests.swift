import Testing

@testable import ConnectorEngine

/// The reconcile's in-memory list of listed users (SPEC §6): exact for every id, packed for Okta's.
@Suite("Listed user ids")
struct ListedUserIdsTests {
    @Test func everyInsertedIdIsFoundAndNoOther() {
        var listed = ListedUserIds()
        let okta = (0..<2000).map { "00u\(String($0 * 7919, radix: 36))abcdefghijklmnop".prefix(20) }.map(String.init)
        let awkward = [
            "", "a", "ab", "00u1", "00u10", "00uTWENTYchars0123zz", "00uTWENTYONEchars0123", "exactly-twenty-four-byte",
            "twenty-five-bytes-long-id", "ünïcødé-ìd",
            "with\u{0}nul", "with\u{0}", String(repeating: "x", count: 200),
        ]
        for id in (okta + awkward).shuffled() { listed.insert(id) }
        listed.insert("00u1")  // twice: harmless
        listed.seal()
        for id in okta + awkward { #expect(listed.contains(id), "\(id)") }
        let absent = [
            "00u", "00u100", "00uTWENTYchars0123zy", "00uTWENTYONEchars0124", "00uTWENTYchars0123z",
            "exactly-twenty-four-bytf", "twenty-five-bytes-long-ie", "with", "with\u{0}nux",
            String(repeating: "x", count: 199), "b", "ünïcødé-ìD",
        ]
        for id in absent { #expect(!listed.contains(id), "\(id)") }
    }

    @Test func idsThatDifferOnlyInTrailingBytesOrLengthStayApart() {
        var listed = ListedUserIds()
        listed.insert("abc")
        listed.seal()
        #expect(listed.contains("abc"))
        #expect(!listed.contains("abcd"))
        #expect(!listed.contains("ab"))
        #expect(!listed.contains("abc\u{0}"), "a NUL byte is not padding")
    }
}
