/// An IPv4 address, stored as a 32-bit number in host byte order.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address as a number, `172.17.0.1` being `0xAC11_0001`.
    public var value: UInt32

    /// Creates an address from its numeric value in host byte order.
    public init(_ value: UInt32) {
        self.value = value
    }

    /// Creates an address from four bytes in network order.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4, "an IPv4 address has four bytes")
        value = bytes.reduce(0) { ($0 << 8) | UInt32($1) }
    }

    /// Parses dotted-quad text such as `172.17.0.1`; returns nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let byte = UInt8(part)
            else { return nil }
            result = (result << 8) | UInt32(byte)
        }
        value = result
    }

    /// The four bytes in network order.
    public var bytes: [UInt8] {
        [
            UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF),
            UInt8(value & 0xFF),
        ]
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv4 address assigned to a link, with the prefix length of its network.
public struct InterfaceAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address itself (the `local` address in netlink terms).
    public var address: IPv4Address
    /// The length of the network prefix, 0 to 32.
    public var prefixLength: Int
    /// The kernel index of the link that holds the address.
    public var linkIndex: Int32

    public init(address: IPv4Address, prefixLength: Int, linkIndex: Int32) {
        self.address = address
        self.prefixLength = prefixLength
        self.linkIndex = linkIndex
    }

    /// The address in CIDR notation, such as `172.17.0.1/16`.
    public var description: String { "\(address)/\(prefixLength)" }
}

/// An IPv4 route from the host's routing tables.
public struct Route: Sendable, Hashable {
    /// The destination network; `0.0.0.0` with prefix length 0 for a default route.
    public var destination: IPv4Address
    /// The length of the destination prefix.
    public var prefixLength: Int
    /// The next hop, if the route goes through a gateway.
    public var gateway: IPv4Address?
    /// The kernel index of the outgoing link of the first next hop, if any.
    public var linkIndex: Int32?
    /// The routing table, such as 254 (`main`) or 255 (`local`).
    public var table: UInt32

    public init(
        destination: IPv4Address, prefixLength: Int, gateway: IPv4Address?, linkIndex: Int32?,
        table: UInt32
    ) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.linkIndex = linkIndex
        self.table = table
    }

    /// True for a route to 0.0.0.0/0.
    public var isDefault: Bool { prefixLength == 0 }
}

/// What the kernel reports about a network link.
public struct Link: Sendable, Hashable {
    /// The interface name, such as `swiftd0`.
    public var name: String
    /// The kernel's interface index.
    public var index: Int32
    /// The maximum transmission unit in bytes.
    public var mtu: Int
    /// The link type, such as `bridge` or `veth`; nil for physical devices.
    public var kind: String?
    /// True when the administrative state is up (`IFF_UP`).
    public var isUp: Bool
    /// The interface index of the bridge this link is attached to, or 0.
    public var masterIndex: Int32
    /// The IPv4 addresses assigned to the link.
    public var addresses: [InterfaceAddress]
}
