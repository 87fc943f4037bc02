import SwiftdNetlink
import SwiftdSystem

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
    /// Whether containers on the bridge may reach each other (`--icc`); without it, only
    /// `BridgeDriver.link` opens the ports of one container to another.
    public var interContainerCommunication: Bool
    /// The host address published ports bind to when a binding names none (`--ip`); nil for
    /// `0.0.0.0`.
    public var defaultHostIP: String?
    /// The part of the bridge subnet container addresses come from (`--fixed-cidr`), such as
    /// `172.17.1.0/24`; nil for the whole subnet.
    public var fixedCIDR: String?
    /// A directory where the driver keeps its address allocations across restarts; nil to
    /// keep them in memory only.
    public var stateDirectory: String?
    /// Whether the bridge is cut off from everything but itself (`network create --internal`):
    /// no MASQUERADE, no forwarding to or from other interfaces, and no traffic to the host's
    /// addresses outside the subnet.
    public var isInternal = false
    /// Whether the subnet's traffic to other interfaces is masqueraded as the host's address
    /// (`com.docker.network.bridge.enable_ip_masquerade`). Without it, no MASQUERADE rule is
    /// written and containers leave with their own addresses.
    public var enableIPMasquerade = true
    /// Addresses of the subnet that are never given to containers, such as the auxiliary
    /// addresses of `network create --aux-address`.
    public var excludedAddresses: [String] = []
    /// Whether a missing bridge is created; false makes `BridgeDriver.init` fail instead, as
    /// dockerd does for a `-b` bridge that does not exist.
    public var createsMissingBridge = true
    /// Whether an existing bridge that `stateDirectory` records as made by swiftd is this
    /// driver's to delete at shutdown, and to delete and make again when its address differs
    /// from `bridgeIP`. False for a new network: a bridge that exists before the network does
    /// belongs to someone else, even if its name is recorded.
    public var adoptsRecordedBridge = true

    public init(
        bridgeName: String = "swiftd0", bridgeIP: String? = nil,
        enableIPTables: Bool = true, enableIPForward: Bool = true, mtu: Int? = nil,
        interContainerCommunication: Bool = true, defaultHostIP: String? = nil,
        fixedCIDR: String? = nil, stateDirectory: String? = nil
    ) {
        self.bridgeName = bridgeName
        self.bridgeIP = bridgeIP
        self.enableIPTables = enableIPTables
        self.enableIPForward = enableIPForward
        self.mtu = mtu
        self.interContainerCommunication = interContainerCommunication
        self.defaultHostIP = defaultHostIP
        self.fixedCIDR = fixedCIDR
        self.stateDirectory = stateDirectory
    }
}

/// A published port: a host address and port forwarded to a container port.
public struct PortBinding: Sendable, Codable, Equatable, Hashable {
    /// The host address, such as `0.0.0.0`; "" for the driver's default.
    public var hostIP: String
    /// The host port; 0 asks for a free port of the ephemeral range.
    public var hostPort: Int
    /// The last port of a host port range, such as 8010 for `8000-8010`, from which the first
    /// free port is taken; nil for `hostPort` alone.
    public var hostPortEnd: Int?
    /// The container port.
    public var containerPort: Int
    /// `tcp` or `udp`.
    public var proto: String

    public init(
        hostIP: String = "", hostPort: Int, hostPortEnd: Int? = nil, containerPort: Int,
        proto: String = "tcp"
    ) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.hostPortEnd = hostPortEnd
        self.containerPort = containerPort
        self.proto = proto
    }
}

/// A container port and protocol, as a link opens it.
public struct ExposedPort: Sendable, Codable, Equatable, Hashable {
    /// The port number.
    public var port: Int
    /// `tcp` or `udp`.
    public var proto: String

    public init(port: Int, proto: String = "tcp") {
        self.port = port
        self.proto = proto
    }
}

/// A container's connection to the bridge, as stored with the container.
public struct Endpoint: Sendable, Codable, Equatable {
    /// The container the endpoint belongs to.
    public var containerID: String
    /// The endpoint's ID, 64 hexadecimal digits as dockerd's endpoint IDs; nil in records
    /// saved before endpoints had one.
    public var id: String?
    /// The host end of the veth pair, such as `veth1a2b3c4`.
    public var hostInterface: String
    /// The container's address, such as `172.17.0.2`.
    public var ipAddress: String
    /// The prefix length of the bridge subnet, such as 16.
    public var prefixLength: Int
    /// The container's default gateway (the bridge address), such as `172.17.0.1`.
    public var gateway: String
    /// The MAC address of the container's interface: the one the container asked for, else
    /// derived from `ipAddress`.
    public var macAddress: String
    /// The interface in the container, such as `eth1`; nil in records saved before a container
    /// could have several, which means `eth0`.
    public var interfaceName: String?

    public init(
        containerID: String, hostInterface: String, ipAddress: String, prefixLength: Int,
        gateway: String, macAddress: String, interfaceName: String = "eth0", id: String? = nil
    ) {
        self.containerID = containerID
        self.id = id
        self.hostInterface = hostInterface
        self.ipAddress = ipAddress
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.macAddress = macAddress
        self.interfaceName = interfaceName
    }
}

extension Endpoint {
    /// The endpoint ID shown by inspect and in errors: `id`, or the host end of the veth for an
    /// endpoint saved without one.
    public var endpointID: String { id ?? hostInterface }
}

/// Derives the MAC address Docker gives a container: `02:42` followed by the four bytes of its IPv4
/// address (locally administered, unicast), so `172.17.0.2` gets `02:42:ac:11:00:02`.
public func macAddressBytes(for address: IPv4Address) -> [UInt8] {
    [0x02, 0x42] + address.bytes
}

/// Formats `macAddressBytes(for:)` as lowercase colon-separated text.
public func macAddress(for address: IPv4Address) -> String {
    formatMACAddress(macAddressBytes(for: address))
}

/// Formats MAC address bytes as lowercase colon-separated text, such as `02:42:ac:11:00:02`.
public func formatMACAddress(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let text = String(byte, radix: 16)
        return text.count == 1 ? "0" + text : text
    }.joined(separator: ":")
}

/// Parses the MAC address of a container's interface (`--mac-address`) in the forms Go's
/// `net.ParseMAC` reads: `02:42:ac:11:00:02`, `02-42-ac-11-00-02` or `0242.ac11.0002`.
///
/// - Throws: `SwiftdError` (`invalidArgument`): dockerd's "invalid MAC address TEXT" for text
///   in none of these forms. An address that is not 6 bytes long, or is a multicast address,
///   gets the same words and the reason, as does the all-zero address, because the kernel
///   rejects these for an Ethernet link.
public func parseMACAddress(_ text: String) throws -> [UInt8] {
    let invalid = SwiftdError(.invalidArgument, "invalid MAC address \(text)")
    let groups: [Substring]
    let digitsPerGroup: Int
    if text.contains(":") || text.contains("-") {
        let separator: Character = text.contains(":") ? ":" : "-"
        groups = text.split(separator: separator, omittingEmptySubsequences: false)
        digitsPerGroup = 2
    } else {
        groups = text.split(separator: ".", omittingEmptySubsequences: false)
        digitsPerGroup = 4
    }
    var bytes: [UInt8] = []
    for group in groups {
        guard group.count == digitsPerGroup, group.allSatisfy(\.isHexDigit) else { throw invalid }
        var rest = group
        while !rest.isEmpty {
            guard let byte = UInt8(rest.prefix(2), radix: 16) else { throw invalid }
            bytes.append(byte)
            rest = rest.dropFirst(2)
        }
    }
    // Go's forms: 6, 8 or 20 bytes.
    guard [6, 8, 20].contains(bytes.count) else { throw invalid }

    guard bytes.count == 6 else {
        throw SwiftdError(
            .invalidArgument, "invalid MAC address \(text): an Ethernet address has 6 bytes")
    }
    guard bytes.contains(where: { $0 != 0 }) else {
        throw SwiftdError(
            .invalidArgument,
            "invalid MAC address \(text): the all-zero address cannot be an interface's address")
    }
    guard bytes[0] & 1 == 0 else {
        throw SwiftdError(
            .invalidArgument,
            "invalid MAC address \(text): a multicast address cannot be an interface's address")
    }
    return bytes
}
