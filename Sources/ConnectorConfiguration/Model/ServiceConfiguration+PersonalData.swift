import ConnectorDomain
import Foundation

extension ServiceConfiguration {
    /// The folders where this configuration writes personal data: the SQLite database's folder and
    /// each file sink's folder (standard output is none).
    public var personalDataFolders: [String] {
        var folders: [String] = []
        func add(_ folder: String) {
            let folder = folder.isEmpty ? FileManager.default.currentDirectoryPath : folder
            if !folders.contains(folder) { folders.append(folder) }
        }
        if case .sqlite(let path) = store.backend { add((path as NSString).deletingLastPathComponent) }
        for connector in connectors {
            switch connector.sink {
            case .ndjson(let sink) where sink.path != "-": add((sink.path as NSString).deletingLastPathComponent)
            case .csv(let sink): add(sink.directory)
            default: break
            }
        }
        return folders
    }

    /// The personal-data folders that others (neither the owner nor the group) may list or enter:
    /// their files are private, but file names and new files' exposure are not.
    public var worldReadablePersonalDataFolders: [String] {
        personalDataFolders.filter(PrivateFileAccess.isWorldReadable)
    }
}
