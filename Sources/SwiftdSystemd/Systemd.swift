import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// The parts of libsystemd that a service uses: readiness notification and socket activation.
public enum Systemd {
    /// Sends `state` (such as `READY=1\nSTATUS=…`) to the manager named by `NOTIFY_SOCKET`.
    ///
    /// Returns false when `NOTIFY_SOCKET` is unset, and true once the datagram was sent.
    /// - Throws: `SystemdError` when sending fails.
    @discardableResult
    public static func notify(_ state: String) throws -> Bool {
        // Without a manager to notify, libsystemd is not loaded at all.
        guard getenv("NOTIFY_SOCKET") != nil else { return false }
        let result = libsystemd.sd_notify(0, state)
        if result < 0 { throw SystemdError(call: "sd_notify", code: -result) }
        return result > 0
    }

    /// Reports whether `fd` is a listening stream socket (`sd_is_socket`).
    public static func isListeningStreamSocket(_ fd: Int32) -> Bool {
        libsystemd.sd_is_socket(fd, 0, 1, 1) > 0
    }

    /// Returns the sockets systemd passed to this process (from fd 3 on) with their names from
    /// `LISTEN_FDNAMES` (`sd_listen_fds_with_names`), and unsets the `LISTEN_*` variables so
    /// that children do not see them. libsystemd names every socket "unknown" when
    /// `LISTEN_FDNAMES` is unset, and sets `FD_CLOEXEC` on every passed descriptor.
    ///
    /// Returns an empty list when `LISTEN_PID` is not this process or `LISTEN_FDS` is unset.
    /// - Throws: `SystemdError` when the variables are malformed.
    public static func listenFileDescriptors() throws -> [(fd: Int32, name: String)] {
        guard getenv("LISTEN_PID") != nil || getenv("LISTEN_FDS") != nil else { return [] }
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = libsystemd.sd_listen_fds_with_names(1, &names)
        if count < 0 { throw SystemdError(call: "sd_listen_fds_with_names", code: -count) }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        return (0..<count).map { index in
            let name = names?[Int(index)].map { String(cString: $0) } ?? "unknown"
            return (fd: SD_LISTEN_FDS_START + index, name: name)
        }
    }
}

/// A failed libsystemd call and the errno it returned.
public struct SystemdError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var code: Int32

    public var description: String { "\(call) failed with errno \(code)" }
}

/// libsystemd's functions, from the library that `swd_libsystemd` loads on first use.
private let libsystemd = swd_libsystemd().pointee
