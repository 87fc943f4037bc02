import CSwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// An epoll set that reports readable descriptors by the tokens they were added with.
public struct Epoll: Sendable {
    public let fd: Int32

    /// - Throws: `SystemCallError` from `epoll_create1`.
    public init() throws {
        fd = swd_epoll_create()
        guard fd >= 0 else { throw SystemCallError(call: "epoll_create1", subject: "", errno: errno) }
    }

    /// Watches `descriptor` for input and for its peer's hang-up, reporting `token`.
    ///
    /// - Throws: `SystemCallError` from `epoll_ctl`.
    public func add(_ descriptor: Int32, token: UInt64) throws {
        guard swd_epoll_add(fd, descriptor, token) == 0 else {
            throw SystemCallError(call: "epoll_ctl", subject: "fd \(descriptor)", errno: errno)
        }
    }

    /// Stops watching `descriptor`; a descriptor that is not watched is ignored.
    public func remove(_ descriptor: Int32) {
        _ = swd_epoll_remove(fd, descriptor)
    }

    /// Blocks until descriptors are ready and returns their tokens.
    ///
    /// - Throws: `SystemCallError` from `epoll_wait`, except for `EINTR`, which returns none.
    public func wait(into tokens: inout [UInt64]) throws -> Int {
        let count = tokens.withUnsafeMutableBufferPointer {
            swd_epoll_wait(fd, $0.baseAddress, Int32($0.count))
        }
        if count < 0 {
            if errno == EINTR { return 0 }
            throw SystemCallError(call: "epoll_wait", subject: "", errno: errno)
        }
        return Int(count)
    }

    /// Makes a non-blocking eventfd, for waking a thread that waits on the set.
    ///
    /// - Throws: `SystemCallError` from `eventfd`.
    public static func makeEventDescriptor() throws -> Int32 {
        let descriptor = swd_eventfd()
        guard descriptor >= 0 else { throw SystemCallError(call: "eventfd", subject: "", errno: errno) }
        return descriptor
    }
}
