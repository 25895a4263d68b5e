// libFuzzer target: the event hook delivery parser (SPEC §4), the first code a body from the
// internet reaches after the secret check. Built by scripts/fuzz.sh with the domain files it needs.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDelivery(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let body = Data(bytes: bytes, count: count)
    switch EventHookDeliveryParser.parse(body) {
    case .failure(let problem):
        // Errors are short and never echo the body at length.
        precondition(problem.message.utf8.count <= 200, "an overlong error message")
    case .success(let delivery):
        precondition(!delivery.eventId.isEmpty, "a delivery without an eventId")
        // Only JSON, strictly, gets through, with each object's keys distinct.
        precondition((try? JSONDuplicateKeys.first(in: body)) == .some(nil), "an accepted body that is not strict JSON")
        for event in delivery.events {
            precondition(!event.uuid.isEmpty && !event.eventType.isEmpty, "an event without uuid or eventType")
            // The stored payload is canonical JSON that reads back to itself.
            guard let reread = try? JSONCoding.decoder().decode(JSONValue.self, from: Data(event.payloadJSON.utf8))
            else { preconditionFailure("a stored payload that is not JSON: \(event.payloadJSON)") }
            precondition(CanonicalJSON.string(reread) == event.payloadJSON, "a payload that is not canonical")
        }
    }
    return 0
}
