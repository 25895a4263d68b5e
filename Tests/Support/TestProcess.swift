public import Foundation
import Synchronization

/// A program of this package run by a test: spawned with its output in a log file, stopped with a
/// bounded wait (SIGTERM, then SIGKILL), so that no test can hang on a process or leave one behind.
public final class TestProcess: @unchecked Sendable {
    /// The running process.
    public let process: Process
    /// Where its standard output and standard error go.
    public let logPath: String

    /// Starts a program.
    /// - Parameters:
    ///   - executable: A path, usually from ``TestProcess/executable(_:)``.
    ///   - arguments: Its arguments.
    ///   - log: The file its output is appended to (created when missing).
    ///   - environment: Extra environment variables.
    public init(
        _ executable: String, arguments: [String], log: String, environment: [String: String] = [:]
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if !FileManager.default.fileExists(atPath: log) {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        logPath = log
        try process.run()
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }

    /// Its exit status (or the number of the signal that ended it); `nil` while it runs.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Whether a signal (rather than `exit`) ended it.
    public var wasKilledBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    /// Its output so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends a signal.
    public func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits until it exits or a timeout passes, without blocking a thread of the test's executor.
    /// - Returns: Its exit status, or `nil` if it still runs.
    @discardableResult
    public func waitForExit(timeout: TimeInterval) async -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < end {
            // Cancelled (a test's time limit): sleeps return at once, so wait on a thread of its own.
            if Task.isCancelled {
                await onOwnThread { [process] in
                    while process.isRunning, Date() < end { usleep(20_000) }
                }
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exitStatus
    }

    /// SIGTERM, a wait of at most `timeout`, then SIGKILL: the process is gone when this returns.
    /// - Returns: The exit status after SIGTERM, or `nil` if it had to be killed.
    @discardableResult
    public func terminate(timeout: TimeInterval = 10) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        signal(SIGTERM)
        if let status = await waitForExit(timeout: timeout) { return status }
        kill9()
        await waitForExit(timeout: 10)
        return nil
    }

    /// `kill -9`, and a wait (bounded) until the kernel has reaped it.
    public func kill9() {
        signal(SIGKILL)
        let end = Date().addingTimeInterval(10)
        while process.isRunning, Date() < end { usleep(10_000) }
    }

    /// For `defer`: SIGTERM now, and a wait of at most `timeout` then SIGKILL on a thread of its own.
    ///
    /// It does not block the caller: a `defer` runs on one of the few threads of Swift concurrency's
    /// pool (two on a two-core machine), which the in-process servers of tests running in parallel
    /// need to answer. A process still stopping when the test run ends is killed then.
    public func stop(timeout: TimeInterval = 10) {
        guard process.isRunning else { return }
        signal(SIGTERM)
        let pid = self.pid
        StoppingProcesses.add(pid)
        Thread.detachNewThread { [self] in
            let end = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < end { usleep(20_000) }
            if process.isRunning { kill9() }
            StoppingProcesses.remove(pid)
        }
    }

    /// An executable of this package built beside the test bundle (`.build/debug/NAME`).
    public static func executable(_ name: String) -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
                .path,
            root.appendingPathComponent(".build/debug/\(name)").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }

    /// Runs a program to its end (bounded) and returns its exit status and output.
    /// - Returns: The status, or `nil` if it had to be killed after `timeout`.
    public static func run(
        _ executable: String, arguments: [String], log: String, timeout: TimeInterval = 60,
        environment: [String: String] = [:]
    ) async throws -> (status: Int32?, output: String) {
        let process = try TestProcess(executable, arguments: arguments, log: log, environment: environment)
        let status = await process.waitForExit(timeout: timeout)
        if status == nil { await process.terminate(timeout: 2) }
        return (status, process.output)
    }
}

/// A TCP port free on the loopback interface now: bind port 0, read it, release it (the process
/// under test binds it a moment later).
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A temporary folder for one test, removed by ``remove()``.
public struct TestDirectory: Sendable {
    /// Its URL.
    public let url: URL

    /// Creates a new empty folder under the temporary directory.
    public init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside it.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes a text file inside it and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let path = path(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The lines of a file inside it (none when it is missing).
    public func lines(_ name: String) -> [String] {
        ((try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Removes it.
    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Processes sent SIGTERM by ``TestProcess/stop(timeout:)`` and not yet gone: killed when the test
/// process exits, so that none outlives the run.
enum StoppingProcesses {
    private static let pids: Mutex<Set<Int32>> = {
        atexit {
            for pid in StoppingProcesses.all { kill(pid, SIGKILL) }
        }
        return Mutex([])
    }()

    static func add(_ pid: Int32) { _ = pids.withLock { $0.insert(pid) } }
    static func remove(_ pid: Int32) { _ = pids.withLock { $0.remove(pid) } }
    static var all: Set<Int32> { pids.withLock { $0 } }
}

/// Runs blocking work (`poll`, `usleep`, a child's stop) on a thread of its own and waits for it
/// without holding one of Swift concurrency's threads: with two cores the pool has two, and the
/// in-process servers of tests running in parallel need them to answer.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
