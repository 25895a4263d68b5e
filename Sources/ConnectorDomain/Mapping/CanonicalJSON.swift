import Foundation

/// The one canonical JSON form of a mapped record, so that equal records are equal bytes and hash
/// equal across runs, processes and machines.
///
/// Rules: object keys sorted by their UTF-8 bytes; no whitespace; strings escaped minimally
/// (`"`, `\`, control characters) and otherwise UTF-8; integers in decimal; other numbers in
/// Swift's shortest round-trip form, with integral doubles written as integers; dates are already
/// strings (ISO 8601 UTC with milliseconds) when they reach this layer.
public enum CanonicalJSON {
    /// The canonical bytes of a JSON value.
    /// - Parameter value: The value to encode.
    /// - Returns: UTF-8 JSON text.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        write(value, to: &output)
        return output
    }

    /// The canonical text of a JSON value.
    /// - Parameter value: The value to encode.
    /// - Returns: JSON text.
    public static func string(_ value: JSONValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    /// Lowercase hex of a digest.
    /// - Parameter digest: The bytes.
    /// - Returns: Two hex digits a byte.
    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number):
            if number.isFinite, number.rounded() == number, abs(number) < 9.0e15 {
                output.append(contentsOf: String(Int64(number)).utf8)
            } else if number.isFinite {
                output.append(contentsOf: number.description.utf8)
            } else {
                output.append(contentsOf: "null".utf8)
            }
        case .string(let text): writeString(text, to: &output)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(item, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted(by: utf8Precedes)
            for (index, key) in keys.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(members[key]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Whether `a` sorts before `b` by their UTF-8 bytes, comparing contiguous bytes directly (the
    /// generic `lexicographicallyPrecedes` on the UTF-8 views was a hot spot of every encoding).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        // Strings whose bytes are at hand (native and small ones) compare with `memcmp`.
        if let answer = a.utf8.withContiguousStorageIfAvailable({ left in
            b.utf8.withContiguousStorageIfAvailable { right -> Bool in
                let count = min(left.count, right.count)
                if count > 0, let l = left.baseAddress, let r = right.baseAddress {
                    let order = memcmp(l, r, count)
                    if order != 0 { return order < 0 }
                }
                return left.count < right.count
            }
        }), let answer {
            return answer
        }
        var a = a
        var b = b
        return a.withUTF8 { left in
            b.withUTF8 { right in
                let count = min(left.count, right.count)
                for index in 0..<count where left[index] != right[index] { return left[index] < right[index] }
                return left.count < right.count
            }
        }
    }

    /// Appends a JSON string literal with minimal escaping (`"`, `\`, control characters).
    /// - Parameters:
    ///   - text: The string.
    ///   - output: The bytes to append to.
    public static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Most strings need no escape: their bytes are copied at once.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            output.append(contentsOf: text.utf8)
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): output.append(contentsOf: [92, 92])
            case 0x0A: output.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = String(byte, radix: 16)
                output.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
