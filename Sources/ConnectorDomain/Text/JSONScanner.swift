/// Why bytes are not the JSON expected: where reading stopped, and why.
public struct MalformedJSON: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset where reading stopped.
    public var offset: Int
    public var reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A validating JSON scanner over bytes: finds values without building them, and holds them to
/// RFC 8259's syntax strictly (escapes, numbers, control characters), with a nesting limit.
///
/// `JSONDecoder` does not check what it skips (a `\u` escape in a key it does not read, for
/// instance), so bytes it accepts can still be read differently elsewhere; what reaches the
/// connector from outside is checked here first where that matters.
struct RawJSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    static let maximumDepth = 512

    func fail(_ reason: String) -> MalformedJSON {
        MalformedJSON(offset: index, reason: reason)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    /// The value of a hexadecimal digit (of a `\u` escape), `nil` for any other byte.
    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    mutating func expect(_ byte: UInt8) throws(MalformedJSON) {
        guard peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// Skips a string starting at its opening quote.
    /// - Returns: The range of its content and whether it has escapes.
    mutating func skipString() throws(MalformedJSON) -> (content: Range<Int>, escaped: Bool) {
        try expect(UInt8(ascii: "\""))
        let start = index
        var escaped = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return (start..<index - 1, escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                guard index + 1 < bytes.count else { throw fail("unterminated string") }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 5 < bytes.count,
                        (index + 2...index + 5).allSatisfy({ Self.hexValue(bytes[$0]) != nil })
                    else { throw fail("bad \\u escape") }
                    index += 6
                default: throw fail("bad escape")
                }
                continue
            }
            if byte < 0x20 { throw fail("control character in a string") }
            index += 1
        }
        throw fail("unterminated string")
    }

    mutating func skipValue(depth: Int = 0) throws(MalformedJSON) {
        guard depth < Self.maximumDepth else { throw fail("nested too deeply") }
        skipWhitespace()
        guard let byte = peek() else { throw fail("unexpected end") }
        switch byte {
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "{"):
            index += 1
            try list(closedBy: UInt8(ascii: "}")) { (scanner: inout RawJSONScanner) throws(MalformedJSON) in
                _ = try scanner.skipString()
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"))
                try scanner.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            index += 1
            try list(closedBy: UInt8(ascii: "]")) { (scanner: inout RawJSONScanner) throws(MalformedJSON) in
                try scanner.skipValue(depth: depth + 1)
            }
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw fail("unexpected character")
        }
    }

    /// Skips a number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func skipNumber() throws(MalformedJSON) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        if peek() == UInt8(ascii: "0") {
            index += 1
        } else {
            try skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            try skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            try skipDigits()
        }
    }

    /// Skips one or more decimal digits.
    mutating func skipDigits() throws(MalformedJSON) {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        guard index > start else { throw fail("bad number") }
    }

    mutating func skipLiteral(_ literal: StaticString) throws(MalformedJSON) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end") }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] {
            throw fail("bad literal")
        }
        index += count
    }

    func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != text.utf8Start[offset] {
            return false
        }
        return true
    }

    /// The text of a string without escapes; `nil` when it is not valid UTF-8 (the object is then
    /// left to the decoder, which rejects it, rather than read with replacement characters).
    func plainString(_ range: Range<Int>) -> String? {
        String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Reads the comma-separated items of an object or an array, from just after its opening
    /// bracket through `close`; `item` reads each from its first byte (whitespace skipped).
    mutating func list(
        closedBy close: UInt8, _ item: (inout RawJSONScanner) throws(MalformedJSON) -> Void
    ) throws(MalformedJSON) {
        skipWhitespace()
        if peek() == close {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try item(&self)
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                index += 1
            } else {
                try expect(close)
                return
            }
        }
    }

    /// Reads a top-level JSON array, `element` reading each item from its first byte, and requires
    /// the input to end with it.
    mutating func array<Element>(
        _ element: (inout RawJSONScanner) throws(MalformedJSON) -> Element
    ) throws(MalformedJSON) -> [Element] {
        skipWhitespace()
        try expect(UInt8(ascii: "["))
        var items: [Element] = []
        items.reserveCapacity(200)
        try list(closedBy: UInt8(ascii: "]")) { (scanner: inout RawJSONScanner) throws(MalformedJSON) in
            items.append(try element(&scanner))
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("content after the array") }
        return items
    }
}
