import Dispatch
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The client's terminal: raw mode while attached to a container's TTY, and its window size.
struct Terminal {
    private let fd: Int32
    private var saved: termios?

    /// Wraps `fd` (standard input, usually); does nothing to it yet.
    init(fd: Int32 = 0) {
        self.fd = fd
    }

    /// Whether `fd` is a terminal.
    var isTerminal: Bool { isatty(fd) == 1 }

    /// The window size of standard output (or of `fd` when stdout is not a terminal).
    static func size() -> (rows: Int, columns: Int)? {
        Sockets.windowSize(1) ?? Sockets.windowSize(0)
    }

    /// Puts the terminal in raw mode, as `cfmakeraw` does, keeping the old settings for
    /// `restore`: keys reach the container unprocessed, and its pty does the echo.
    ///
    /// - Throws: `SystemCallError` from `tcgetattr` or `tcsetattr`.
    mutating func makeRaw() throws {
        var settings = termios()
        if tcgetattr(fd, &settings) != 0 {
            throw SystemCallError(call: "tcgetattr", subject: "fd \(fd)", errno: errno)
        }
        saved = settings
        settings.c_iflag &= ~tcflag_t(
            IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON)
        settings.c_oflag &= ~tcflag_t(OPOST)
        settings.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        settings.c_cflag &= ~tcflag_t(CSIZE | PARENB)
        settings.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        if tcsetattr(fd, TCSANOW, &settings) != 0 {
            throw SystemCallError(call: "tcsetattr", subject: "fd \(fd) raw", errno: errno)
        }
    }

    /// Restores the settings saved by `makeRaw`; does nothing if it was not called.
    func restore() {
        guard var saved else { return }
        _ = tcsetattr(fd, TCSANOW, &saved)
    }

    /// Calls `onChange` with the new size whenever the window changes (SIGWINCH), until the
    /// returned source is cancelled.
    static func watchSize(_ onChange: @escaping @Sendable (Int, Int) -> Void)
        -> any DispatchSourceSignal
    {
        signal(SIGWINCH, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        source.setEventHandler {
            if let size = Terminal.size() { onChange(size.rows, size.columns) }
        }
        source.resume()
        return source
    }
}
