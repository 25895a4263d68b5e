import ConnectorDomain
import Foundation
import Testing

@Suite struct JSONDuplicateKeysTests {
    @Test(
        arguments: [
            (#"{"a":1,"b":2}"#, nil),
            (#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#, nil),
            (#"{"a":"}{\"a\":[","b":"\\"}"#, nil),
            (#"["a","a",{"a":"a"}]"#, nil),
            (#"{"a":1,"a":2}"#, "a"),
            (#"{"x":{"y":[{"k":1,"k":2}]}}"#, "k"),
            (#"{"eventId":1,"\u0065ventId":2}"#, "eventId"),
            (#"{"\ud83d\ude00":1,"😀":2}"#, "😀"),
            (#"{"a\"b":1,"a\u0022b":2}"#, "a\"b"),
            (#"{"a":{"b":1},"c":{"b":2},"a":3}"#, "a"),
        ] as [(String, String?)])
    func findsTheFirstKeyGivenTwiceInOneObject(_ json: String, _ duplicate: String?) throws {
        _ = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        #expect(try JSONDuplicateKeys.first(in: Array(json.utf8)) == duplicate)
    }

    @Test(
        arguments: [
            // The fuzzer's find, shortened: a reader that takes `\u` plus any four bytes ends this
            // key at a different quote than one that takes escapes in pairs.
            #"{"a":{"id\\\uuid\\\": "x", "b": 1}}"#,
            #"{"a":"\x"}"#, #"{"a":"\u12"}"#, "{\"a\":\"\u{01}\"}", #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#,
            #"{"a":tru}"#, #"{"a" 1}"#, #"{"a":1,}"#, #"[1,]"#, #"{"a":1}}"#, #"]"#, #"{"#, #""#, #"{"a":1} x"#,
            #"{a:1}"#, String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ])
    func refusesWhatIsNotJSONWhereverItIs(_ text: String) {
        #expect(throws: MalformedJSON.self, "\(text.prefix(40))") { try JSONDuplicateKeys.first(in: Array(text.utf8)) }
    }

    @Test func aSurrogateWithoutItsOtherHalfIsNeverDroppedFromAKey() throws {
        // Both keys differ from "ab" and from each other's pairs: a lone half reads as U+FFFD.
        #expect(try JSONDuplicateKeys.first(in: Array(#"{"a\ud800b":1,"ab":2}"#.utf8)) == nil)
        #expect(try JSONDuplicateKeys.first(in: Array(#"{"\ud83dx\ude00":1,"x😀":2}"#.utf8)) == nil)
        #expect(try JSONDuplicateKeys.first(in: Array(#"{"\ud83d\ude00":1,"\uD83D\uDE00":2}"#.utf8)) == "😀")
    }
}
