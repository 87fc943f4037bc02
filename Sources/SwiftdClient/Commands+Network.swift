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
        .init(names: ["--mac-address"], takesValue: true),
    ]

    /// Puts the network flags into the create request: `-p` into `PortBindings` and
    /// `ExposedPorts`, `--expose` into `ExposedPorts`, `--network-alias`, `--ip`,
    /// `--mac-address` and the links of a user-defined network into the `NetworkingConfig`
    /// entry of the `--network` network, and the rest into `HostConfig`.
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
        // As the docker CLI, which sends an empty map without -p.
        hostConfig.PortBindings = bindings
        if flags.bool("-P") { hostConfig.PublishAllPorts = true }
        func list(_ name: String) -> [String]? {
            flags.strings(name).isEmpty ? nil : flags.strings(name)
        }
        hostConfig.Links = list("--link")
        hostConfig.Dns = list("--dns")
        hostConfig.DnsSearch = list("--dns-search")
        hostConfig.DnsOptions = list("--dns-option")
        hostConfig.ExtraHosts = try list("--add-host")?.map(Self.parseExtraHost)
        let network = hostConfig.NetworkMode ?? "default"
        // As the docker CLI does, links on a user-defined network also go to its endpoint,
        // where the daemon makes them aliases of its DNS server.
        let settings = EndpointConfig(
            Aliases: list("--network-alias"),
            IPAMConfig: flags.string("--ip").map { EndpointIPAMConfig(IPv4Address: $0) },
            Links: Self.isUserNetwork(network) ? list("--link") : nil,
            MacAddress: flags.string("--mac-address"))
        var endpoints: [String: EndpointConfig] = [:]
        let networks = flags.strings("--network")
        if networks.count > 1 {
            // Each network gets an endpoint, and the first one the settings of the flags above.
            guard networks.allSatisfy(Self.isUserNetwork) || !networks.contains(where: Self.isUserNetwork)
            else {
                throw UsageFailure(
                    message: "conflicting options: cannot attach both user-defined and "
                        + "non-user-defined network-modes")
            }
            for name in networks {
                guard endpoints[name] == nil else {
                    throw UsageFailure(message: "network \"\(name)\" is specified multiple times")
                }
                endpoints[name] = name == network ? settings : EndpointConfig()
            }
        } else if settings != EndpointConfig() {
            endpoints[network] = settings
        }
        if !endpoints.isEmpty { request.NetworkingConfig = NetworkingConfig(EndpointsConfig: endpoints) }
    }

    /// Returns whether a `--network` value names a user-defined network, not a network mode.
    static func isUserNetwork(_ network: String) -> Bool {
        !["default", "bridge", "host", "none"].contains(network) && !network.hasPrefix("container:")
    }

    /// Parses `--add-host NAME=ADDRESS` or `NAME:ADDRESS` into the `NAME:ADDRESS` form the
    /// API takes, as the docker CLI does: the address is an IPv4 or IPv6 address, optionally in
    /// square brackets, or `host-gateway`, which the daemon replaces with the bridge's address.
    ///
    /// - Throws: `UsageFailure` with the docker CLI's message for a value without a name, a
    ///   name with a colon, or an address that is none of these.
    static func parseExtraHost(_ text: String) throws -> String {
        let separator = text.contains("=") ? "=" : ":"
        let parts = text.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(":") else {
            throw UsageFailure(
                message: "invalid argument \(GoFormat.quote(text)) for \"--add-host\" flag: bad "
                    + "format for add-host: \(GoFormat.quote(text))")
        }
        var address = String(parts[1])
        if address != "host-gateway" {
            if address.count > 2 && address.hasPrefix("[") && address.hasSuffix("]") {
                address = String(address.dropFirst().dropLast())
            }
            guard parseIPBytes(address) != nil else {
                throw UsageFailure(
                    message: "invalid argument \(GoFormat.quote(text)) for \"--add-host\" flag: "
                        + "invalid IP address in add-host: \(GoFormat.quote(address))")
            }
        }
        return "\(parts[0]):\(address)"
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

    /// `network create [OPTIONS] NAME`. The IPAM flags are grouped into one IPAM config entry
    /// per `--subnet`, as the docker CLI groups them (`ipamConfigs`).
    private func networkCreate(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-d", "--driver"], takesValue: true),
            .init(names: ["--subnet"], takesValue: true),
            .init(names: ["--gateway"], takesValue: true),
            .init(names: ["--ip-range"], takesValue: true),
            .init(names: ["--aux-address"], takesValue: true),
            .init(names: ["--ipam-driver"], takesValue: true),
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
        let auxiliary = try Self.auxiliaryAddresses(flags.strings("--aux-address")) ?? [:]
        let configs = try Self.ipamConfigs(
            subnets: flags.strings("--subnet"), ipRanges: flags.strings("--ip-range"),
            gateways: flags.strings("--gateway"), auxiliaryAddresses: auxiliary)
        request.IPAM = IPAMSettings(
            Driver: flags.string("--ipam-driver") ?? "default", Config: configs)
        request.Options = Self.keyValues(flags.strings("-o"))
        request.Labels = Self.keyValues(flags.strings("--label"))
        let response = try call(
            "POST", "/networks/create", json: Array(try JSONEncoder().encode(request)))
        print(try response.decode(NetworkCreateResponse.self).Id)
        return 0
    }

    /// Groups `--subnet`, `--ip-range`, `--gateway` and `--aux-address` values into one IPAM
    /// config per subnet, in the order of the subnets, with the docker CLI's checks and
    /// messages: each range, gateway and auxiliary address goes to the subnet that contains it.
    /// A subnet alone is sent as given, for the daemon to check.
    ///
    /// - Throws: `NetworkCreateFailure` for a range or gateway without a subnet, overlapping
    ///   subnets, a value no subnet contains, or two ranges or gateways for one subnet.
    static func ipamConfigs(
        subnets: [String], ipRanges: [String], gateways: [String],
        auxiliaryAddresses: [String: String]
    ) throws -> [IPAMConfig] {
        guard subnets.count >= ipRanges.count, subnets.count >= gateways.count else {
            throw NetworkCreateFailure("every ip-range or gateway must have a corresponding subnet")
        }
        var configs: [IPAMConfig] = []
        for subnet in subnets {
            for earlier in configs.compactMap(\.Subnet) {
                if try subnetContains(subnet, earlier) || subnetContains(earlier, subnet) {
                    throw NetworkCreateFailure(
                        "multiple overlapping subnet configuration is not supported")
                }
            }
            configs.append(IPAMConfig(Subnet: subnet, Gateway: nil))
        }
        for range in ipRanges {
            var matched = false
            for index in configs.indices
            where try subnetContains(configs[index].Subnet ?? "", range) {
                if let earlier = configs[index].IPRange {
                    throw NetworkCreateFailure(
                        "cannot configure multiple ranges (\(range), \(earlier)) on the same "
                            + "subnet (\(configs[index].Subnet ?? ""))")
                }
                configs[index].IPRange = range
                matched = true
            }
            if !matched { throw NetworkCreateFailure("no matching subnet for range \(range)") }
        }
        for gateway in gateways {
            var matched = false
            for index in configs.indices
            where try subnetContains(configs[index].Subnet ?? "", gateway) {
                if let earlier = configs[index].Gateway {
                    throw NetworkCreateFailure(
                        "cannot configure multiple gateways (\(gateway), \(earlier)) for the same "
                            + "subnet (\(configs[index].Subnet ?? ""))")
                }
                configs[index].Gateway = gateway
                matched = true
            }
            if !matched { throw NetworkCreateFailure("no matching subnet for gateway \(gateway)") }
        }
        for (name, address) in auxiliaryAddresses.sorted(by: { $0.key < $1.key }) {
            var matched = false
            for index in configs.indices
            where try subnetContains(configs[index].Subnet ?? "", address) {
                configs[index].AuxiliaryAddresses = (configs[index].AuxiliaryAddresses ?? [:])
                    .merging([name: address]) { $1 }
                matched = true
            }
            if !matched {
                throw NetworkCreateFailure("no matching subnet for aux-address \(address)")
            }
        }
        return configs
    }

    /// Returns true if the CIDR block `subnet` contains `value`, an address or the address
    /// part of a CIDR block, as the docker CLI's `subnetMatches`. A value that is no address
    /// is in no subnet.
    ///
    /// - Throws: `NetworkCreateFailure` if `subnet` or a CIDR `value` is malformed.
    static func subnetContains(_ subnet: String, _ value: String) throws -> Bool {
        guard let block = parseCIDRBytes(subnet) else {
            throw NetworkCreateFailure("invalid subnet: invalid CIDR address: \(subnet)")
        }
        let address: [UInt8]?
        if value.contains("/") {
            guard let parsed = parseCIDRBytes(value) else {
                throw NetworkCreateFailure("invalid CIDR address: \(value)")
            }
            address = parsed.bytes
        } else {
            address = parseIPBytes(value)
        }
        guard let address, address.count == block.bytes.count else { return false }
        for bit in 0..<block.prefixLength {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if address[bit / 8] & mask != block.bytes[bit / 8] & mask { return false }
        }
        return true
    }

    /// Parses `ADDRESS/PREFIX` for IPv4 or IPv6; nil if malformed.
    private static func parseCIDRBytes(_ text: String) -> (bytes: [UInt8], prefixLength: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bytes = parseIPBytes(String(parts[0])),
            parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let prefix = Int(parts[1]),
            prefix <= bytes.count * 8
        else { return nil }
        return (bytes, prefix)
    }

    /// Parses an IPv4 or IPv6 address into its bytes with `inet_pton`; nil if malformed.
    static func parseIPBytes(_ text: String) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buffer) == 1 { return Array(buffer.prefix(4)) }
        if inet_pton(AF_INET6, text, &buffer) == 1 { return buffer }
        return nil
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

    /// `network connect [--alias NAME]… [--ip ADDRESS] [--link NAME:ALIAS]… NETWORK CONTAINER`.
    private func networkConnect(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--alias"], takesValue: true),
            .init(names: ["--ip"], takesValue: true),
            .init(names: ["--link"], takesValue: true),
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
                IPAMConfig: flags.string("--ip").map { EndpointIPAMConfig(IPv4Address: $0) },
                Links: flags.strings("--link").isEmpty ? nil : flags.strings("--link")))
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

    /// `network ls [-q] [--no-trunc] [-f FILTER]… [--format FORMAT]`, sorted by name in
    /// natural order as the docker CLI sorts it.
    private func networkList(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-q", "--quiet"], takesValue: false),
            .init(names: ["--no-trunc"], takesValue: false),
            .init(names: ["-f", "--filter"], takesValue: true),
            .init(names: ["--format"], takesValue: true),
        ])
        try flags.parse(arguments)
        let template = try flags.listFormat().map {
            try OutputTemplate($0, headers: ["ID": "NETWORK ID"])
        }
        let path = "/networks" + (try Self.filtersQuery(flags.strings("-f")))
        let networks = try call("GET", path).decode([NetworkResource].self)
            .sorted { Self.naturalLess($0.Name, $1.Name) }
        let truncate = !flags.bool("--no-trunc")
        func shortID(_ id: String) -> String { truncate ? String(id.prefix(12)) : id }
        if flags.bool("-q") {
            for network in networks { print(shortID(network.Id)) }
            return 0
        }
        if let template {
            let rows = networks.map { Self.networkRow($0, id: shortID($0.Id)) }
            writeStdout(Array(try template.render(all: rows).utf8))
            return 0
        }
        var rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]]
        for network in networks {
            rows.append([shortID(network.Id), network.Name, network.Driver, network.Scope])
        }
        printTable(rows)
        return 0
    }

    /// Returns the fields that `network ls --format` templates see, named as the docker CLI's
    /// network formatter names them.
    static func networkRow(_ network: NetworkResource, id: String) -> LabeledRow {
        let labels = network.Labels.keys.sorted().map { "\($0)=\(network.Labels[$0] ?? "")" }
        let created = parseRFC3339(network.Created).map(FormatRows.goTime) ?? network.Created
        let fields: [String: Any] = [
            "ID": id, "Name": network.Name, "Driver": network.Driver, "Scope": network.Scope,
            "IPv6": "\(network.EnableIPv6)", "Internal": "\(network.Internal)",
            "Labels": labels.joined(separator: ","), "CreatedAt": created,
        ]
        return LabeledRow(fields: fields, labels: network.Labels)
    }

    /// Parses an RFC 3339 time with or without fractional seconds.
    private static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Compares names in natural order, as the docker CLI's `sortorder.NaturalLess`: runs of
    /// digits compare by their value, so `net2` sorts before `net10`.
    static func naturalLess(_ left: String, _ right: String) -> Bool {
        var first = Substring(left)
        var second = Substring(right)
        while let a = first.first, let b = second.first {
            if a.isASCII && a.isNumber && b.isASCII && b.isNumber {
                let digitsA = first.prefix { $0.isASCII && $0.isNumber }
                let digitsB = second.prefix { $0.isASCII && $0.isNumber }
                let valueA = digitsA.drop { $0 == "0" }
                let valueB = digitsB.drop { $0 == "0" }
                if valueA.count != valueB.count { return valueA.count < valueB.count }
                if valueA != valueB { return valueA < valueB }
                if digitsA.count != digitsB.count { return digitsA.count < digitsB.count }
                first = first.dropFirst(digitsA.count)
                second = second.dropFirst(digitsB.count)
                continue
            }
            if a != b { return a < b }
            first = first.dropFirst()
            second = second.dropFirst()
        }
        return first.isEmpty && !second.isEmpty
    }

    /// `network inspect [-f FORMAT] NETWORK…`: the networks as a JSON array, or each rendered
    /// with the Go template.
    private func networkInspect(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-f", "--format"], takesValue: true)
        ])
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else {
            throw UsageFailure(message: "network inspect requires at least 1 argument: NETWORK")
        }
        let template = try flags.string("-f").map { try OutputTemplate($0) }
        var documents: [String] = []
        for name in flags.positional {
            let body = try call("GET", "/networks/\(percentEncode(name))").body
            if let template {
                writeStdout(Array(try template.render(all: [try jsonTree(body)]).utf8))
            } else {
                documents.append(prettyJSON(body))
            }
        }
        if template == nil { print("[\n" + documents.joined(separator: ",\n") + "\n]") }
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

/// A `network create` flag combination that the client rejects before any request, printed
/// bare with exit status 1 as the docker CLI prints it.
struct NetworkCreateFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
