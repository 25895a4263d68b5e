/// Finds a key that appears twice in one JSON object. Decoders keep one of the two values silently
/// (which one differs between parsers), so a body with duplicate keys can mean different things to
/// the connector and to whoever checked it; such bodies are refused instead.
public enum JSONDuplicateKeys {
    /// The first key found twice in one object of a document that is valid JSON.
    /// - Parameter bytes: A valid JSON document (decode it first: the scan assumes the syntax is right).
    /// - Returns: The key, unescaped, or `nil` when every object's keys are distinct.
    public static func first(in bytes: some Collection<UInt8>) -> String? {
        let bytes = Array(bytes)
        // Per open object: its keys so far, and whether the next string is a key.
        var objects: [(keys: Set<String>, expectingKey: Bool)] = []
        // Per open container: `true` for an object.
        var containers: [Bool] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                containers.append(true)
                objects.append(([], true))
            case UInt8(ascii: "["):
                containers.append(false)
            case UInt8(ascii: "}"):
                containers.removeLast()
                objects.removeLast()
            case UInt8(ascii: "]"):
                containers.removeLast()
            case UInt8(ascii: ","):
                if containers.last == true { objects[objects.count - 1].expectingKey = true }
            case UInt8(ascii: "\""):
                var end = index + 1
                var escaped = false
                while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                    if bytes[end] == UInt8(ascii: "\\") {
                        escaped = true
                        end += 1
                    }
                    end += 1
                }
                if containers.last == true, objects[objects.count - 1].expectingKey {
                    let raw = bytes[(index + 1)..<min(end, bytes.count)]
                    let key = escaped ? unescape(raw) : String(decoding: raw, as: UTF8.self)
                    guard objects[objects.count - 1].keys.insert(key).inserted else { return key }
                    objects[objects.count - 1].expectingKey = false
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// A JSON string's content with its escapes undone (`\u0061` and `a` are the same key).
    static func unescape(_ raw: ArraySlice<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        var pendingHigh: UInt32?
        var bytes = raw.makeIterator()
        var literal: [UInt8] = []
        func flushLiteral() {
            if !literal.isEmpty {
                scalars.append(contentsOf: String(decoding: literal, as: UTF8.self).unicodeScalars)
                literal.removeAll()
            }
        }
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "\\"), let kind = bytes.next() else {
                literal.append(byte)
                continue
            }
            flushLiteral()
            switch kind {
            case UInt8(ascii: "u"):
                var value: UInt32 = 0
                for _ in 0..<4 {
                    guard let digit = bytes.next(), let number = hexValue(digit) else { break }
                    value = value * 16 + number
                }
                if (0xD800...0xDBFF).contains(value) {
                    pendingHigh = value
                    continue
                }
                if let high = pendingHigh, (0xDC00...0xDFFF).contains(value) {
                    value = 0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)
                }
                pendingHigh = nil
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
                continue
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            default: scalars.append(Unicode.Scalar(kind))
            }
            pendingHigh = nil
        }
        flushLiteral()
        return String(scalars)
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
