#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: which call, on what, and the errno it set.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function that failed, such as `mount` or `setns`.
    public var call: String
    /// What the call acted on, such as a path or a pid.
    public var subject: String
    /// The errno value right after the call.
    public var errno: Int32

    public init(call: String, subject: String, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// The `strerror` text of `errno`.
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String {
        subject.isEmpty ? "\(call): \(reason)" : "\(call) \(subject): \(reason)"
    }
}

/// Reads the calling thread's errno.
public func currentErrno() -> Int32 { Glibc.errno }

/// Runs `body` until it no longer fails with `EINTR`, and throws the call's errno on failure.
///
/// `body` returns a negative value on failure and leaves the reason in errno, as system calls do.
@discardableResult
public func retryingInterrupts<T: SignedInteger>(
    _ call: String, _ subject: String = "", _ body: () -> T
) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemCallError(call: call, subject: subject, errno: code)
    }
}
