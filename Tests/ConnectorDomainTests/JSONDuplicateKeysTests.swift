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
        // The scan assumes valid JSON: check the cases are.
        _ = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == duplicate)
    }
}
