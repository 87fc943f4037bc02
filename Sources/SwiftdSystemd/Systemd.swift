import CSystemd

/// The parts of libsystemd that a service uses: readiness notification and socket activation.
public enum Systemd {
    /// Sends `state` (such as `READY=1\nSTATUS=…`) to the manager named by `NOTIFY_SOCKET`.
    ///
    /// Returns false when `NOTIFY_SOCKET` is unset, and true once the datagram was sent.
    /// - Throws: `SystemdError` when sending fails.
    @discardableResult
    public static func notify(_ state: String) throws -> Bool {
        let result = sd_notify(0, state)
        if result < 0 { throw SystemdError(call: "sd_notify", code: -result) }
        return result > 0
    }

    /// Reports whether `fd` is a listening stream socket (`sd_is_socket`).
    public static func isListeningStreamSocket(_ fd: Int32) -> Bool {
        sd_is_socket(fd, 0, 1, 1) > 0
    }

    /// The number of sockets systemd passed to this process (from fd 3 on), and unsets the
    /// `LISTEN_*` variables so that children do not see them.
    public static func listenFileDescriptorCount() throws -> Int {
        let count = sd_listen_fds(1)
        if count < 0 { throw SystemdError(call: "sd_listen_fds", code: -count) }
        return Int(count)
    }
}

/// A failed libsystemd call and the errno it returned.
public struct SystemdError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var code: Int32

    public var description: String { "\(call) failed with errno \(code)" }
}
