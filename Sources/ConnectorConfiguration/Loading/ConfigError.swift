/// One problem in a configuration file, naming the file, the key path and (for non-secrets) the value.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        /// The configuration file itself could not be read.
        case unreadableConfigFile(reason: String)
        /// The YAML does not parse.
        case syntax(reason: String)
        /// A key this version does not know, with the closest known key when one is close.
        case unknownKey(suggestion: String?)
        /// A required key is missing.
        case missingKey
        /// The value has the wrong YAML type.
        case wrongType(expected: String)
        /// The value is of the right type but not acceptable; `value` is `nil` for secrets.
        case invalidValue(value: String?, reason: String)
        /// `${NAME}` names an environment variable that is not set.
        case unsetEnvironmentVariable(name: String)
        /// A `*_file` secret (or other referenced file) cannot be read.
        case unreadableFile(path: String, reason: String)
        /// The value repeats one given elsewhere.
        case duplicate(value: String, firstAt: String)
    }

    /// The configuration file.
    public var file: String
    /// The key path, e.g. `connectors[0].okta.url`; empty for the whole file.
    public var keyPath: String
    /// The line in the file, when known.
    public var line: Int?
    public var kind: Kind

    /// Creates an error.
    public init(file: String, keyPath: String, line: Int? = nil, kind: Kind) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.kind = kind
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        let key = keyPath.isEmpty ? "" : " \(keyPath):"
        let text: String
        switch kind {
        case .unreadableConfigFile(let reason): text = "cannot read the configuration file: \(reason)"
        case .syntax(let reason): text = "not valid YAML: \(reason)"
        case .unknownKey(let suggestion):
            text = "unknown key" + (suggestion.map { " (did you mean `\($0)`?)" } ?? "")
        case .missingKey: text = "required key is missing"
        case .wrongType(let expected): text = "expected \(expected)"
        case .invalidValue(let value, let reason):
            text = value.map { "invalid value \"\($0)\": \(reason)" } ?? "invalid value: \(reason)"
        case .unsetEnvironmentVariable(let name): text = "environment variable \(name) is not set"
        case .unreadableFile(let path, let reason): text = "cannot read file \(path): \(reason)"
        case .duplicate(let value, let firstAt): text = "\"\(value)\" is already used by \(firstAt)"
        }
        return "\(location):\(key) \(text)"
    }
}

/// Every problem found in a configuration file; it is rejected as a whole.
public struct ConfigurationInvalid: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    /// Creates the error.
    public init(errors: [ConfigError]) { self.errors = errors }

    public var description: String {
        let count = errors.count
        return "configuration rejected (\(count) problem\(count == 1 ? "" : "s")):\n"
            + errors.map { "  - \($0)" }.joined(separator: "\n")
    }
}
