import CSwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Socket calls that glibc's Swift module does not expose.
public enum Sockets {
    /// Accepts a connection with `SOCK_CLOEXEC` set (accept4); returns -1 and sets errno on failure.
    public static func accept(_ listener: Int32) -> Int32 { swd_accept_cloexec(listener) }

    /// Sets or clears `FD_CLOEXEC` on `fd`.
    public static func setCloseOnExec(_ fd: Int32, _ on: Bool) throws {
        try retryingInterrupts("fcntl", "fd \(fd)") { swd_set_cloexec(fd, on ? 1 : 0) }
    }

    /// Creates a pipe with both ends close-on-exec; returns (read end, write end).
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try retryingInterrupts("pipe2") { swd_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    /// Sets or clears `O_NONBLOCK` on `fd`.
    public static func setNonBlocking(_ fd: Int32, _ on: Bool) throws {
        try retryingInterrupts("fcntl", "fd \(fd)") { swd_set_nonblocking(fd, on ? 1 : 0) }
    }

    /// The terminal size of `fd` as (rows, columns), or nil when it is not a terminal.
    public static func windowSize(_ fd: Int32) -> (rows: Int, columns: Int)? {
        var rows: UInt16 = 0
        var columns: UInt16 = 0
        guard swd_get_window_size(fd, &rows, &columns) == 0 else { return nil }
        return (Int(rows), Int(columns))
    }
}
