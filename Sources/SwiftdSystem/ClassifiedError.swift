/// What went wrong, in the categories that the API maps to HTTP status codes.
public enum ErrorKind: String, Sendable {
    /// A name or ID that matches nothing (404).
    case notFound
    /// A malformed or out-of-range request value (400).
    case invalidArgument
    /// A request that the object's state forbids, such as a name in use (409).
    case conflict
    /// A request that the target never allows, such as a write to a read-only rootfs or
    /// volume, or removing a network that containers still use (403).
    case forbidden
    /// A request that swiftd cannot serve on this host or has not implemented (501).
    case unsupported
    /// A service that is not available in this daemon's mode, such as swarm (503).
    case unavailable
    /// A failure of swiftd or of the host (500).
    case internalError
}

/// An error that carries its kind, so that the API layer can pick the status code in one place.
public protocol ClassifiedError: Error, Sendable, CustomStringConvertible {
    var kind: ErrorKind { get }
    /// A one-line message for the user, as it appears in `{"message": …}`.
    var message: String { get }
}

extension ClassifiedError {
    public var description: String { message }
}

/// A classified error for the common cases that need no error type of their own.
public struct SwiftdError: ClassifiedError {
    public var kind: ErrorKind
    public var message: String

    public init(_ kind: ErrorKind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
