import CNetlink

/// A failed libnl call: the operation, the link or address it acted on, and libnl's reason.
///
/// libnl returns negative `NLE_*` codes rather than setting errno. `code` is the positive
/// `NLE_*` value and `reason` the `nl_geterror` text.
public struct NetlinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The libnl function that failed, such as `rtnl_link_add`.
    public var operation: String
    /// The object of the call, such as `bridge swiftd0`.
    public var subject: String
    /// The positive `NLE_*` code.
    public var code: Int32
    /// The `nl_geterror` text for `code`.
    public var reason: String

    /// Creates an error from the negative return value of a libnl call.
    public init(operation: String, subject: String, result: Int32) {
        self.operation = operation
        self.subject = subject
        self.code = result < 0 ? -result : result
        self.reason = String(cString: nl_geterror(result))
    }

    /// True when the object does not exist (`NLE_OBJ_NOTFOUND` or `NLE_NODEV`).
    public var isNotFound: Bool { code == NLE_OBJ_NOTFOUND || code == NLE_NODEV }

    /// True when the object already exists (`NLE_EXIST`).
    public var alreadyExists: Bool { code == NLE_EXIST }

    public var description: String { "\(operation) \(subject): \(reason)" }
}

/// Throws a `NetlinkError` when `result`, the return value of a libnl call, is negative.
@inline(__always)
func check(_ result: Int32, _ operation: String, _ subject: String) throws(NetlinkError) {
    if result < 0 {
        throw NetlinkError(operation: operation, subject: subject, result: result)
    }
}
