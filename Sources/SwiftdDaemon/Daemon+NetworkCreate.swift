import Foundation
import SwiftdAPI
import SwiftdNetwork
import SwiftdSystem

/// The fields of a network create request that `NetworkCreateRequest` does not decode.
private struct NetworkCreateExtras: Decodable {
    struct IPAM: Decodable {
        struct Config: Decodable {
            var AuxiliaryAddresses: [String: String]?
        }
        var Config: [Config]?
    }
    var EnableIPv6: Bool?
    var IPAM: IPAM?
}

extension Daemon {
    /// Checks a `POST /networks/create` body as dockerd does and creates the network.
    ///
    /// The IPAM entries are checked as dockerd's `ValidateIPAM` checks them; the first IPv4
    /// entry gives the subnet, gateway, range and auxiliary addresses. The driver options
    /// `com.docker.network.bridge.name`, `enable_icc`, `com.docker.network.driver.mtu` and
    /// `host_binding_ipv4` set up the bridge; other options are kept and shown by inspect.
    ///
    /// - Throws: `SwiftdError`: `invalidArgument` for invalid IPAM settings or option values
    ///   and for `EnableIPv6`; `unsupported` for a driver other than bridge. What
    ///   `NetworkRegistry.create` throws.
    func createNetwork(_ body: String) throws -> NetworkRecord {
        let request = try JSONDecoder().decode(NetworkCreateRequest.self, from: Data(body.utf8))
        let extras = try JSONDecoder().decode(NetworkCreateExtras.self, from: Data(body.utf8))
        guard (request.Driver ?? "bridge") == "bridge" || request.Driver == "" else {
            throw SwiftdError(
                .unsupported, "network driver \(request.Driver ?? "") is not supported: use bridge")
        }
        if extras.EnableIPv6 == true {
            throw SwiftdError(
                .invalidArgument,
                "IPv6 networks are not supported: swiftd networks are IPv4 only; "
                    + "create the network without --ipv6")
        }

        let configs = request.IPAM?.Config ?? []
        let auxiliary = (extras.IPAM?.Config ?? []).map { $0.AuxiliaryAddresses ?? [:] }
        var problems: [String] = []
        for (index, config) in configs.enumerated() where !(config.Subnet ?? "").contains(":") {
            problems += IPAMValidation.problems(
                subnet: config.Subnet ?? "", ipRange: config.IPRange, gateway: config.Gateway,
                auxiliaryAddresses: index < auxiliary.count ? auxiliary[index] : [:])
        }
        if let message = IPAMValidation.message(problems) {
            throw SwiftdError(.invalidArgument, message)
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
            reservedSubnets: network.map { [$0.subnet] } ?? [], options: options,
            auxiliaryAddresses: index.flatMap { $0 < auxiliary.count ? auxiliary[$0] : nil } ?? [:])
    }
}
