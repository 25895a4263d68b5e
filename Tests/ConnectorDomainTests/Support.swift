import ConnectorDomain
import ConnectorTestSupport
import Foundation

func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONCoding.decoder().decode(type, from: Data(text.utf8))
}

func ts(_ text: String) -> Timestamp {
    Timestamp.parse(text)!
}

func utc(_ text: String) -> Date {
    Timestamp.parse(text)!.date
}
