import ConnectorDomain
import Foundation
internal import Yams

/// Reads a YAML document into typed values, collecting every problem with its key path and line
/// instead of stopping at the first, and substituting `${ENV}` references in string values.
final class ConfigReader {
    let file: String
    let baseDirectory: String
    let environment: [String: String]
    let fileReader: (String) throws -> String
    /// Whether secrets are read (`${ENV}` substituted, `*_file` read) or only their references checked.
    let secrets: SecretResolution
    private(set) var errors: [ConfigError] = []
    /// Every key path looked up, list positions written `[]` (`connectors[].okta.url`): the keys this
    /// version accepts in the sections read, since any other key is reported unknown.
    private(set) var keyPathsRead: Set<String> = []

    init(
        file: String, environment: [String: String], fileReader: @escaping (String) throws -> String,
        secrets: SecretResolution = .resolve
    ) {
        self.secrets = secrets
        self.file = file
        self.baseDirectory = (file as NSString).deletingLastPathComponent
        self.environment = environment
        self.fileReader = fileReader
    }

    func noteKeyPath(_ path: String) {
        var generic = ""
        var inIndex = false
        for character in path {
            if character == "[" {
                inIndex = true
                generic.append("[")
            } else if character == "]" {
                inIndex = false
                generic.append("]")
            } else if !inIndex {
                generic.append(character)
            }
        }
        keyPathsRead.insert(generic)
    }

    /// Values that came from `${ENV}` references: never echoed in an error, since a variable meant
    /// for a secret may land in the wrong key.
    private var substitutedValues: Set<String> = []

    func record(_ path: String, _ node: Node?, _ kind: ConfigError.Kind) {
        errors.append(ConfigError(file: file, keyPath: path, line: node?.mark?.line, kind: withoutSubstitutions(kind)))
    }

    /// The problem with every value from the environment left out.
    func withoutSubstitutions(_ kind: ConfigError.Kind) -> ConfigError.Kind {
        guard !substitutedValues.isEmpty else { return kind }
        func hidden(_ text: String) -> String {
            substitutedValues.reduce(text) { $0.replacingOccurrences(of: $1, with: "<value from the environment>") }
        }
        func fromEnvironment(_ text: String) -> Bool { substitutedValues.contains { text.contains($0) } }
        switch kind {
        case .invalidValue(let value, let reason):
            return .invalidValue(value: value.flatMap { fromEnvironment($0) ? nil : $0 }, reason: hidden(reason))
        case .duplicate(let value, let firstAt):
            return .duplicate(value: fromEnvironment(value) ? "<value from the environment>" : value, firstAt: firstAt)
        case .unreadableFile(let path, let reason):
            return .unreadableFile(path: hidden(path), reason: hidden(reason))
        default:
            return kind
        }
    }

    /// Resolves a path relative to the configuration file's folder.
    func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") || path == "-" { return path }
        return baseDirectory.isEmpty ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    /// Replaces `${NAME}` with the environment variable's value; `$${` stands for a literal `${`.
    func substitute(_ text: String, path: String, node: Node?) -> String? {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            if start.lowerBound > rest.startIndex, rest[rest.index(before: start.lowerBound)] == "$" {
                output += rest[..<rest.index(before: start.lowerBound)] + "${"
                rest = rest[start.upperBound...]
                continue
            }
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                record(path, node, .invalidValue(value: nil, reason: "unterminated ${ reference"))
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                record(
                    path, node,
                    .invalidValue(value: nil, reason: "`${\(name)}` is not an environment variable reference"))
                return nil
            }
            guard let value = environment[name] else {
                record(path, node, .unsetEnvironmentVariable(name: name))
                return nil
            }
            output += value
            if !value.isEmpty { substitutedValues.insert(value) }
            rest = rest[rest.index(after: end)...]
        }
        return output + rest
    }
}

/// A YAML mapping being read; remembers which keys were read so the rest can be reported unknown.
final class YAMLObject {
    let reader: ConfigReader
    let path: String
    let node: Node
    private var entries: [(key: String, keyNode: Node, value: Node)] = []
    private var used: Set<String> = []

    init?(reader: ConfigReader, path: String, node: Node) {
        guard case .mapping(let mapping) = node else {
            reader.record(path, node, .wrongType(expected: "a mapping of keys to values"))
            return nil
        }
        self.reader = reader
        self.path = path
        self.node = node
        var seen: Set<String> = []
        for (key, value) in mapping {
            let name = key.string ?? ""
            if seen.contains(name) {
                reader.record(child(name), key, .duplicate(value: name, firstAt: "an earlier key of the same mapping"))
            }
            seen.insert(name)
            entries.append((name, key, value))
        }
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The node of a key, `nil` when absent or YAML `null`.
    func node(_ key: String) -> Node? {
        used.insert(key)
        reader.noteKeyPath(child(key))
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if case .scalar(let scalar) = entry.value, scalar.style == .plain,
            ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        {
            return nil
        }
        return entry.value
    }

    func has(_ key: String) -> Bool { node(key) != nil }

    /// Reports keys that were never read; call after reading every known key.
    func finish() {
        let known = used
        for entry in entries where !known.contains(entry.key) {
            reader.record(child(entry.key), entry.keyNode, .unknownKey(suggestion: closest(to: entry.key, in: known)))
        }
    }

    func missing(_ key: String) {
        reader.record(child(key), node, .missingKey)
    }

    /// A string value with `${ENV}` substituted. Secrets are never echoed in errors.
    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = node(key) else {
            if required { missing(key) }
            return nil
        }
        return scalarString(value, path: child(key))
    }

    func scalarString(_ value: Node, path: String) -> String? {
        guard case .scalar(let scalar) = value else {
            reader.record(path, value, .wrongType(expected: "a string"))
            return nil
        }
        return reader.substitute(scalar.string, path: path, node: value)
    }

    /// A secret's value: substituted like any string, or, when secrets are not resolved, its text as
    /// written (a `${NAME}` reference stays a reference and an unset variable is no error).
    func secretString(_ value: Node, path: String) -> String? {
        guard reader.secrets == .unresolved else { return scalarString(value, path: path) }
        guard case .scalar(let scalar) = value else {
            reader.record(path, value, .wrongType(expected: "a string"))
            return nil
        }
        return scalar.string
    }

    func bool(_ key: String) -> Bool? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let scalar) = value, scalar.style == .plain,
            ["true", "false"].contains(scalar.string.lowercased())
        else {
            reader.record(child(key), value, .wrongType(expected: "true or false"))
            return nil
        }
        return scalar.string.lowercased() == "true"
    }

    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let scalar) = value, let number = Int(scalar.string) else {
            reader.record(child(key), value, .wrongType(expected: "a whole number"))
            return nil
        }
        guard range.contains(number) else {
            reader.record(
                child(key), value,
                .invalidValue(value: scalar.string, reason: "must be from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
        return number
    }

    func double(_ key: String, in range: ClosedRange<Double>, exclusiveLower: Bool = false) -> Double? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let scalar) = value, let number = Double(scalar.string), number.isFinite else {
            reader.record(child(key), value, .wrongType(expected: "a number"))
            return nil
        }
        guard range.contains(number), !(exclusiveLower && number == range.lowerBound) else {
            let lower = exclusiveLower ? "more than \(range.lowerBound)" : "at least \(range.lowerBound)"
            reader.record(
                child(key), value,
                .invalidValue(value: scalar.string, reason: "must be \(lower) and at most \(range.upperBound)"))
            return nil
        }
        return number
    }

    /// The longest duration accepted: a year. Longer (or not finite) durations are errors, so that no
    /// configured value reaches date arithmetic that could overflow.
    static let maximumDuration: Double = 366 * 86_400

    /// A duration such as `90s`, `15m`, `2h` or a number of seconds, more than zero and at most a year.
    func duration(_ key: String) -> Double? {
        guard let text = string(key) else { return nil }
        guard let seconds = parseDuration(text), seconds > 0 else {
            reader.record(
                child(key), node(key), .invalidValue(value: text, reason: "expected a duration like 30s, 15m or 2h"))
            return nil
        }
        guard seconds <= Self.maximumDuration else {
            reader.record(child(key), node(key), .invalidValue(value: text, reason: "must be at most 366d"))
            return nil
        }
        return seconds
    }

    func object(_ key: String, required: Bool = false) -> YAMLObject? {
        guard let value = node(key) else {
            if required { missing(key) }
            return nil
        }
        return YAMLObject(reader: reader, path: child(key), node: value)
    }

    func list(_ key: String) -> [(path: String, node: Node)]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let sequence) = value else {
            reader.record(child(key), value, .wrongType(expected: "a list"))
            return nil
        }
        return sequence.enumerated().map { ("\(child(key))[\($0.offset)]", $0.element) }
    }

    func stringList(_ key: String) -> [String]? {
        guard let items = list(key) else { return nil }
        let values = items.compactMap { scalarString($0.node, path: $0.path) }
        return values.count == items.count ? values : nil
    }

    /// A secret given as `key` (a value, usually `${ENV}`) or `key_file` (a file whose content,
    /// without its trailing newline, is the secret). Exactly one of them.
    /// - Parameter alwaysResolve: Read the secret even when the others are left unresolved (the
    ///   store's password: every command that reads the store needs it).
    func secret(_ key: String, required: Bool = true, alwaysResolve: Bool = false) -> Secret? {
        let fileKey = key + "_file"
        let inline = node(key)
        let file = node(fileKey)
        switch (inline, file) {
        case (nil, nil):
            if required {
                reader.record(child(key), node, .invalidValue(value: nil, reason: "set `\(key)` or `\(fileKey)`"))
            }
            return nil
        case (.some, .some):
            reader.record(
                child(key), inline, .invalidValue(value: nil, reason: "set either `\(key)` or `\(fileKey)`, not both"))
            return nil
        case (.some(let value), nil):
            let read = alwaysResolve ? scalarString(value, path: child(key)) : secretString(value, path: child(key))
            guard let text = read else { return nil }
            guard !text.isEmpty else {
                reader.record(child(key), value, .invalidValue(value: nil, reason: "the secret is empty"))
                return nil
            }
            return Secret(text)
        case (nil, .some(let value)):
            guard let path = scalarString(value, path: child(fileKey)) else { return nil }
            guard reader.secrets == .resolve || alwaysResolve else { return Secret("file \(reader.resolvePath(path))") }
            return readSecretFile(path, keyPath: child(fileKey), node: value)
        }
    }

    func readSecretFile(_ path: String, keyPath: String, node: Node?) -> Secret? {
        let resolved = reader.resolvePath(path)
        do {
            var text = try reader.fileReader(resolved)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else {
                reader.record(keyPath, node, .invalidValue(value: nil, reason: "the secret file \(resolved) is empty"))
                return nil
            }
            return Secret(text)
        } catch {
            reader.record(keyPath, node, .unreadableFile(path: resolved, reason: describeFileError(error)))
            return nil
        }
    }
}

/// Parses `90s`, `15m`, `2h`, `1d` or plain seconds (configuration values and command options).
/// - Parameter text: The text.
/// - Returns: The seconds, or `nil` when the text is not a finite duration.
public func parseDuration(_ text: String) -> Double? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
        guard let number = Double(trimmed.dropLast(suffix.count)), number.isFinite else { continue }
        return number * factor
    }
    return Double(trimmed).flatMap { $0.isFinite ? $0 : nil }
}

/// A short reason for a failed file read, without Foundation's long error dump.
func describeFileError(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
        let code = POSIXErrorCode(rawValue: Int32(underlying.code))
    {
        return String(cString: strerror(code.rawValue))
    }
    switch nsError.code {
    case NSFileReadNoSuchFileError: return "no such file"
    case NSFileReadNoPermissionError: return "permission denied"
    default: return nsError.localizedDescription
    }
}

/// The known key closest to a misspelt one, when it is close enough to be a likely typo.
func closest(to key: String, in candidates: Set<String>) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
    var best: (name: String, distance: Int)?
    let lowered = Array(key.lowercased())
    for candidate in candidates.sorted() {
        let score = distance(lowered, Array(candidate.lowercased()))
        if best == nil || score < best!.distance { best = (candidate, score) }
    }
    guard let best, best.distance <= max(2, key.count / 3) else { return nil }
    return best.name
}
