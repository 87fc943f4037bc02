import SwiftdNetlink

/// An IPv4 network: a network address and a prefix length, such as `172.17.0.0/16`.
public struct IPv4Subnet: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits zero).
    public let network: IPv4Address
    /// The length of the prefix, 0 to 32.
    public let prefixLength: Int

    /// Creates the subnet of `prefixLength` bits that contains `address`.
    public init(containing address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength), "prefix length out of range")
        self.prefixLength = prefixLength
        self.network = IPv4Address(address.value & Self.mask(prefixLength))
    }

    /// Parses `a.b.c.d/n`; host bits are dropped (`172.17.0.1/16` gives `172.17.0.0/16`).
    public init?(_ text: String) {
        guard let parsed = parseCIDR(text) else { return nil }
        self.init(containing: parsed.address, prefixLength: parsed.prefixLength)
    }

    /// The netmask as a number, such as `0xFFFF_0000` for /16.
    public var mask: UInt32 { Self.mask(prefixLength) }

    /// The broadcast address (all host bits set).
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }

    /// Reports whether `address` lies in this subnet.
    public func contains(_ address: IPv4Address) -> Bool {
        address.value & mask == network.value
    }

    /// True if `text` is an IPv4 address inside the subnet; false for malformed text.
    public func contains(address text: String) -> Bool {
        IPv4Address(text).map(contains) ?? false
    }

    /// Reports whether the two subnets share any address (one contains the other).
    public func overlaps(_ other: IPv4Subnet) -> Bool {
        contains(other.network) || other.contains(network)
    }

    public var description: String { "\(network)/\(prefixLength)" }

    static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << (32 - prefixLength)
    }
}

/// Splits `a.b.c.d/n` into its address and prefix length; nil if either part is malformed.
func parseCIDR(_ text: String) -> (address: IPv4Address, prefixLength: Int)? {
    let halves = text.split(separator: "/", omittingEmptySubsequences: false)
    guard halves.count == 2, let address = IPv4Address(String(halves[0])),
        halves[1].allSatisfy({ $0.isASCII && $0.isNumber }), (1...2).contains(halves[1].count),
        let prefix = Int(halves[1]), (0...32).contains(prefix)
    else { return nil }
    return (address, prefix)
}

/// Picks the bridge subnet when the user gave none.
public enum SubnetChooser {
    /// The candidates in order of preference: 172.17.0.0/16 to 172.31.0.0/16, then
    /// 10.0.0.0/16 to 10.255.0.0/16.
    public static let candidates: [IPv4Subnet] =
        (17...31).map {
            IPv4Subnet(containing: IPv4Address(bytes: [172, UInt8($0), 0, 0]), prefixLength: 16)
        }
        + (0...255).map {
            IPv4Subnet(containing: IPv4Address(bytes: [10, UInt8($0), 0, 0]), prefixLength: 16)
        }

    /// Returns the first candidate that overlaps none of `routes` and none of the networks of
    /// `addresses`, or nil if all are taken. Default routes (prefix 0) overlap everything and
    /// are ignored, as Docker ignores them.
    public static func chooseSubnet(avoiding routes: [Route], addresses: [InterfaceAddress])
        -> IPv4Subnet?
    {
        let taken =
            routes.filter { !$0.isDefault }.map {
                IPv4Subnet(containing: $0.destination, prefixLength: $0.prefixLength)
            }
            + addresses.map { IPv4Subnet(containing: $0.address, prefixLength: $0.prefixLength) }
        return candidates.first { candidate in !taken.contains { $0.overlaps(candidate) } }
    }
}
