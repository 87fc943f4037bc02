import Foundation
import SwiftdAPI

extension Commands {
    /// The network flags of `create` and `run`.
    static let networkFlags: [FlagParser.Flag] = [
        .init(names: ["-p", "--publish"], takesValue: true),
        .init(names: ["-P", "--publish-all"], takesValue: false),
        .init(names: ["--expose"], takesValue: true),
        .init(names: ["--link"], takesValue: true),
        .init(names: ["--dns"], takesValue: true),
        .init(names: ["--dns-search"], takesValue: true),
        .init(names: ["--dns-option"], takesValue: true),
        .init(names: ["--add-host"], takesValue: true),
        .init(names: ["--network-alias"], takesValue: true),
        .init(names: ["--ip"], takesValue: true),
    ]

    /// Puts the network flags into the create request: `-p` into `PortBindings` and
    /// `ExposedPorts`, `--expose` into `ExposedPorts`, `--network-alias` and `--ip` into the
    /// `NetworkingConfig` entry of the `--network` network, and the rest into `HostConfig`.
    ///
    /// - Throws: `UsageFailure` for a malformed `-p` or `--expose`.
    func applyNetworkFlags(
        _ flags: FlagParser, request: inout ContainerCreateRequest, hostConfig: inout HostConfig
    ) throws {
        var exposed: [String: [String: String]] = [:]
        var bindings: [String: [HostPortBinding]] = [:]
        for text in flags.strings("-p") {
            for (key, binding) in try Self.parsePublish(text) {
                exposed[key] = [:]
                bindings[key, default: []].append(binding)
            }
        }
        for text in flags.strings("--expose") {
            for key in try Self.parseExpose(text) { exposed[key] = [:] }
        }
        if !exposed.isEmpty { request.ExposedPorts = exposed }
        if !bindings.isEmpty { hostConfig.PortBindings = bindings }
        if flags.bool("-P") { hostConfig.PublishAllPorts = true }
        func list(_ name: String) -> [String]? {
            flags.strings(name).isEmpty ? nil : flags.strings(name)
        }
        hostConfig.Links = list("--link")
        hostConfig.Dns = list("--dns")
        hostConfig.DnsSearch = list("--dns-search")
        hostConfig.DnsOptions = list("--dns-option")
        hostConfig.ExtraHosts = list("--add-host")
        let settings = EndpointConfig(
            Aliases: list("--network-alias"),
            IPAMConfig: flags.string("--ip").map { EndpointIPAMConfig(IPv4Address: $0) })
        if settings != EndpointConfig() {
            let network = hostConfig.NetworkMode ?? "default"
            request.NetworkingConfig = NetworkingConfig(EndpointsConfig: [network: settings])
        }
    }

    /// Parses `-p [IP:][HOSTPORT[-END]:]PORT[-END][/tcp|udp]` into container port keys
    /// (`80/tcp`) with their bindings, as the docker CLI does: a range of container ports maps
    /// pair by pair onto a host range of the same length, and one container port with a host
    /// range sends the range (`8000-8010`), from which the daemon takes the first free port.
    ///
    /// - Throws: `UsageFailure` naming the value; `LocalFailure` for ranges of different
    ///   lengths.
    static func parsePublish(_ text: String) throws -> [(String, HostPortBinding)] {
        let invalid = UsageFailure(
            message: "invalid argument \"\(text)\" for \"-p, --publish\" flag")
        var rest = text
        var proto = "tcp"
        if let slash = rest.lastIndex(of: "/") {
            proto = rest[rest.index(after: slash)...].lowercased()
            rest = String(rest[..<slash])
        }
        guard proto == "tcp" || proto == "udp" else { throw invalid }

        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let hostIP: String
        let hostPart: String
        let containerPart: String
        switch parts.count {
        case 1: (hostIP, hostPart, containerPart) = ("", "", parts[0])
        case 2: (hostIP, hostPart, containerPart) = ("", parts[0], parts[1])
        case 3: (hostIP, hostPart, containerPart) = (parts[0], parts[1], parts[2])
        default: throw invalid
        }

        guard let container = parseRange(containerPart) else { throw invalid }
        var host: ClosedRange<Int>?
        if !hostPart.isEmpty {
            guard let range = parseRange(hostPart) else { throw invalid }
            guard range.count == container.count || container.count == 1 else {
                // The docker CLI's message (go-connections `nat.ParsePortSpec`).
                throw LocalFailure(
                    "invalid ranges specified for container and host Ports: "
                        + "\(containerPart) and \(hostPart)")
            }
            host = range
        }

        if let host, container.count == 1 && host.count > 1 {
            return [
                (
                    "\(container.lowerBound)/\(proto)",
                    HostPortBinding(
                        HostIp: hostIP, HostPort: "\(host.lowerBound)-\(host.upperBound)")
                )
            ]
        }
        return container.enumerated().map { index, port in
            let hostPort = host.map { "\($0.lowerBound + index)" } ?? ""
            return ("\(port)/\(proto)", HostPortBinding(HostIp: hostIP, HostPort: hostPort))
        }
    }

    /// Parses `--expose PORT[-END][/PROTO]` into port keys.
    static func parseExpose(_ text: String) throws -> [String] {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard parts.count <= 2, proto == "tcp" || proto == "udp",
            let range = parseRange(parts[0])
        else {
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"--expose\" flag")
        }
        return range.map { "\($0)/\(proto)" }
    }

    /// Parses `N` or `N-M`, ports from 1 to 65535.
    static func parseRange(_ text: String) -> ClosedRange<Int>? {
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count <= 2, let low = Int(bounds[0]), let high = Int(bounds.last!),
            1 <= low, low <= high, high <= 65535
        else { return nil }
        return low...high
    }

    /// `swiftd port CONTAINER [PORT[/PROTO]]`: prints the container's published ports as
    /// `80/tcp -> 0.0.0.0:8080`, or with a port only its host addresses.
    func port(_ arguments: [String]) throws -> Int32 {
        guard (1...2).contains(arguments.count) else {
            throw UsageFailure(
                message: "requires 1 or 2 arguments: CONTAINER [PRIVATE_PORT[/PROTO]]")
        }
        let name = arguments[0]
        let inspect = try call("GET", "/containers/\(percentEncode(name))/json")
            .decode(ContainerInspect.self)
        let ports = inspect.NetworkSettings.Ports
        if arguments.count == 2 {
            let key = arguments[1].contains("/") ? arguments[1] : arguments[1] + "/tcp"
            guard let bindings = ports[key] ?? nil, !bindings.isEmpty else {
                throw DaemonFailure(
                    message: "No public port '\(key)' published for \(name)", exitStatus: 1)
            }
            for binding in bindings {
                print("\(binding.HostIp ?? ""):\(binding.HostPort ?? "")")
            }
            return 0
        }
        let sorted = ports.keys.sorted {
            (Int($0.split(separator: "/")[0]) ?? 0, $0) < (
                Int($1.split(separator: "/")[0]) ?? 0, $1
            )
        }
        for key in sorted {
            for binding in (ports[key] ?? nil) ?? [] {
                print("\(key) -> \(binding.HostIp ?? ""):\(binding.HostPort ?? "")")
            }
        }
        return 0
    }
}

/// Formats the PORTS column of `ps`: `0.0.0.0:8080->80/tcp` for a published port, `80/tcp` for an
/// exposed one.
func formatPorts(_ ports: [ContainerSummary.Port]) -> String {
    ports.map { port in
        if let publicPort = port.PublicPort {
            return "\(port.IP ?? ""):\(publicPort)->\(port.PrivatePort)/\(port.Type)"
        }
        return "\(port.PrivatePort)/\(port.Type)"
    }.joined(separator: ", ")
}

extension Commands {
    /// `swiftd network create|ls|inspect|rm|prune`.
    func network(_ arguments: [String]) throws -> Int32 {
        guard let verb = arguments.first else {
            throw UsageFailure(
                message:
                    "network requires a command: create, connect, disconnect, ls, inspect, rm "
                    + "or prune")
        }
        let rest = Array(arguments.dropFirst())
        switch verb {
        case "create": return try networkCreate(rest)
        case "connect": return try networkConnect(rest)
        case "disconnect": return try networkDisconnect(rest)
        case "ls", "list": return try networkList(rest)
        case "inspect": return try networkInspect(rest)
        case "rm", "remove": return try networkRemove(rest)
        case "prune": return try networkPrune(rest)
        default: throw UsageFailure(message: "unknown network command: \(verb)")
        }
    }

    /// `network create [OPTIONS] NAME`. The IPAM flags go into one IPAM config entry whenever
    /// any of them is given, so that the daemon checks them: a range or gateway without a
    /// subnet reaches it and gets dockerd's message.
    private func networkCreate(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-d", "--driver"], takesValue: true),
            .init(names: ["--subnet"], takesValue: true),
            .init(names: ["--gateway"], takesValue: true),
            .init(names: ["--ip-range"], takesValue: true),
            .init(names: ["--aux-address"], takesValue: true),
            .init(names: ["--ipv6"], takesValue: false),
            .init(names: ["--internal"], takesValue: false),
            .init(names: ["-o", "--opt"], takesValue: true),
            .init(names: ["--label"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else {
            throw UsageFailure(message: "network create requires exactly 1 argument: NAME")
        }
        var request = NetworkCreateRequest(Name: flags.positional[0])
        request.Driver = flags.string("-d") ?? "bridge"
        request.Internal = flags.bool("--internal")
        if flags.bool("--ipv6") { request.EnableIPv6 = true }
        let auxiliary = try Self.auxiliaryAddresses(flags.strings("--aux-address"))
        let subnet = flags.string("--subnet")
        let gateway = flags.string("--gateway")
        let ipRange = flags.string("--ip-range")
        if subnet != nil || gateway != nil || ipRange != nil || auxiliary != nil {
            request.IPAM = IPAMSettings(
                Config: [
                    IPAMConfig(
                        Subnet: subnet, Gateway: gateway, IPRange: ipRange,
                        AuxiliaryAddresses: auxiliary)
                ])
        }
        request.Options = Self.keyValues(flags.strings("-o"))
        request.Labels = Self.keyValues(flags.strings("--label"))
        let response = try call(
            "POST", "/networks/create", json: Array(try JSONEncoder().encode(request)))
        print(try response.decode(NetworkCreateResponse.self).Id)
        return 0
    }

    /// Parses `--aux-address NAME=ADDRESS` flags; nil when there are none.
    ///
    /// - Throws: `UsageFailure` for an entry without `=` or with an empty name.
    static func auxiliaryAddresses(_ entries: [String]) throws -> [String: String]? {
        guard !entries.isEmpty else { return nil }
        var result: [String: String] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw UsageFailure(
                    message: "invalid argument \"\(entry)\" for \"--aux-address\" flag: "
                        + "expected NAME=ADDRESS")
            }
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }

    /// `network connect [--alias NAME]… [--ip ADDRESS] NETWORK CONTAINER`.
    private func networkConnect(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--alias"], takesValue: true),
            .init(names: ["--ip"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 2 else {
            throw UsageFailure(
                message: "network connect requires exactly 2 arguments: NETWORK CONTAINER")
        }
        let aliases = flags.strings("--alias")
        let request = NetworkConnectRequest(
            Container: flags.positional[1],
            EndpointConfig: EndpointConfig(
                Aliases: aliases.isEmpty ? nil : aliases,
                IPAMConfig: flags.string("--ip").map { EndpointIPAMConfig(IPv4Address: $0) }))
        _ = try call(
            "POST", "/networks/\(percentEncode(flags.positional[0]))/connect",
            json: Array(try JSONEncoder().encode(request)))
        return 0
    }

    /// `network disconnect [-f] NETWORK CONTAINER`.
    private func networkDisconnect(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-f", "--force"], takesValue: false)])
        try flags.parse(arguments)
        guard flags.positional.count == 2 else {
            throw UsageFailure(
                message: "network disconnect requires exactly 2 arguments: NETWORK CONTAINER")
        }
        let request = NetworkDisconnectRequest(
            Container: flags.positional[1], Force: flags.bool("-f"))
        _ = try call(
            "POST", "/networks/\(percentEncode(flags.positional[0]))/disconnect",
            json: Array(try JSONEncoder().encode(request)))
        return 0
    }

    private func networkList(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-q", "--quiet"], takesValue: false),
            .init(names: ["--no-trunc"], takesValue: false),
            .init(names: ["-f", "--filter"], takesValue: true),
        ])
        try flags.parse(arguments)
        let path = "/networks" + (try Self.filtersQuery(flags.strings("-f")))
        let networks = try call("GET", path).decode([NetworkResource].self)
        let truncate = !flags.bool("--no-trunc")
        func shortID(_ id: String) -> String { truncate ? String(id.prefix(12)) : id }
        if flags.bool("-q") {
            for network in networks { print(shortID(network.Id)) }
            return 0
        }
        var rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]]
        for network in networks.sorted(by: { $0.Name < $1.Name }) {
            rows.append([shortID(network.Id), network.Name, network.Driver, network.Scope])
        }
        printTable(rows)
        return 0
    }

    private func networkInspect(_ arguments: [String]) throws -> Int32 {
        guard !arguments.isEmpty else {
            throw UsageFailure(message: "network inspect requires at least 1 argument: NETWORK")
        }
        var documents: [String] = []
        for name in arguments {
            documents.append(prettyJSON(try call("GET", "/networks/\(percentEncode(name))").body))
        }
        print("[\n" + documents.joined(separator: ",\n") + "\n]")
        return 0
    }

    private func networkRemove(_ arguments: [String]) throws -> Int32 {
        guard !arguments.isEmpty else {
            throw UsageFailure(message: "network rm requires at least 1 argument: NETWORK")
        }
        return try forEach(arguments) { name in
            _ = try call("DELETE", "/networks/\(percentEncode(name))")
        }
    }

    private func networkPrune(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-f", "--force"], takesValue: false),
            .init(names: ["--filter"], takesValue: true),
        ])
        try flags.parse(arguments)
        let path = "/networks/prune" + (try Self.filtersQuery(flags.strings("--filter")))
        let response = try call("POST", path).decode(NetworkPruneResponse.self)
        if !response.NetworksDeleted.isEmpty {
            print("Deleted Networks:")
            for name in response.NetworksDeleted { print(name) }
        }
        return 0
    }

    /// Returns `?filters=…` for `--filter KEY=VALUE` flags, or "" without any.
    static func filtersQuery(_ flags: [String]) throws -> String {
        let filters = try filterQuery(flags)
        guard !filters.isEmpty else { return "" }
        let json = String(decoding: try JSONEncoder().encode(filters), as: UTF8.self)
        return "?filters=" + percentEncode(json)
    }

    /// Parses `KEY=VALUE` options and labels; nil when there are none.
    static func keyValues(_ entries: [String]) -> [String: String]? {
        guard !entries.isEmpty else { return nil }
        var result: [String: String] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            result[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return result
    }
}
