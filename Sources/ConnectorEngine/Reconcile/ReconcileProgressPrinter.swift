public import Foundation
public import Logging
public import OktaClient
import Synchronization

/// A reconcile's progress for a person: on a terminal one line redrawn in place, at least every
/// second during a rate-limit wait (so it never looks frozen); otherwise plain lines every few
/// seconds. Log lines are written on a line of their own: the progress line is cleared first and
/// drawn again after (``ProgressAwareLogHandler``).
public final class ReconcileProgressPrinter: Sendable {
    struct State {
        var lastDrawn = Date.distantPast
        var shown = false
        var progress: ReconcileProgress?
        /// When ``progress`` was reported: its ETA counts down from there.
        var reportedAt = Date.distantPast
        var wait: RateLimitWait?
        var line: String?
    }

    let terminal: Bool
    let write: @Sendable (String) -> Void
    let now: @Sendable () -> Date
    private let state = Mutex(State())

    /// Creates a printer.
    /// - Parameters:
    ///   - terminal: Whether the output is a terminal (a redrawn line) or not (plain lines).
    ///   - now: The time, for the seconds left in a wait.
    ///   - write: Writes text as is (standard output by default).
    public init(
        terminal: Bool, now: @escaping @Sendable () -> Date = { Date() },
        write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }
    ) {
        self.terminal = terminal
        self.now = now
        self.write = write
    }

    /// A new progress report of the run.
    public func update(_ progress: ReconcileProgress) {
        let instant = now()
        draw { state in
            state.progress = progress
            state.reportedAt = instant
            if let wait = progress.wait { state.wait = wait }
        }
    }

    /// A rate-limit wait starts: shown at once. Concurrent calls waiting for the same reset are one
    /// wait: plain output gets one line for it, not one per call.
    public func waiting(_ wait: RateLimitWait) {
        let instant = now()
        let isNew = state.withLock { state in
            guard let shown = state.wait, shown.until > instant else { return true }
            return abs(shown.until.timeIntervalSince(wait.until)) > 1
        }
        draw(force: terminal || isNew) { $0.wait = wait }
    }

    /// Redraws the line while a wait lasts (call every second): the seconds left count down.
    public func tick() {
        let waiting = state.withLock { state in state.wait.map { $0.until > now() } ?? false }
        guard waiting else { return }
        draw(force: terminal) { _ in }
    }

    /// Ticks every second until cancelled.
    public func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            tick()
        }
    }

    /// Ends the progress line (before the summary).
    public func finish() {
        let shown = state.withLock { state in
            defer { state.shown = false }
            return state.shown
        }
        if terminal, shown { write("\n") }
    }

    /// Clears the progress line so that a log line starts on a fresh line; ``redraw()`` puts it back.
    public func clearLine() {
        guard terminal else { return }
        if state.withLock({ $0.shown }) { write("\r\u{1B}[K") }
    }

    /// Draws the last line again (after a log line).
    public func redraw() {
        guard terminal, let line = state.withLock({ $0.shown ? $0.line : nil }) else { return }
        write(line)
    }

    /// The text of the line: counts, the wait in progress or the ETA.
    /// - Parameters:
    ///   - progress: The last report.
    ///   - wait: The rate-limit wait in progress, if any.
    ///   - instant: The time now.
    ///   - reportedAt: When the report was made (its ETA counts down from there); now by default.
    public func text(
        _ progress: ReconcileProgress?, wait: RateLimitWait?, at instant: Date, reportedAt: Date? = nil
    ) -> String {
        var line = ""
        if let progress {
            line = "\(progress.phase): \(progress.listed) users listed, \(progress.calls) Okta calls"
            if progress.rateLimitWaits > 0 { line += ", \(progress.rateLimitWaits) rate-limit waits" }
        }
        if let wait, wait.until > instant {
            line += (line.isEmpty ? "" : "; ") + wait.text(now: instant)
        } else if let progress, let unknown = progress.etaUnknown {
            // Part of the run cannot be counted yet: say so, with what can be, as a lower bound.
            if let eta = progress.eta(at: instant, reportedAt: reportedAt ?? instant) {
                line += ", at least \(Self.duration(eta)) left (\(unknown))"
            } else {
                line += ", time left unknown (\(unknown))"
            }
        } else if let eta = progress?.eta(at: instant, reportedAt: reportedAt ?? instant) {
            line += ", about \(Self.duration(eta)) left"
        }
        return line
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let whole = max(0, Int(seconds.rounded()))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    private func draw(force: Bool = false, _ change: (inout State) -> Void) {
        let instant = now()
        let output: String? = state.withLock { state in
            change(&state)
            let interval: TimeInterval = terminal ? 0.2 : 5
            guard force || instant.timeIntervalSince(state.lastDrawn) >= interval else { return nil }
            let line = text(state.progress, wait: state.wait, at: instant, reportedAt: state.reportedAt)
            guard !line.isEmpty else { return nil }
            state.lastDrawn = instant
            state.shown = true
            state.line = line
            return terminal ? "\r\u{1B}[K" + line : line + "\n"
        }
        if let output { write(output) }
    }
}

/// Wraps a log handler so that its lines never glue onto a progress line on a terminal.
public struct ProgressAwareLogHandler: LogHandler {
    var inner: any LogHandler
    let printer: ReconcileProgressPrinter

    /// Creates the wrapper.
    public init(_ inner: any LogHandler, printer: ReconcileProgressPrinter) {
        self.inner = inner
        self.printer = printer
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        printer.clearLine()
        inner.log(event: event)
        printer.redraw()
    }
}
