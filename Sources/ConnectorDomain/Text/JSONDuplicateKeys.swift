/// Finds a key that appears twice in one JSON object. Decoders keep one of the two values silently
/// (which one differs between parsers), so a body with duplicate keys can mean different things to
/// the connector and to whoever checked it; such bodies are refused instead.
public enum JSONDuplicateKeys {
    /// The first key found twice in one object, in a document checked strictly on the way.
    ///
    /// The check is part of the answer: `JSONDecoder` accepts some bodies that are not JSON (it does
    /// not look inside the strings of keys it skips), and such a body can be split into keys and
    /// values differently by another reader, so it is refused rather than scanned by guesswork.
    /// - Parameter bytes: The document.
    /// - Returns: The key, unescaped, or `nil` when every object's keys are distinct.
    /// - Throws: ``MalformedJSON`` when the bytes are not exactly one JSON value.
    public static func first(in bytes: some Collection<UInt8>) throws(MalformedJSON) -> String? {
        let bytes = Array(bytes)
        return try bytes.withUnsafeBufferPointer { buffer throws(MalformedJSON) in
            var scanner = RawJSONScanner(buffer)
            var found: String?
            try scanner.value(depth: 0, firstDuplicate: &found)
            scanner.skipWhitespace()
            guard scanner.index == buffer.count else { throw scanner.fail("content after the value") }
            return found
        }
    }

    /// A JSON string's content with its escapes undone (`\u0061` and `a` are the same key); a
    /// surrogate escape without its other half reads as U+FFFD.
    static func unescape(_ raw: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        var pendingHigh: UInt32?
        var bytes = raw.makeIterator()
        var literal: [UInt8] = []
        func flush() {
            if pendingHigh != nil {
                scalars.append("\u{FFFD}")
                pendingHigh = nil
            }
            if !literal.isEmpty {
                scalars.append(contentsOf: String(decoding: literal, as: UTF8.self).unicodeScalars)
                literal.removeAll()
            }
        }
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "\\"), let kind = bytes.next() else {
                if pendingHigh != nil { flush() }
                literal.append(byte)
                continue
            }
            guard kind == UInt8(ascii: "u") else {
                flush()
                switch kind {
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                default: scalars.append(Unicode.Scalar(kind))
                }
                continue
            }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = bytes.next(), let number = RawJSONScanner.hexValue(digit) else { break }
                value = value * 16 + number
            }
            if let high = pendingHigh, (0xDC00...0xDFFF).contains(value) {
                pendingHigh = nil
                scalars.append(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)) ?? "\u{FFFD}")
                continue
            }
            flush()
            if (0xD800...0xDBFF).contains(value) {
                pendingHigh = value
            } else {
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            }
        }
        flush()
        return String(scalars)
    }

}

extension RawJSONScanner {
    /// Reads one value, noting in `firstDuplicate` the first key given twice in one of its objects.
    fileprivate mutating func value(depth: Int, firstDuplicate: inout String?) throws(MalformedJSON) {
        guard depth < Self.maximumDepth else { throw fail("nested too deeply") }
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"):
            index += 1
            var keys = Set<String>()
            try list(closedBy: UInt8(ascii: "}")) { (scanner: inout RawJSONScanner) throws(MalformedJSON) in
                let (key, escaped) = try scanner.skipString()
                let raw = scanner.bytes[key]
                let text = escaped ? JSONDuplicateKeys.unescape(raw) : String(decoding: raw, as: UTF8.self)
                if !keys.insert(text).inserted, firstDuplicate == nil { firstDuplicate = text }
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"))
                try scanner.value(depth: depth + 1, firstDuplicate: &firstDuplicate)
            }
        case UInt8(ascii: "["):
            index += 1
            try list(closedBy: UInt8(ascii: "]")) { (scanner: inout RawJSONScanner) throws(MalformedJSON) in
                try scanner.value(depth: depth + 1, firstDuplicate: &firstDuplicate)
            }
        default:
            try skipValue(depth: depth)
        }
    }
}
