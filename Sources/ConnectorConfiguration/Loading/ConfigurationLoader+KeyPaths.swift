public import Foundation
internal import Yams

extension ConfigurationLoader {
    /// The key paths the loader looks up while reading configuration text: every key it accepts in
    /// the sections the text contains (a key outside them is rejected as unknown). List positions are
    /// written `[]`, e.g. `connectors[].okta.url`; keys of free-form maps (mapping overrides) appear as
    /// given. The documentation's key reference is checked against this.
    /// - Parameters:
    ///   - yaml: The YAML text.
    ///   - file: The file name, to resolve relative paths.
    ///   - environment: Variables for `${NAME}` references.
    ///   - fileReader: Reads `*_file` secrets.
    /// - Returns: The key paths read; empty when the text is not YAML.
    public static func keyPathsRead(
        yaml: String, file: String, environment: [String: String],
        fileReader: @escaping (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }
    ) -> Set<String> {
        let reader = ConfigReader(file: file, environment: environment, fileReader: fileReader)
        guard let root = try? Yams.compose(yaml: yaml) else { return [] }
        _ = ServiceConfigurationReader(reader: reader).read(root)
        return reader.keyPathsRead
    }
}
