/// One rule of an iptables chain, in the shape swiftd manages: a source and a destination
/// network, an in and an out interface (each optionally negated), a protocol (`tcp` or `udp`)
/// with source and destination port, an `addrtype` destination type, a `conntrack` state match,
/// and a target.
///
/// The target is a verdict (`ACCEPT`, `DROP`, `RETURN`), a chain name to jump to,
/// `MASQUERADE`, or `DNAT` to `toDestination`. `IPTablesTable.rules(in:)` reads back only the
/// source, the interfaces and the target: rules with more criteria (a protocol, a destination,
/// matches) have `hasOtherCriteria` set and never equal a rule built here; the table's append,
/// insert and delete calls compare whole rules in the kernel's form instead.
public struct IPTablesRule: Sendable, Hashable, CustomStringConvertible {
    /// The source network in CIDR notation, such as `172.17.0.0/16`, or nil for any.
    public var source: String?
    /// The input interface (`-i`), or nil for any.
    public var inInterface: String?
    /// True for `! -i`.
    public var inInterfaceNegated: Bool
    /// The output interface (`-o`), or nil for any.
    public var outInterface: String?
    /// True for `! -o`.
    public var outInterfaceNegated: Bool
    /// The destination network in CIDR notation (a plain address means /32), or nil for any.
    public var destination: String?
    /// True for `! -d`.
    public var destinationNegated: Bool = false
    /// `tcp` or `udp` (`-p`), or nil for any protocol; the ports need one.
    public var proto: String?
    /// The source port (`--sport`), or nil for any.
    public var sourcePort: Int?
    /// The destination port (`--dport`), or nil for any.
    public var destinationPort: Int?
    /// `-m addrtype --dst-type LOCAL` when true.
    public var destinationIsLocal: Bool = false
    /// The connection tracking states of `-m conntrack --ctstate`, or empty for no such match.
    public var connectionStates: ConnectionStates = []
    /// The target (`-j`).
    public var target: String
    /// For `DNAT`: the new destination, `a.b.c.d` or `a.b.c.d:port`.
    public var toDestination: String?
    /// True for a rule read from the kernel with criteria this type does not model.
    public private(set) var hasOtherCriteria: Bool

    /// Creates a rule; nil fields match anything.
    public init(
        source: String? = nil, destination: String? = nil, destinationNegated: Bool = false,
        inInterface: String? = nil, inInterfaceNegated: Bool = false,
        outInterface: String? = nil, outInterfaceNegated: Bool = false, proto: String? = nil,
        sourcePort: Int? = nil, destinationPort: Int? = nil, destinationIsLocal: Bool = false,
        connectionStates: ConnectionStates = [], target: String, toDestination: String? = nil
    ) {
        self.source = source
        self.destination = destination
        self.destinationNegated = destinationNegated
        self.inInterface = inInterface
        self.inInterfaceNegated = inInterfaceNegated
        self.outInterface = outInterface
        self.outInterfaceNegated = outInterfaceNegated
        self.proto = proto
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.destinationIsLocal = destinationIsLocal
        self.connectionStates = connectionStates
        self.target = target
        self.toDestination = toDestination
        self.hasOtherCriteria = false
    }

    init(
        source: String?, inInterface: String?, inInterfaceNegated: Bool, outInterface: String?,
        outInterfaceNegated: Bool, target: String, hasOtherCriteria: Bool
    ) {
        self.init(
            source: source, inInterface: inInterface, inInterfaceNegated: inInterfaceNegated,
            outInterface: outInterface, outInterfaceNegated: outInterfaceNegated, target: target)
        self.hasOtherCriteria = hasOtherCriteria
    }

    /// True when the rule names `interface` as its input or output interface.
    public func mentions(interface: String) -> Bool {
        inInterface == interface || outInterface == interface
    }

    /// The rule in `iptables -S` form without the `-A CHAIN` part, such as
    /// `-s 172.17.0.0/16 ! -o swiftd0 -j MASQUERADE`.
    public var description: String {
        var parts: [String] = []
        if let source { parts.append("-s \(source)") }
        if let destination {
            parts.append((destinationNegated ? "! " : "") + "-d \(destination)")
        }
        if let inInterface { parts.append((inInterfaceNegated ? "! " : "") + "-i \(inInterface)") }
        if let outInterface {
            parts.append((outInterfaceNegated ? "! " : "") + "-o \(outInterface)")
        }
        if let proto { parts.append("-p \(proto)") }
        if let sourcePort { parts.append("--sport \(sourcePort)") }
        if let destinationPort { parts.append("--dport \(destinationPort)") }
        if destinationIsLocal { parts.append("-m addrtype --dst-type LOCAL") }
        if !connectionStates.isEmpty {
            parts.append("-m conntrack --ctstate \(connectionStates.description)")
        }
        if hasOtherCriteria { parts.append("(more criteria)") }
        parts.append("-j \(target)")
        if let toDestination { parts.append("--to-destination \(toDestination)") }
        return parts.joined(separator: " ")
    }

    /// Splits `a.b.c.d/n` into network-order address and mask, or nil if malformed.
    static func parseSource(_ text: String) -> (address: UInt32, mask: UInt32)? {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        let prefix: Int
        if halves.count == 1 {
            prefix = 32
        } else if halves.count == 2, let value = Int(halves[1]), (0...32).contains(value) {
            prefix = value
        } else {
            return nil
        }
        let octets = halves[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var address: UInt32 = 0
        for octet in octets {
            guard (1...3).contains(octet.count), let byte = UInt8(octet) else { return nil }
            address = address << 8 | UInt32(byte)
        }
        let mask: UInt32 = prefix == 0 ? 0 : UInt32.max << (32 - prefix)
        return ((address & mask).bigEndian, mask.bigEndian)
    }

    /// Formats a network-order address and mask as `a.b.c.d/n`; nil for 0.0.0.0/0.
    static func formatSource(address: UInt32, mask: UInt32) -> String? {
        let hostMask = UInt32(bigEndian: mask)
        if hostMask == 0 { return nil }
        let value = UInt32(bigEndian: address)
        let octets = [value >> 24, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF]
        return octets.map(String.init).joined(separator: ".") + "/\(hostMask.nonzeroBitCount)"
    }
}

/// The connection tracking states that `-m conntrack --ctstate` matches. The raw values are
/// swiftd's own; `IPTablesTable` converts them to the kernel's bits.
public struct ConnectionStates: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `INVALID`: the packet belongs to no known connection.
    public static let invalid = ConnectionStates(rawValue: 1 << 0)
    /// `NEW`: the packet starts a connection.
    public static let new = ConnectionStates(rawValue: 1 << 1)
    /// `RELATED`: the packet starts a connection tied to a known one, such as an ICMP error.
    public static let related = ConnectionStates(rawValue: 1 << 2)
    /// `ESTABLISHED`: the packet belongs to a connection that has seen traffic both ways.
    public static let established = ConnectionStates(rawValue: 1 << 3)
    /// `UNTRACKED`: the packet was exempted from connection tracking.
    public static let untracked = ConnectionStates(rawValue: 1 << 4)

    /// The states as `iptables -S` prints them, such as `RELATED,ESTABLISHED`.
    public var description: String {
        let names: [(ConnectionStates, String)] = [
            (.invalid, "INVALID"), (.new, "NEW"), (.related, "RELATED"),
            (.established, "ESTABLISHED"), (.untracked, "UNTRACKED"),
        ]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// A failed libiptc call: the call, the table and chain, and libiptc's reason.
public struct IPTablesError: Error, Sendable, CustomStringConvertible {
    /// The libiptc function (or system call) that failed, such as `iptc_commit`.
    public var operation: String
    /// The table and chain, such as `nat POSTROUTING`.
    public var subject: String
    /// The errno value, or 0 when the failure did not come from the system.
    public var errno: Int32
    /// The `iptc_strerror` text, or a description of the problem.
    public var reason: String

    public init(operation: String, subject: String, errno: Int32, reason: String) {
        self.operation = operation
        self.subject = subject
        self.errno = errno
        self.reason = reason
    }

    public var description: String { "\(operation) \(subject): \(reason)" }
}
