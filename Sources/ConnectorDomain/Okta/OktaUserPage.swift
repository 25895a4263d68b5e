import Crypto
import Foundation

/// One page of `GET /api/v1/users` as it came over the wire, with each user object located but not
/// decoded: the reconcile's fast path.
///
/// A user whose raw object is byte-identical to the one the store last wrote (its ``RawOktaUser/digest``
/// matches) needs no decode, mapping or hash at all; only the others are decoded, one object at a time,
/// by ``decodeUser(at:)``, which gives exactly what `JSONDecoder` gives for ``OktaUser``.
public struct OktaUserPage: Sendable {
    /// The page's bytes.
    public let bytes: [UInt8]
    /// The user objects of the page, in order.
    public let users: [RawOktaUser]

    /// Locates the user objects of a page (a JSON array of objects).
    /// - Parameter bytes: The response body.
    /// - Throws: ``Malformed`` when the body is not a JSON array of objects.
    public init(parsing bytes: [UInt8]) throws(Malformed) {
        self.bytes = bytes
        self.users = try bytes.withUnsafeBufferPointer { buffer throws(Malformed) in
            var scanner = RawJSONScanner(buffer)
            return try scanner.userObjects()
        }
    }

    /// Creates a page of already located users (for tests).
    init(bytes: [UInt8], users: [RawOktaUser]) {
        self.bytes = bytes
        self.users = users
    }

    /// The raw bytes of one user object.
    public func rawObject(at index: Int) -> ArraySlice<UInt8> { bytes[users[index].range] }

    /// Decodes one user: a direct reader for the usual shape, and `JSONDecoder` for anything it
    /// does not handle itself (unusual numbers, duplicate keys, errors), so that the result and the
    /// errors are exactly those of ``OktaUser``'s `Decodable` conformance.
    /// - Parameter index: The user's position in ``users``.
    /// - Throws: The decoding error, for a malformed user.
    public func decodeUser(at index: Int) throws -> OktaUser {
        let range = users[index].range
        if let user = bytes.withUnsafeBufferPointer({ OktaUserReader.read($0, range) }) { return user }
        return try JSONCoding.decoder().decode(OktaUser.self, from: Data(bytes[range]))
    }

    /// Whether the direct reader reads a user by itself, without `JSONDecoder` (tests and benchmarks
    /// check that the usual shape takes the quick way).
    public func readsDirectly(at index: Int) -> Bool {
        bytes.withUnsafeBufferPointer { OktaUserReader.read($0, users[index].range) } != nil
    }

    /// Every user of the page, decoded.
    public func decodeAll() throws -> [OktaUser] {
        try users.indices.map { try decodeUser(at: $0) }
    }

    /// Why a page is not a JSON array of objects.
    public typealias Malformed = MalformedJSON
}

/// Where one user object is in its page, what it says of itself without being decoded, and the
/// digest of its bytes.
public struct RawOktaUser: Sendable, Hashable {
    /// The object's bytes in the page, braces included.
    public var range: Range<Int>
    /// The top-level `id`, when it is a plain string (no escapes) given once.
    public var id: String?
    /// The top-level `status`, when it is a plain string given once.
    public var status: String?
    /// SHA-256 of the object's bytes without its top-level `_links` member (Okta's links carry
    /// the org's URL and per-status actions, not user data), `nil` when the object cannot take the
    /// fast path (no plain `id`/`status`, or a key given twice).
    public var digest: [UInt8]?
}

/// The top-level `id` of every object of a page (a JSON array of objects), read without decoding
/// the objects: for listings of which only the ids are used (an app's users in a bulk reconcile).
public enum OktaPageIds {
    /// Reads the ids of a page.
    /// - Returns: The ids in order; `nil` when an object has no plain `id` (missing, not a string,
    ///   escaped, not valid UTF-8, or given twice): the caller then decodes the page, which reports
    ///   what is wrong exactly as before.
    /// - Throws: ``OktaUserPage/Malformed`` when the body is not a JSON array of objects.
    public static func read(_ bytes: [UInt8]) throws(MalformedJSON) -> [String]? {
        try bytes.withUnsafeBufferPointer { buffer throws(MalformedJSON) in
            var scanner = RawJSONScanner(buffer)
            return try scanner.objectIds()
        }
    }
}

// MARK: - Scanning

extension RawJSONScanner {
    /// The objects of a top-level array, located, with their `id`, `status` and digest.
    mutating func userObjects() throws(MalformedJSON) -> [RawOktaUser] {
        try array { (scanner: inout RawJSONScanner) throws(MalformedJSON) in try scanner.userObject() }
    }

    /// The top-level plain `id` of each object of a top-level array; `nil` when one has none.
    mutating func objectIds() throws(MalformedJSON) -> [String]? {
        let ids = try array { (scanner: inout RawJSONScanner) throws(MalformedJSON) -> String? in
            let object = try scanner.topLevelObject()
            return object.plain ? object.id : nil
        }
        return ids.contains(nil) ? nil : ids.compactMap { $0 }
    }

    /// What an object says of itself at its top level, read without decoding it.
    struct TopLevelObject {
        /// The object's bytes, braces included.
        var range: Range<Int>
        /// The top-level `id` and `status`, when plain strings (no escapes, valid UTF-8).
        var id: String?
        var status: String?
        /// The whole `_links` member (key to value), when there is one.
        var links: Range<Int>?
        /// Whether the object can be read this way: no escaped key (it might spell one of ours), none
        /// of `id`, `status`, `_links` given twice, and `id`/`status` plain strings when present.
        var plain = true
    }

    /// Reads one object from its opening brace, noting its plain top-level `id` and `status` and
    /// where its `_links` member is.
    mutating func topLevelObject() throws(MalformedJSON) -> TopLevelObject {
        let start = index
        guard peek() == UInt8(ascii: "{") else { throw fail("expected an object") }
        index += 1
        var object = TopLevelObject(range: start..<start)
        try list(closedBy: UInt8(ascii: "}")) { (scanner: inout RawJSONScanner) throws(MalformedJSON) in
            let memberStart = scanner.index
            let (key, keyEscaped) = try scanner.skipString()
            scanner.skipWhitespace()
            try scanner.expect(UInt8(ascii: ":"))
            scanner.skipWhitespace()
            let valueStart = scanner.index
            try scanner.skipValue(depth: 1)
            if keyEscaped {
                object.plain = false
            } else if scanner.equals(key, "id") || scanner.equals(key, "status") {
                let isId = scanner.equals(key, "id")
                var probe = scanner
                probe.index = valueStart
                if (isId ? object.id : object.status) != nil || probe.peek() != UInt8(ascii: "\"") {
                    object.plain = false
                } else {
                    let (content, escaped) = try probe.skipString()
                    if !escaped, let text = scanner.plainString(content) {
                        if isId { object.id = text } else { object.status = text }
                    } else {
                        object.plain = false
                    }
                }
            } else if scanner.equals(key, "_links") {
                if object.links != nil { object.plain = false }
                object.links = memberStart..<scanner.index
            }
        }
        object.range = start..<index
        return object
    }

    mutating func userObject() throws(MalformedJSON) -> RawOktaUser {
        let object = try topLevelObject()
        let range = object.range
        let start = range.lowerBound
        guard object.plain, object.id != nil, object.status != nil else {
            return RawOktaUser(
                range: range, id: object.plain ? object.id : nil, status: object.plain ? object.status : nil,
                digest: nil)
        }
        var hasher = SHA256()
        let cut = object.links ?? range.upperBound..<range.upperBound
        // The length of the part before the cut goes first, so that no two objects that differ
        // other than in `_links` hash the same.
        var prefixLength = UInt64(cut.lowerBound - start).littleEndian
        withUnsafeBytes(of: &prefixLength) { hasher.update(bufferPointer: $0) }
        hasher.update(
            bufferPointer: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<cut.lowerBound])))
        hasher.update(
            bufferPointer: UnsafeRawBufferPointer(
                UnsafeBufferPointer(rebasing: bytes[cut.upperBound..<range.upperBound])))
        return RawOktaUser(range: range, id: object.id, status: object.status, digest: Array(hasher.finalize()))
    }
}

// MARK: - Reading users

/// Reads an ``OktaUser`` straight from the bytes of its object, building only what the user keeps.
/// Returns `nil` for anything it does not read exactly as `JSONDecoder` would (escaped keys,
/// duplicate keys, numbers with a fraction or exponent, malformed input): the caller then uses the
/// decoder, so results and errors stay those of the `Decodable` conformance.
enum OktaUserReader {
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> OktaUser? {
        var reader = ValueReader(bytes: bytes, index: range.lowerBound, end: range.upperBound)
        guard let user = reader.user() else { return nil }
        reader.skipWhitespace()
        return reader.index == range.upperBound ? user : nil
    }

    struct ValueReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index: Int
        let end: Int

        mutating func skipWhitespace() {
            while index < end {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        func peek() -> UInt8? { index < end ? bytes[index] : nil }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard peek() == byte else { return false }
            index += 1
            return true
        }

        /// A raw key (no escapes), as a range.
        mutating func key() -> Range<Int>? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < end {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<index - 1
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        func text(_ range: Range<Int>) -> String? {
            String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }

        func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
            guard range.count == literal.utf8CodeUnitCount else { return false }
            for offset in 0..<range.count where bytes[range.lowerBound + offset] != literal.utf8Start[offset] {
                return false
            }
            return true
        }

        /// A string value, escapes resolved.
        mutating func string() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < end {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return text(start..<index - 1)
                }
                if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
                if byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        mutating func escapedString(from start: Int) -> String? {
            var utf8: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < end {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(validating: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index + 1 < end else { return nil }
                    let escape = bytes[index + 1]
                    index += 2
                    switch escape {
                    case UInt8(ascii: "\""): utf8.append(0x22)
                    case UInt8(ascii: "\\"): utf8.append(0x5C)
                    case UInt8(ascii: "/"): utf8.append(0x2F)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let unit = hex4() else { return nil }
                        var scalar: Unicode.Scalar?
                        if (0xD800..<0xDC00).contains(unit) {
                            // A high surrogate must be followed by an escaped low one.
                            guard index + 1 < end, bytes[index] == UInt8(ascii: "\\"),
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { return nil }
                            index += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        } else {
                            scalar = Unicode.Scalar(unit)
                        }
                        guard let scalar else { return nil }
                        utf8.append(contentsOf: UTF8.encode(scalar)!)
                    default: return nil
                    }
                default:
                    if byte < 0x20 { return nil }
                    utf8.append(byte)
                    index += 1
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= end else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = RawJSONScanner.hexValue(bytes[index]) else { return nil }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= end else { return false }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }

        /// `null` (consumed) or not.
        mutating func null() -> Bool {
            skipWhitespace()
            guard peek() == UInt8(ascii: "n") else { return false }
            return literal("null")
        }

        /// Any JSON value, typed as ``JSONValue``'s decoder types it; `nil` when unsure.
        mutating func value(depth: Int) -> JSONValue? {
            guard depth < 128 else { return nil }
            skipWhitespace()
            guard let byte = peek() else { return nil }
            switch byte {
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "{"): return object(depth: depth).map(JSONValue.object)
            case UInt8(ascii: "["):
                index += 1
                var items: [JSONValue] = []
                if consume(UInt8(ascii: "]")) { return .array(items) }
                while true {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    if consume(UInt8(ascii: ",")) { continue }
                    return consume(UInt8(ascii: "]")) ? .array(items) : nil
                }
            default: return number()
            }
        }

        /// A number, typed as `JSONDecoder` types it for ``JSONValue`` (an `Int64` when the value is
        /// one exactly, else a `Double`): integers, `-0`, and fractions without an exponent. An
        /// exponent, an integer past 64 bits or a long integral fraction goes to the decoder.
        mutating func number() -> JSONValue? {
            let start = index
            var negative = false
            if peek() == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let digitsStart = index
            var magnitude: Int64 = 0
            while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                let digit = Int64(bytes[index] - UInt8(ascii: "0"))
                let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                magnitude = sum
                index += 1
            }
            let digits = index - digitsStart
            guard digits > 0, !(digits > 1 && bytes[digitsStart] == UInt8(ascii: "0")) else { return nil }
            guard peek() == UInt8(ascii: ".") else {
                if let next = peek(), next == UInt8(ascii: "e") || next == UInt8(ascii: "E") { return nil }
                return .integer(negative ? -magnitude : magnitude)
            }
            index += 1
            let fractionStart = index
            var zeroFraction = true
            while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                if bytes[index] != UInt8(ascii: "0") { zeroFraction = false }
                index += 1
            }
            guard index > fractionStart else { return nil }
            if let next = peek(), next == UInt8(ascii: "e") || next == UInt8(ascii: "E") { return nil }
            if zeroFraction {
                // `3.0` decodes as the integer 3; past 15 digits the decoder's own rules decide.
                guard digits <= 15 else { return nil }
                return .integer(negative ? -magnitude : magnitude)
            }
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self),
                let value = Double(text), value.isFinite,
                // A fraction a double cannot hold (`92233720368547758.7`) leaves an integral value,
                // which the decoder may read as an integer: its own rules decide (found by fuzzing).
                value.rounded() != value
            else { return nil }
            return .double(value)
        }

        mutating func object(depth: Int) -> [String: JSONValue]? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var members: [String: JSONValue] = [:]
            if consume(UInt8(ascii: "}")) { return members }
            while true {
                guard let key = key(), let name = text(key), consume(UInt8(ascii: ":")),
                    let member = value(depth: depth + 1)
                else { return nil }
                guard members.updateValue(member, forKey: name) == nil else { return nil }
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "}")) ? members : nil
            }
        }

        /// Skips any value, validating it.
        mutating func skip() -> Bool { value(depth: 0) != nil }

        mutating func timestamp(_ slot: inout Timestamp??) -> Bool {
            guard slot == nil else { return false }
            if null() {
                slot = .some(nil)
                return true
            }
            guard let text = string(), let stamp = Timestamp.parse(text) else { return false }
            slot = .some(stamp)
            return true
        }

        mutating func user() -> OktaUser? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var id: String?
            var status: String?
            var created: Timestamp??
            var activated: Timestamp??
            var statusChanged: Timestamp??
            var lastLogin: Timestamp??
            var lastUpdated: Timestamp??
            var passwordChanged: Timestamp??
            var typeId: String??
            var profile: [String: JSONValue]??
            if !consume(UInt8(ascii: "}")) {
                while true {
                    guard let key = key(), consume(UInt8(ascii: ":")) else { return nil }
                    let ok: Bool
                    switch key.count {
                    case 2 where equals(key, "id"):
                        guard id == nil, let text = string() else { return nil }
                        id = text
                        ok = true
                    case 6 where equals(key, "status"):
                        guard status == nil, let text = string() else { return nil }
                        status = text
                        ok = true
                    case 7 where equals(key, "created"): ok = timestamp(&created)
                    case 9 where equals(key, "activated"): ok = timestamp(&activated)
                    case 13 where equals(key, "statusChanged"): ok = timestamp(&statusChanged)
                    case 9 where equals(key, "lastLogin"): ok = timestamp(&lastLogin)
                    case 11 where equals(key, "lastUpdated"): ok = timestamp(&lastUpdated)
                    case 15 where equals(key, "passwordChanged"): ok = timestamp(&passwordChanged)
                    case 4 where equals(key, "type"):
                        guard typeId == nil else { return nil }
                        if null() {
                            typeId = .some(nil)
                        } else {
                            guard case .object(let members)? = value(depth: 1) else { return nil }
                            switch members["id"] {
                            case nil, .null?: typeId = .some(nil)
                            case .string(let text)?: typeId = .some(text)
                            default: return nil
                            }
                        }
                        ok = true
                    case 7 where equals(key, "profile"):
                        guard profile == nil else { return nil }
                        if null() {
                            profile = .some(nil)
                        } else {
                            guard let members = object(depth: 1) else { return nil }
                            profile = .some(members)
                        }
                        ok = true
                    default:
                        // Okta's other members (`_links`, `credentials`, ...) are not kept, but a
                        // key given twice is left to the decoder.
                        guard text(key).map({ !OktaUser.CodingKeys.names.contains($0) }) ?? false else { return nil }
                        ok = skip()
                    }
                    guard ok else { return nil }
                    if consume(UInt8(ascii: ",")) { continue }
                    guard consume(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            guard let id, let status else { return nil }
            return OktaUser(
                id: id, status: status, created: created ?? nil, activated: activated ?? nil,
                statusChanged: statusChanged ?? nil, lastLogin: lastLogin ?? nil, lastUpdated: lastUpdated ?? nil,
                passwordChanged: passwordChanged ?? nil, typeId: typeId ?? nil, profile: (profile ?? nil) ?? [:])
        }
    }
}

extension OktaUser.CodingKeys {
    /// Every key the decoder reads, from its coding keys: a key added there and not handled by the
    /// direct reader sends users that carry it to the decoder instead of being skipped.
    static let names = Set(OktaUser.decodedKeys)
}
