import SwiftdNetlink

/// The settings of the daemon's bridge.
public struct BridgeConfiguration: Sendable {
    /// The bridge interface name (`-b`); at most 15 bytes.
    public var bridgeName: String
    /// The bridge's address and prefix (`--bip`), such as `172.17.0.1/16`; nil to use the
    /// bridge's existing address or pick a free subnet.
    public var bridgeIP: String?
    /// Whether to install NAT and forwarding rules (`--iptables`).
    public var enableIPTables: Bool
    /// Whether to turn on `net.ipv4.ip_forward` (`--ip-forward`).
    public var enableIPForward: Bool
    /// The MTU of a new bridge and of container links; nil for the default route's MTU, or
    /// 1500 without one.
    public var mtu: Int?

    public init(
        bridgeName: String = "swiftd0", bridgeIP: String? = nil,
        enableIPTables: Bool = true, enableIPForward: Bool = true, mtu: Int? = nil
    ) {
        self.bridgeName = bridgeName
        self.bridgeIP = bridgeIP
        self.enableIPTables = enableIPTables
        self.enableIPForward = enableIPForward
        self.mtu = mtu
    }
}

/// A container's connection to the bridge, as stored with the container.
public struct Endpoint: Sendable, Codable, Equatable {
    /// The container the endpoint belongs to.
    public var containerID: String
    /// The host end of the veth pair, such as `veth1a2b3c4`.
    public var hostInterface: String
    /// The container's address, such as `172.17.0.2`.
    public var ipAddress: String
    /// The prefix length of the bridge subnet, such as 16.
    public var prefixLength: Int
    /// The container's default gateway (the bridge address), such as `172.17.0.1`.
    public var gateway: String
    /// The MAC address of the container's `eth0`, derived from `ipAddress`.
    public var macAddress: String

    public init(
        containerID: String, hostInterface: String, ipAddress: String, prefixLength: Int,
        gateway: String, macAddress: String
    ) {
        self.containerID = containerID
        self.hostInterface = hostInterface
        self.ipAddress = ipAddress
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.macAddress = macAddress
    }
}

/// Derives the MAC address Docker gives a container: `02:42` followed by the four bytes of its IPv4
/// address (locally administered, unicast), so `172.17.0.2` gets `02:42:ac:11:00:02`.
public func macAddressBytes(for address: IPv4Address) -> [UInt8] {
    [0x02, 0x42] + address.bytes
}

/// Formats `macAddressBytes(for:)` as lowercase colon-separated text.
public func macAddress(for address: IPv4Address) -> String {
    macAddressBytes(for: address).map { byte in
        let text = String(byte, radix: 16)
        return text.count == 1 ? "0" + text : text
    }.joined(separator: ":")
}
