public import ConnectorConfiguration
import ConnectorDomain
public import ConnectorStore
import Foundation
public import Logging
import PostgreSQLStore
import SQLiteStore

/// Opens the configured store, its migrations applied: the one place that chooses a backend.
public enum StoreOpening {
    /// Opens the store of `store.url`: an SQLite file, or a PostgreSQL database.
    /// - Parameters:
    ///   - settings: The configuration's `store` section.
    ///   - logger: The logger the store and its database library log through (the configured format).
    /// - Returns: The opened store; its owner closes it.
    /// - Throws: ``StoreError`` naming the location and the problem.
    public static func open(_ settings: StoreSettings, logger: Logger) async throws -> any StateStore {
        switch settings.backend {
        case .sqlite(let path):
            return try SQLiteStateStore(path: path, access: settings.fileAccess)
        case .postgres(let url, let password, let caFile):
            var location = try PostgreSQLLocation(url: url)
            if let password { location.password = password.reveal() }
            if let caFile { location.caFile = caFile }
            return try await PostgreSQLStateStore(location: location, logger: logger)
        }
    }

    /// Checks that the configured store can be opened, changing nothing (`check-config --online`):
    /// for SQLite, that its folder exists and the file (when there is one) can be read and written;
    /// for PostgreSQL, one connection as configured (TLS, password, database) and `SELECT 1`.
    /// - Parameters:
    ///   - settings: The configuration's `store` section.
    ///   - logger: The logger.
    /// - Returns: What is wrong, or `nil` when the store can be opened.
    public static func check(_ settings: StoreSettings, logger: Logger) async -> String? {
        switch settings.backend {
        case .sqlite(let path):
            let folder = (path as NSString).deletingLastPathComponent
            let files = FileManager.default
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isFolder), isFolder.boolValue
            else { return "the folder \(folder) of the SQLite file \(path) does not exist" }
            if files.fileExists(atPath: path) {
                guard files.isReadableFile(atPath: path), files.isWritableFile(atPath: path) else {
                    return "the SQLite file \(path) is not readable and writable by this user"
                }
            } else if !files.isWritableFile(atPath: folder.isEmpty ? "." : folder) {
                return "the SQLite file \(path) does not exist yet and its folder is not writable by this user"
            }
            return nil
        case .postgres(let url, let password, let caFile):
            do {
                var location = try PostgreSQLLocation(url: url)
                if let password { location.password = password.reveal() }
                if let caFile { location.caFile = caFile }
                try await PostgreSQLStateStore.check(location, logger: logger)
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    /// Runs `body` with the configured store open and running, and closes it afterwards however
    /// `body` ends: for the commands that run no service group.
    /// - Parameters:
    ///   - settings: The configuration's `store` section.
    ///   - logger: The logger.
    ///   - body: The work on the store.
    /// - Returns: What `body` returns.
    public static func withStore<T>(
        _ settings: StoreSettings, logger: Logger, _ body: (any StateStore) async throws -> T
    ) async throws -> T {
        try await using(try await open(settings, logger: logger), body)
    }

    /// Runs an opened store (its pool and watchdog) while `body` works on it, then closes it however
    /// `body` ends.
    /// - Parameters:
    ///   - store: An opened store, not yet running.
    ///   - body: The work on the store.
    /// - Returns: What `body` returns.
    public static func using<T>(_ store: any StateStore, _ body: (any StateStore) async throws -> T) async throws -> T {
        try await withThrowingDiscardingTaskGroup(returning: T.self) { group in
            group.addTask { await store.run() }
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
