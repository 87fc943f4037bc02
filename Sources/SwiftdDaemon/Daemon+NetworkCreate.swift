import Foundation
import SwiftdAPI
import SwiftdNetwork
import SwiftdSystem

extension Daemon {
    /// Checks a `POST /networks/create` body as dockerd does and creates the network.
    ///
    /// The IPAM entries are checked as dockerd's `ValidateIPAM` checks them; the first IPv4
    /// entry gives the subnet, gateway, range and auxiliary addresses. The driver options
    /// `com.docker.network.bridge.name`, `enable_icc`, `com.docker.network.driver.mtu` and
    /// `host_binding_ipv4` set up the bridge; other options are kept and shown by inspect.
    ///
    /// - Throws: `SwiftdError`: `invalidArgument` for invalid IPAM settings or option values
    ///   and for `EnableIPv6`; `unsupported` for a driver other than bridge; `notFound` for an
    ///   IPAM driver other than `default`. What `NetworkRegistry.create` throws.
    func createNetwork(_ body: String) throws -> NetworkRecord {
        let request = try JSONDecoder().decode(NetworkCreateRequest.self, from: Data(body.utf8))
        guard (request.Driver ?? "bridge") == "bridge" || request.Driver == "" else {
            throw SwiftdError(
                .unsupported, "network driver \(request.Driver ?? "") is not supported: use bridge")
        }
        if request.EnableIPv6 == true {
            throw SwiftdError(
                .invalidArgument,
                "IPv6 networks are not supported: swiftd networks are IPv4 only; "
                    + "create the network without --ipv6")
        }

        let configs = request.IPAM?.Config ?? []
        var problems: [String] = []
        for config in configs where !(config.Subnet ?? "").contains(":") {
            problems += IPAMValidation.problems(
                subnet: config.Subnet ?? "", ipRange: config.IPRange, gateway: config.Gateway,
                auxiliaryAddresses: config.AuxiliaryAddresses ?? [:])
        }
        if let message = IPAMValidation.message(problems) {
            throw SwiftdError(.invalidArgument, message)
        }
        let ipamDriver = request.IPAM?.Driver ?? ""
        if ipamDriver == "null" {
            // dockerd's other built-in IPAM driver, which hands out no addresses.
            throw SwiftdError(.unsupported, "IPAM driver null is not supported: use default")
        }
        if !ipamDriver.isEmpty && ipamDriver != "default" {
            // dockerd looks any other name up as an IPAM plugin, and has none of that name.
            throw SwiftdError(.notFound, "plugin \"\(ipamDriver)\" not found")
        }

        if configs.filter({ !($0.Subnet ?? "").contains(":") }).count > 1 {
            // dockerd's bridge driver: one IPv4 subnet per network.
            throw SwiftdError(.forbidden, "bridge driver doesn't support multiple subnets")
        }
        let index = configs.firstIndex { !($0.Subnet ?? "").contains(":") }
        let range = index.map { configs[$0] }
        var options = request.Options ?? [:]
        let bridgeName = options.removeValue(forKey: "com.docker.network.bridge.name")
        _ = try NetworkRegistry.bridgeSettings(options)
        return try networks.create(
            name: request.Name, subnet: range?.Subnet, gateway: range?.Gateway,
            ipRange: range?.IPRange, bridgeName: bridgeName, labels: request.Labels ?? [:],
            id: randomID(), created: timestamp(), isInternal: request.Internal ?? false,
            reservedSubnets: network.map { [$0.subnet] } ?? [],
            reservedBridges: network.map { [$0.bridgeName: networks.builtinID("bridge") ?? ""] }
                ?? [:],
            options: options,
            auxiliaryAddresses: range?.AuxiliaryAddresses ?? [:])
    }
}

// MARK: prune

extension Daemon {
    /// Returns the time of the `until` filter of a prune, or nil without one. The value is a
    /// Go duration before now (`10m`, `1h30m`), Unix seconds (`1700000000.5`), an RFC 3339
    /// time, or a local `2006-01-02T15:04:05` or `2006-01-02`, as dockerd's `GetTimestamp`
    /// reads it.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) for more than one value or one that is none
    ///   of these.
    static func pruneCutoff(_ values: [String], now: Date = Date()) throws -> Date? {
        guard let value = values.first else { return nil }
        guard values.count == 1 else {
            throw SwiftdError(.invalidArgument, "more than one until filter specified")
        }
        if let duration = parseGoDuration(value) { return now.addingTimeInterval(-duration) }
        if value.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let seconds = Double(value)
        {
            return Date(timeIntervalSince1970: seconds)
        }
        if let date = parseTimestamp(value) { return date }
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = .current
            formatter.dateFormat = format
            if let date = formatter.date(from: value) { return date }
        }
        throw SwiftdError(
            .invalidArgument,
            "invalid until filter \"\(value)\": expected a duration such as 10m, Unix seconds "
                + "or an RFC 3339 time")
    }

    /// Parses a Go duration such as `90s`, `1h30m` or `1.5h` into seconds; nil if malformed.
    static func parseGoDuration(_ text: String) -> TimeInterval? {
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60),
            ("h", 3600),
        ]
        var rest = Substring(text)
        var sign = 1.0
        if rest.first == "-" || rest.first == "+" {
            sign = rest.first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        return sign * total
    }
}
