import CSwiftdInit
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The program and working directory of a container's monitor: the `swiftd-monitor`
/// executable, and the container's directory, where it listens on `monitor.sock` and writes
/// `exit-status`.
public struct MonitorSetup: Sendable, Equatable {
    public var executable: String
    public var directory: String

    public init(executable: String, directory: String) {
        self.executable = executable
        self.directory = directory
    }

    /// Finds `swiftd-monitor` next to the running executable (a build directory), else the
    /// packaged one in `/usr/libexec/swiftd`. Returns nil if neither exists.
    public static func findExecutable() -> String? {
        var candidates: [String] = []
        if let own = try? FileSystem.readLink("/proc/self/exe") {
            candidates.append("\(FileSystem.parent(of: own))/swiftd-monitor")
        }
        candidates.append("/usr/libexec/swiftd/swiftd-monitor")
        return candidates.first { access($0, X_OK) == 0 }
    }
}

/// The container's stdio that a monitor keeps open: the write end of its stdin pipe, and the
/// read ends of its stdout and stderr pipes, or its pty master as `stdout`.
public struct MonitoredStdio: Sendable, Equatable {
    public var stdin: Int32?
    public var stdout: Int32?
    public var stderr: Int32?

    public init(stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The daemon's connection to one container's monitor (`swiftd-monitor`), the process that is
/// the container's parent and outlives the daemon.
///
/// The monitor keeps the container's stdio open while no daemon reads it, keeps the exit
/// status until `finish` confirms that it is recorded, and greets each daemon that connects
/// with the container's pid and the stdio it keeps.
public final class ContainerMonitor: Sendable {
    /// The daemon's end of the socket; closed by `finish`.
    private let socket: Mutex<Int32>
    /// The monitor's pid when this daemon started it (it is a child to reap), else nil.
    public let monitorPid: Int32?

    init(socket: Int32, monitorPid: Int32?) {
        self.socket = Mutex(socket)
        self.monitorPid = monitorPid
    }

    /// The greeting a monitor sends to each daemon that connects.
    public struct Greeting: Sendable {
        /// The container's first process (host pid).
        public var pid: Int32
        /// The container's stdio that the monitor held, now also owned by the caller.
        public var stdio: MonitoredStdio
    }

    /// Connects to the monitor of the container whose directory is `directory`, as a daemon
    /// does after a restart, and reads its greeting. If the container has exited meanwhile, its
    /// status follows on `eventDescriptor`.
    ///
    /// - Throws: `SystemCallError` if no monitor listens there (`ENOENT`, `ECONNREFUSED`) or it
    ///   does not greet.
    public static func connect(directory: String) throws -> (ContainerMonitor, Greeting) {
        let fd = swd_monitor_connect(directory)
        if fd < 0 {
            throw SystemCallError(call: "connect", subject: "monitor in \(directory)", errno: errno)
        }
        do {
            let (message, fds) = try receive(fd, subject: directory)
            guard message.type == UInt32(SWD_MONITOR_HELLO.rawValue), message.value > 0 else {
                for held in fds where held >= 0 { close(held) }
                throw SystemCallError(call: "recvmsg", subject: "monitor greeting in \(directory)", errno: EPROTO)
            }
            let stdio = MonitoredStdio(
                stdin: fds[0] >= 0 ? fds[0] : nil, stdout: fds[1] >= 0 ? fds[1] : nil,
                stderr: fds[2] >= 0 ? fds[2] : nil)
            return (ContainerMonitor(socket: fd, monitorPid: nil), Greeting(pid: message.value, stdio: stdio))
        } catch {
            close(fd)
            throw error
        }
    }

    /// Reads the greeting of a monitor this daemon just started.
    func awaitGreeting(subject: String) throws {
        let fd = socket.withLock { $0 }
        let (message, fds) = try Self.receive(fd, subject: subject)
        for held in fds where held >= 0 { close(held) }
        if message.type == UInt32(SWD_MONITOR_FAILED.rawValue) {
            throw SystemCallError(call: "execve", subject: "swiftd-monitor for \(subject)", errno: message.value)
        }
        guard message.type == UInt32(SWD_MONITOR_HELLO.rawValue) else {
            throw SystemCallError(call: "recvmsg", subject: "monitor greeting for \(subject)", errno: EPROTO)
        }
    }

    private static func receive(_ fd: Int32, subject: String) throws
        -> (swd_monitor_message, [Int32])
    {
        var message = swd_monitor_message()
        var fds: [Int32] = [-1, -1, -1]
        let received = swd_monitor_receive(fd, &message, &fds)
        if received < 0 {
            throw SystemCallError(call: "recvmsg", subject: "monitor of \(subject)", errno: errno)
        }
        if received == 0 {
            throw SystemCallError(call: "recvmsg", subject: "monitor of \(subject)", errno: EPIPE)
        }
        return (message, fds)
    }

    /// Gives the monitor the container's stdio to hold (it keeps its own duplicates; the
    /// caller keeps its descriptors).
    ///
    /// - Throws: `SystemCallError` from `sendmsg` if the monitor is gone.
    public func hold(_ stdio: MonitoredStdio) throws {
        var fds: [Int32] = [stdio.stdin ?? -1, stdio.stdout ?? -1, stdio.stderr ?? -1]
        var mask: UInt32 = 0
        for (slot, fd) in fds.enumerated() where fd >= 0 { mask |= 1 << UInt32(slot) }
        try send(UInt32(SWD_MONITOR_KEEP.rawValue), mask: mask, fds: &fds)
    }

    /// Lets the monitor close its duplicate of the stdin pipe, so that the container reads end
    /// of file once the daemon closes its own.
    public func closeStdin() {
        var none: [Int32] = [-1, -1, -1]
        try? send(UInt32(SWD_MONITOR_CLOSE_STDIN.rawValue), mask: 0, fds: &none)
    }

    /// Duplicates the connection for an event loop to read the monitor's later messages
    /// from. The caller owns the descriptor and decodes what it reads with `exitStatus(in:)`.
    ///
    /// - Throws: `SystemCallError` from `fcntl`.
    public func eventDescriptor() throws -> Int32 {
        let fd = socket.withLock { fcntl($0, F_DUPFD_CLOEXEC, 0) }
        if fd < 0 { throw SystemCallError(call: "fcntl(F_DUPFD_CLOEXEC)", subject: "monitor socket", errno: errno) }
        return fd
    }

    /// The size of one message on `eventDescriptor`.
    public static let messageSize = MemoryLayout<swd_monitor_message>.size

    /// Decodes the messages read from `eventDescriptor` (whole messages only): the container's
    /// raw wait status, if one of them reports its exit.
    public static func exitStatus(in bytes: ArraySlice<UInt8>) -> Int32? {
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= messageSize {
            let message = bytes[offset..<offset + messageSize].withUnsafeBytes {
                $0.loadUnaligned(as: swd_monitor_message.self)
            }
            if message.type == UInt32(SWD_MONITOR_EXIT.rawValue) { return message.value }
            offset += messageSize
        }
        return nil
    }

    /// Tells the monitor that the exit is recorded, so that it ends, and closes the
    /// connection. Reaps the monitor if this daemon started it.
    public func finish() async {
        var none: [Int32] = [-1, -1, -1]
        try? send(UInt32(SWD_MONITOR_DONE.rawValue), mask: 0, fds: &none)
        socket.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
        if let monitorPid { _ = await ChildReaper.shared.exitStatus(of: monitorPid) }
    }

    /// Closes the connection without ending the monitor (at a live-restore shutdown).
    public func disconnect() {
        socket.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// Ends a monitor that is no longer wanted (its container failed to start): kills it and
    /// reaps it. Blocks until it is gone.
    public func abandon() {
        disconnect()
        if let monitorPid {
            kill(monitorPid, SIGKILL)
            _ = ChildReaper.shared.exitStatusBlocking(of: monitorPid)
        }
    }

    private func send(_ type: UInt32, mask: UInt32, fds: inout [Int32]) throws {
        try socket.withLock { fd in
            guard fd >= 0 else {
                throw SystemCallError(call: "sendmsg", subject: "monitor", errno: EBADF)
            }
            if swd_monitor_send(fd, type, 0, mask, &fds) != 0 {
                throw SystemCallError(call: "sendmsg", subject: "monitor", errno: errno)
            }
        }
    }

    /// Reads the raw wait status that a monitor wrote to the container's directory when the
    /// container exited; nil if there is none.
    public static func recordedExitStatus(directory: String) -> Int32? {
        recordedExit(directory: directory)?.status
    }

    /// Reads the raw wait status and the exit time (Unix seconds) that a monitor wrote to the
    /// container's directory. Returns nil if there is none.
    public static func recordedExit(directory: String) -> (status: Int32, time: Double?)? {
        guard let text = try? FileSystem.readString("\(directory)/exit-status") else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard let first = fields.first, let status = Int32(first) else { return nil }
        return (status, fields.count > 1 ? Double(fields[1]) : nil)
    }

    /// Kills the `swiftd-monitor` process whose working directory is `directory`, for a
    /// monitor that no daemon can reach because its socket was removed or it timed out.
    public static func killStray(directory: String) {
        guard let entries = try? FileSystem.list("/proc") else { return }
        for entry in entries {
            guard let pid = Int32(entry),
                let command = try? FileSystem.readString("/proc/\(pid)/comm"),
                command.hasPrefix("swiftd-monitor"),
                (try? FileSystem.readLink("/proc/\(pid)/cwd")) == directory
            else { continue }
            kill(pid, SIGKILL)
        }
    }
}
