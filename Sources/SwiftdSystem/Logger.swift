import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A logfmt logger writing one line per message to standard error.
///
/// When standard error is connected to journald (`JOURNAL_STREAM` is set), each line starts with
/// the sd-daemon `<N>` priority prefix so that journald keeps the level.
public struct Logger: Sendable {
    /// Message severity, from the most verbose to the most severe.
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case trace, debug, info, warning, error, critical

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        /// The name used in log lines and in `--log-level`.
        public var name: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            case .critical: "critical"
            }
        }

        /// The syslog priority that journald reads from the `<N>` prefix.
        var syslogPriority: Int {
            switch self {
            case .trace, .debug: 7
            case .info: 6
            case .warning: 4
            case .error: 3
            case .critical: 2
            }
        }

        /// Parses a `--log-level` value (`warn` and `fatal` are accepted as dockerd accepts them).
        public init?(name: String) {
            switch name.lowercased() {
            case "trace": self = .trace
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warning
            case "error": self = .error
            case "fatal", "critical", "panic": self = .critical
            default: return nil
            }
        }
    }

    private let state: LoggerState
    /// Fields added to every line of this logger.
    public var fields: [(String, String)]

    /// Creates a logger that writes messages at `level` and above.
    public init(level: Level = .info) {
        state = LoggerState(level: level, journald: getenv("JOURNAL_STREAM") != nil)
        fields = []
    }

    /// The minimum level written; changing it affects every copy of this logger.
    public var level: Level {
        get { state.level.withLock { $0 } }
        nonmutating set { state.level.withLock { $0 = newValue } }
    }

    /// A logger that adds `fields` to every line.
    public func with(_ extra: [(String, String)]) -> Logger {
        var copy = self
        copy.fields += extra
        return copy
    }

    public func trace(_ message: String, _ extra: [(String, String)] = []) { log(.trace, message, extra) }
    public func debug(_ message: String, _ extra: [(String, String)] = []) { log(.debug, message, extra) }
    public func info(_ message: String, _ extra: [(String, String)] = []) { log(.info, message, extra) }
    public func warning(_ message: String, _ extra: [(String, String)] = []) { log(.warning, message, extra) }
    public func error(_ message: String, _ extra: [(String, String)] = []) { log(.error, message, extra) }
    public func critical(_ message: String, _ extra: [(String, String)] = []) { log(.critical, message, extra) }

    /// Writes one line if `level` is enabled.
    public func log(_ level: Level, _ message: String, _ extra: [(String, String)] = []) {
        guard level >= self.level else { return }
        var line = state.journald ? "<\(level.syslogPriority)>" : ""
        if !state.journald { line += "time=\(Self.timestamp()) " }
        line += "level=\(level.name) msg=\(Self.quote(message))"
        for (key, value) in fields + extra { line += " \(key)=\(Self.quote(value))" }
        line += "\n"
        state.write(line)
    }

    /// Quotes a logfmt value when it contains spaces, quotes or `=`.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }
        guard needsQuotes else { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }

    /// The current UTC time as RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = now.tv_nsec / 1_000_000
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(millis), 3))Z"
    }
}

/// The shared, lock-protected part of every copy of a `Logger`.
private final class LoggerState: Sendable {
    let level: Mutex<Logger.Level>
    let journald: Bool
    private let output = Mutex<Void>(())

    init(level: Logger.Level, journald: Bool) {
        self.level = Mutex(level)
        self.journald = journald
    }

    /// Writes `line` to standard error in one call, so that lines from threads do not interleave.
    func write(_ line: String) {
        output.withLock { _ in
            try? FileSystem.writeAll(2, Array(line.utf8))
        }
    }
}
