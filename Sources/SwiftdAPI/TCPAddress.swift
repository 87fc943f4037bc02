#if canImport(Glibc)
    import Glibc
#endif

/// The host and port of a `tcp://HOST:PORT` API address. An IPv6 host is written in brackets
/// (`tcp://[::1]:2376`) and stored without them.
public struct TCPAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Splits `address` (`tcp://HOST[:PORT][/]`) into host and port, using `defaultHost` for an
    /// empty host and `defaultPort` for a missing port. The host is not resolved or checked.
    ///
    /// - Throws: `TCPAddressError` when the port is not a number from 1 to 65535, or an IPv6
    ///   address lacks its brackets.
    public init(parsing address: String, defaultHost: String, defaultPort: UInt16) throws(TCPAddressError) {
        var rest = address.hasPrefix("tcp://") ? String(address.dropFirst("tcp://".count)) : address
        if rest.hasSuffix("/") { rest.removeLast() }
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw TCPAddressError(address: address, reason: "the IPv6 address has no closing bracket")
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw TCPAddressError(address: address, reason: "expected :PORT after the IPv6 address")
                }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
            guard !host.contains(":") else {
                throw TCPAddressError(
                    address: address, reason: "an IPv6 address needs brackets, such as tcp://[::1]:2376")
            }
        } else {
            host = rest
        }
        if host.isEmpty { host = defaultHost }
        port = defaultPort
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else {
                throw TCPAddressError(address: address, reason: "the port must be a number from 1 to 65535")
            }
            port = parsed
        }
    }

    /// Reports whether the host is an IPv6 address.
    public var isIPv6: Bool { host.contains(":") }

    /// The address as `tcp://` text, with brackets around an IPv6 host.
    public var description: String { isIPv6 ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)" }
}

/// A `tcp://` address that cannot be split into host and port.
public struct TCPAddressError: Error, Sendable, CustomStringConvertible {
    public var address: String
    /// The fault in the address, such as "the port must be a number from 1 to 65535".
    public var reason: String

    public var description: String { "invalid \(address): \(reason)" }
}
