import SwiftdNetlink

/// The checks that dockerd's `ValidateIPAM` (moby `api/types/network/ipam.go`, Docker 25 and
/// later) makes on the IPAM settings of a network create request, with its messages, for IPv4.
public enum IPAMValidation {
    /// Returns what is wrong with one IPAM config entry, one message a problem, in dockerd's
    /// order: the subnet, the range, the gateway, then the auxiliary addresses by name. An
    /// empty `subnet` is invalid, so a range or gateway needs a subnet.
    public static func problems(
        subnet text: String, ipRange: String?, gateway: String?,
        auxiliaryAddresses: [String: String] = [:]
    ) -> [String] {
        guard let (address, prefixLength) = parseCIDR(text) else {
            return ["invalid subnet \(text): invalid CIDR block notation"]
        }
        let subnet = IPv4Subnet(containing: address, prefixLength: prefixLength)
        var problems: [String] = []
        if subnet.network != address {
            problems.append("invalid subnet \(text): it should be \(subnet)")
        }
        if let ipRange, !ipRange.isEmpty {
            problems += rangeProblems(ipRange, in: subnet, as: text)
        }
        if let gateway, !gateway.isEmpty,
            let problem = addressProblem(gateway, in: subnet, as: text)
        {
            problems.append("invalid gateway \(gateway): \(problem)")
        }
        for (name, auxiliary) in auxiliaryAddresses.sorted(by: { $0.key < $1.key }) {
            if let problem = addressProblem(auxiliary, in: subnet, as: text) {
                problems.append("invalid auxiliary address \(name): \(problem)")
            }
        }
        return problems
    }

    /// Joins problems into dockerd's message: `invalid network config:` and the one problem on
    /// the next line, or each problem on a line of its own after `* `. Nil for no problems.
    public static func message(_ problems: [String]) -> String? {
        switch problems.count {
        case 0: return nil
        case 1: return "invalid network config:\n\(problems[0])"
        default: return "invalid network config:\n* " + problems.joined(separator: "\n* ")
        }
    }

    /// Returns dockerd's error for addresses of a valid IPAM config entry that its allocator
    /// cannot reserve, or nil. One such address is a gateway that is the subnet's network or
    /// broadcast address. Another is an auxiliary address inside the container range
    /// (`ipRange`, else the subnet) that repeats the gateway, the network or broadcast address,
    /// or an earlier auxiliary address in name order. libnetwork reports these as internal errors, so
    /// dockerd returns status 500.
    ///
    /// `gateway` is the one given, or nil for the subnet's first host address.
    public static func allocationProblem(
        subnet text: String, ipRange: String?, gateway: String?,
        auxiliaryAddresses: [String: String]
    ) -> String? {
        guard let (address, prefixLength) = parseCIDR(text) else { return nil }
        let subnet = IPv4Subnet(containing: address, prefixLength: prefixLength)
        let reserved = [subnet.network, subnet.broadcast]
        let gatewayAddress = gateway.flatMap(IPv4Address.init)
        if let gateway, let gatewayAddress, reserved.contains(gatewayAddress) {
            return "failed to allocate gateway (\(gateway)): Address already in use"
        }
        let range = ipRange.flatMap(parseCIDR).map {
            IPv4Subnet(containing: $0.address, prefixLength: $0.prefixLength)
        } ?? subnet
        var taken = reserved + [gatewayAddress ?? IPv4Address(subnet.network.value + 1)]
        for (name, text) in auxiliaryAddresses.sorted(by: { $0.key < $1.key }) {
            // libnetwork ignores the error for an address outside the range: it reserves
            // nothing there, so such an address may repeat the gateway or another.
            guard let auxiliary = IPv4Address(text), range.contains(auxiliary) else { continue }
            if taken.contains(auxiliary) {
                return "failed to allocate secondary ip address (\(name):\(text)): Address "
                    + "already in use"
            }
            taken.append(auxiliary)
        }
        return nil
    }

    /// Checks `--ip-range` against its subnet, which the messages name as `subnetText`.
    private static func rangeProblems(
        _ text: String, in subnet: IPv4Subnet, as subnetText: String
    ) -> [String] {
        guard let (address, prefixLength) = parseCIDR(text) else {
            let family = text.contains(":") ? "parent subnet is an IPv4 block" : nil
            return ["invalid ip-range \(text): \(family ?? "invalid CIDR block notation")"]
        }
        let range = IPv4Subnet(containing: address, prefixLength: prefixLength)
        var problems: [String] = []
        if prefixLength < subnet.prefixLength {
            problems.append(
                "invalid ip-range \(text): CIDR block is bigger than its parent subnet \(subnetText)")
        }
        if range.network != address {
            problems.append("invalid ip-range \(text): it should be \(range)")
        }
        if !subnet.overlaps(range) {
            problems.append(
                "invalid ip-range \(text): parent subnet \(subnetText) doesn't contain ip-range")
        }
        return problems
    }

    /// Checks a gateway or auxiliary address against its subnet; nil if it is inside.
    private static func addressProblem(
        _ text: String, in subnet: IPv4Subnet, as subnetText: String
    ) -> String? {
        guard let address = IPv4Address(text) else {
            return text.contains(":") ? "parent subnet is an IPv4 block" : "invalid address"
        }
        return subnet.contains(address)
            ? nil : "parent subnet \(subnetText) doesn't contain this address"
    }
}
