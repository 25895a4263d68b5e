import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who may read the files that hold personal data (the database and its side files, sink outputs
/// and their temporary files): the owner alone (`0600`, the default), or the owner and one group
/// (`0640`) when the operator names a group for a reader such as a backup agent.
public struct PrivateFileAccess: Sendable, Hashable, CustomStringConvertible {
    /// The permission bits given to every such file.
    public let mode: UInt32
    /// The group given to every such file; `nil` leaves the group as the system chose it.
    public let groupID: UInt32?
    /// The group's name, for messages.
    public let groupName: String?

    /// Owner read and write only.
    public static let ownerOnly = PrivateFileAccess(mode: 0o600, groupID: nil, groupName: nil)

    /// Owner read and write, the named group read.
    /// - Parameters:
    ///   - groupName: The group's name as the system knows it.
    /// - Returns: The access, or `nil` when the system has no such group.
    public static func ownerAndGroup(_ groupName: String) -> PrivateFileAccess? {
        guard let entry = getgrnam(groupName) else { return nil }
        return PrivateFileAccess(mode: 0o640, groupID: UInt32(entry.pointee.gr_gid), groupName: groupName)
    }

    init(mode: UInt32, groupID: UInt32?, groupName: String?) {
        self.mode = mode
        self.groupID = groupID
        self.groupName = groupName
    }

    public var description: String {
        let octal = "0" + String(mode, radix: 8)
        if let groupName { return "\(octal), group \(groupName)" }
        return octal
    }

    /// Creates a file that does not exist yet with this access (and leaves an existing one's content
    /// alone), then makes sure its mode and group are this access.
    /// - Parameter path: The file.
    /// - Throws: `POSIXError` when the file cannot be created or its access set.
    public func create(_ path: String) throws {
        // `open` with the mode itself, so the file never exists with a wider mode, even for an instant.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode_t(mode))
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        if let groupID, fchown(descriptor, uid_t.max, gid_t(groupID)) != 0 {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM)
        }
        // The umask may have removed bits the mode asks for (the group's read): set them exactly.
        guard fchmod(descriptor, mode_t(mode)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM) }
    }

    /// Gives an existing file this access; a missing file is no error.
    /// - Parameter path: The file.
    /// - Throws: `POSIXError` when the file exists and its access cannot be set.
    public func apply(to path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if let groupID, chown(path, uid_t.max, gid_t(groupID)) != 0 {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM)
        }
        guard chmod(path, mode_t(mode)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM) }
    }

    /// Whether others (neither the owner nor the group) may read or enter a folder.
    /// - Parameter path: The folder.
    /// - Returns: `true` when its mode gives others read or search access.
    public static func isWorldReadable(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        // Others' read (0o004) or search (0o001) bit.
        return UInt32(info.st_mode) & 0o005 != 0
    }

    /// The permission bits of a file, for checks and tests.
    /// - Parameter path: The file.
    /// - Returns: Its mode's permission bits, or `nil` when it does not exist.
    public static func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o777
    }
}
