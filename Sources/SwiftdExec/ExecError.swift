import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to start a container.
public enum ExecError: ClassifiedError, Equatable {
    /// argv[0] was found neither as a path nor in the container's PATH (Docker: exit 127).
    case executableNotFound(String)
    /// argv[0] exists but could not be executed (Docker: exit 126).
    case permissionDenied(String)
    /// The init failed at `stage` (such as "mount proc") with `errno`.
    case setupFailed(stage: String, errno: Int32)
    /// The spec cannot be run, for the reason given.
    case invalidSpec(String)
    /// A system call of the driver itself (clone, cgroups) failed.
    case systemCall(SystemCallError)

    public var kind: ErrorKind {
        switch self {
        case .executableNotFound, .permissionDenied, .invalidSpec: .invalidArgument
        case .setupFailed, .systemCall: .internalError
        }
    }

    public var message: String {
        switch self {
        case .executableNotFound(let name) where name.contains("/"):
            "exec: \"\(name)\": stat \(name): no such file or directory"
        case .executableNotFound(let name):
            "exec: \"\(name)\": executable file not found in $PATH"
        case .permissionDenied(let name):
            "exec: \"\(name)\": permission denied"
        case .setupFailed(let stage, let errno):
            "container init: \(stage): \(String(cString: strerror(errno)))"
        case .invalidSpec(let reason):
            "invalid container spec: \(reason)"
        case .systemCall(let error):
            error.description
        }
    }

    /// The exit code Docker records for a container that failed this way: 127 for a missing
    /// command, 126 for one that cannot run, nil otherwise.
    public var exitCode: Int32? {
        switch self {
        case .executableNotFound: 127
        case .permissionDenied: 126
        default: nil
        }
    }
}
