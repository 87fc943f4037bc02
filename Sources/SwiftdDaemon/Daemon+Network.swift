import Foundation
import SwiftdAPI
import SwiftdExec
import SwiftdNetwork
import SwiftdSystem

/// The network steps of a container's start that run once its process exists.
struct NetworkPlan: Sendable {
    /// True if the network mode gives the container its own interfaces on bridge networks.
    var bridged: Bool
    /// The ports to publish, from `PortBindings` and `-P`.
    var bindings: [PortBinding]
    /// The running containers this one links to, with the ports the links open.
    var links: [(child: Endpoint, ports: [ExposedPort])]
    /// `/etc/hosts` of the container, rewritten with its address once it has one.
    var hostsPath: String
    var hostname: String
    var domainname: String
    /// `--add-host` and link entries of `/etc/hosts`.
    var extraHosts: [ContainerFiles.HostEntry]
    /// The servers the container's embedded DNS server forwards to; nil if the container
    /// has no embedded DNS server, because it is on no user-defined network.
    var upstreams: [String]? = nil
}

extension Daemon {
    /// Creates the default bridge from the daemon's network flags, with its address leases
    /// kept in `ROOT/network` so that they survive a restart; nil with `-b none`.
    ///
    /// The bridge's name is kept in `ROOT/network/default-bridge`. When the previous run used
    /// another bridge (and was killed, so it left it behind), that bridge's rules go, and the
    /// bridge too if swiftd made it, as `BridgeDriver.removeLeftovers` describes. Blocks on
    /// netlink and iptables (milliseconds).
    ///
    /// - Throws: what `BridgeDriver.init` throws; `SystemCallError` if the state directory
    ///   cannot be made or the bridge's name not saved.
    static func makeBridgeDriver(_ configuration: DaemonConfiguration, log: Logger) throws
        -> BridgeDriver?
    {
        let stateDirectory = "\(configuration.root)/network"
        try FileSystem.createDirectory(stateDirectory, mode: 0o700)
        let recordPath = "\(stateDirectory)/default-bridge"
        let previous = (try? FileSystem.readString(recordPath))?.filter { !$0.isWhitespace }
        if let previous, !previous.isEmpty, previous != configuration.bridge {
            do {
                try BridgeDriver.removeLeftovers(
                    of: previous, stateDirectory: stateDirectory, log: log)
            } catch {
                log.error(
                    "cleaning up the previous default bridge failed",
                    [("bridge", previous), ("error", "\(error)")])
            }
        }
        guard configuration.bridge != "none" else {
            if previous != nil { try FileSystem.remove(recordPath) }
            return nil
        }
        var bridgeConfiguration = BridgeConfiguration(
            bridgeName: configuration.bridge, bridgeIP: configuration.bridgeIP,
            enableIPTables: configuration.iptables, enableIPForward: configuration.ipForward,
            mtu: configuration.mtu, interContainerCommunication: configuration.icc,
            defaultHostIP: configuration.defaultIP, fixedCIDR: configuration.fixedCIDR,
            stateDirectory: stateDirectory)
        // As dockerd, a bridge named with -b must exist. NOTE: with --bip too, swiftd creates
        // it, where dockerd rejects -b and --bip together; the test harness relies on that.
        bridgeConfiguration.createsMissingBridge =
            configuration.bridge == DaemonConfiguration().bridge || configuration.bridgeIP != nil
        let driver = try BridgeDriver(bridgeConfiguration, log: log)
        if previous != configuration.bridge {
            do {
                try FileSystem.writeAtomically(recordPath, Array("\(configuration.bridge)\n".utf8))
            } catch {
                try? driver.shutdown()
                throw error
            }
        }
        return driver
    }

    /// Releases the saved address leases and ports, on the default bridge and on every
    /// user-defined network, of containers that do not run. After a restart these are the
    /// leases of the containers that were marked exited; the containers that kept running
    /// keep theirs for `reattachNetwork(_:)`.
    func releaseStaleAddresses() {
        let running = Set(allContainers().filter(\.isRunning).map(\.id))
        let drivers = (network.map { [$0] } ?? []) + networks.drivers
        let released = drivers.reduce(0) { $0 + $1.releaseAddresses(notHeldBy: running) }
        if released > 0 {
            let message = "released the addresses of containers that no longer run"
            log.info(message, [("count", "\(released)")])
        }
    }

    // MARK: create

    /// Checks and normalises the network part of a create request: the network mode, the
    /// exposed ports (the image's, `ExposedPorts` and the published ones, as `80/tcp`), the
    /// port bindings, links (stored as `/CHILD:/PARENT/ALIAS`), DNS servers and extra hosts.
    /// Returns the bridge networks the container joins: that of the network mode first, then
    /// the others of `NetworkingConfig`, by name.
    ///
    /// - Throws: `SwiftdError` with `invalidArgument` for a malformed value or an option that
    ///   conflicts with the network mode. `notFound` for an unknown network or container.
    func checkNetworkRequest(
        _ request: ContainerCreateRequest, imagePorts: [String], name: String,
        hostConfig: inout HostConfig, config: inout ContainerConfig
    ) throws -> [NetworkAttachment] {
        var mode = hostConfig.NetworkMode ?? "default"
        if mode.isEmpty { mode = "default" }
        if mode.hasPrefix("container:") {
            let target = try container(String(mode.dropFirst("container:".count)))
            mode = "container:\(target.id)"
        } else if !["default", "bridge", "none", "host"].contains(mode) {
            guard let found = networks.lookUp(mode) else {
                throw SwiftdError(.notFound, "network \(mode) not found")
            }
            mode = found.record.name
        }
        hostConfig.NetworkMode = mode
        let isUserNetwork = networks.lookUp(mode) != nil && mode != "default" && mode != "bridge"
        let bridged = mode == "default" || mode == "bridge" || isUserNetwork

        var bindings: [String: [HostPortBinding]] = [:]
        for (key, list) in hostConfig.PortBindings ?? [:] {
            let port = try portKey(key)
            for binding in list {
                if let text = binding.HostPort, Self.parseHostPort(text) == nil {
                    throw SwiftdError(.invalidArgument, "invalid port specification: \"\(text)\"")
                }
                if let address = binding.HostIp, !address.isEmpty, !isIPv4(address) {
                    throw SwiftdError(.invalidArgument, "invalid host IP \(address) for \(key)")
                }
            }
            bindings["\(port.port)/\(port.proto)", default: []] += list
        }
        // An empty map stays empty (the docker CLI always sends one), and inspect shows `{}`.
        if hostConfig.PortBindings != nil { hostConfig.PortBindings = bindings }

        var exposed: [String: [String: String]] = [:]
        for key in imagePorts + Array((request.ExposedPorts ?? [:]).keys) + Array(bindings.keys) {
            let port = try portKey(key)
            exposed["\(port.port)/\(port.proto)"] = [:]
        }
        config.ExposedPorts = exposed.isEmpty ? nil : exposed

        let publishes =
            bindings.values.contains { !$0.isEmpty } || hostConfig.PublishAllPorts == true
        // With the host's network, dockerd keeps published ports in the configuration and
        // publishes nothing, because the container's ports are the host's already.
        if publishes && !bridged && mode != "host" {
            throw SwiftdError(
                .invalidArgument,
                "conflicting options: port publishing and the \(mode) network mode")
        }
        if mode.hasPrefix("container:") {
            // The container's names and files are those of the container whose network it
            // joins, so settings of its own conflict, as in dockerd.
            if !(hostConfig.Dns ?? []).isEmpty {
                throw SwiftdError(.invalidArgument, "conflicting options: dns and the network mode")
            }
            if !(hostConfig.ExtraHosts ?? []).isEmpty {
                throw SwiftdError(
                    .invalidArgument,
                    "conflicting options: custom host-to-IP mapping and the network mode")
            }
            if !(request.ExposedPorts ?? [:]).isEmpty {
                throw SwiftdError(
                    .invalidArgument,
                    "conflicting options: port exposing and the container type network mode")
            }
        }
        var userNetworkLinks: [String]?
        if let links = hostConfig.Links, !links.isEmpty, isUserNetwork {
            // As dockerd, links on a user-defined network are aliases of that network's
            // embedded DNS server, and name no container until they are resolved.
            userNetworkLinks = try links.map(Self.checkLink)
            hostConfig.Links = nil
        } else if let links = hostConfig.Links, !links.isEmpty {
            guard bridged else {
                throw SwiftdError(
                    .invalidArgument, "conflicting options: links and the \(mode) network mode")
            }
            hostConfig.Links = try links.map { link in
                let (childName, alias) = Self.parseLink(try Self.checkLink(link))
                let child = try container(childName)
                return "/\(child.name):/\(name)/\(alias)"
            }
        }
        try Self.checkName(config.Hostname, "hostname")
        if !config.Domainname.isEmpty { try Self.checkName(config.Domainname, "domain name") }
        for domain in hostConfig.DnsSearch ?? [] { try Self.checkName(domain, "DNS search domain") }
        for option in hostConfig.DnsOptions ?? [] {
            try Self.checkLineText(option, "DNS option")
        }
        for server in hostConfig.Dns ?? [] where !isIPv4(server) {
            throw SwiftdError(
                .invalidArgument, "invalid DNS server \(server): expected an IPv4 address")
        }
        for entry in hostConfig.ExtraHosts ?? [] {
            if let problem = ContainerFiles.extraHostProblem(entry) {
                throw SwiftdError(.invalidArgument, problem)
            }
            try Self.checkName(entry, "extra host")
            if ContainerFiles.parseExtraHost(entry)?.address == ContainerFiles.hostGateway,
                network == nil
            {
                // dockerd's message when it has no default bridge to take the address from.
                throw SwiftdError(
                    .invalidArgument, "unable to derive the IP value for host-gateway")
            }
        }
        var endpoints = request.NetworkingConfig?.EndpointsConfig ?? [:]
        if let mac = request.MacAddress, !mac.isEmpty, bridged {
            let named = [request.HostConfig?.NetworkMode ?? "default", mode]
            try Self.moveContainerMAC(
                mac, to: mode == "default" ? "bridge" : mode, named: named, in: &endpoints)
        }
        var attachments = try requestedAttachments(endpoints, mode: mode, bridged: bridged)
        if let userNetworkLinks, !attachments.isEmpty {
            // The docker CLI sends the links in the network's EndpointsConfig too.
            let given = attachments[0].links ?? []
            attachments[0].links = given + userNetworkLinks.filter { !given.contains($0) }
        }
        return attachments
    }

    /// Checks a link, `NAME:ALIAS` or `NAME`, as dockerd's `ParseLink` does and returns it.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) with dockerd's message for an empty link or
    ///   one with more than one colon.
    static func checkLink(_ link: String) throws -> String {
        guard !link.isEmpty else {
            throw SwiftdError(.invalidArgument, "empty string specified for links")
        }
        guard link.split(separator: ":", omittingEmptySubsequences: false).count <= 2 else {
            throw SwiftdError(.invalidArgument, "bad format for links: \(link)")
        }
        try checkName(link, "link")
        return link
    }

    /// Throws `invalidArgument` if `value`, which goes into `/etc/resolv.conf` or
    /// `/etc/hosts` as one line, contains a control character such as a newline.
    static func checkLineText(_ value: String, _ field: String) throws {
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw SwiftdError(
                .invalidArgument,
                "invalid \(field) \(String(reflecting: value)): control characters are not allowed")
        }
    }

    /// Throws `invalidArgument` if `value`, a name written to `/etc/hosts` or
    /// `/etc/resolv.conf`, contains a control character or whitespace, either of which would
    /// end the name early there.
    static func checkName(_ value: String, _ field: String) throws {
        try checkLineText(value, field)
        if value.contains(where: \.isWhitespace) {
            throw SwiftdError(
                .invalidArgument,
                "invalid \(field) \(String(reflecting: value)): whitespace is not allowed")
        }
    }

    /// Moves the container-wide MAC address of a create request (deprecated since API 1.44) to
    /// the endpoint settings of the network mode, as dockerd does. `named` lists the keys that
    /// refer to that network. A request without endpoint settings gets settings for `network`.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) with dockerd's messages when the settings
    ///   name other networks only, or give the network mode's endpoint another MAC address.
    static func moveContainerMAC(
        _ mac: String, to network: String, named: [String],
        in endpoints: inout [String: EndpointConfig]
    ) throws {
        guard !endpoints.isEmpty else {
            endpoints[network] = EndpointConfig(MacAddress: mac)
            return
        }
        let keys = named + [network] + (network == "bridge" ? ["default"] : [])
        guard let key = keys.first(where: { endpoints[$0] != nil }) else {
            throw SwiftdError(
                .invalidArgument,
                "if a container-wide MAC address is supplied, HostConfig.NetworkMode must match "
                    + "the identity of a network in NetworkSettings.Networks")
        }
        let current = endpoints[key]?.MacAddress ?? ""
        if current.isEmpty {
            endpoints[key]?.MacAddress = mac
        } else if current != mac {
            throw SwiftdError(
                .invalidArgument,
                "the container-wide MAC address must match the endpoint-specific MAC address "
                    + "for the main network, or be left empty")
        }
    }

    /// Returns the networks of a create request: the network mode's, with the settings of its
    /// `EndpointsConfig` entry, then the other entries sorted by network name.
    ///
    /// - Throws: `SwiftdError`: `notFound` for an unknown network; `invalidArgument` for
    ///   settings the network does not take, or further networks of a mode without a bridge.
    private func requestedAttachments(
        _ settings: [String: EndpointConfig], mode: String, bridged: Bool
    ) throws -> [NetworkAttachment] {
        let primary = mode == "default" ? "bridge" : mode
        var primarySettings = EndpointConfig()
        var others: [String: EndpointConfig] = [:]
        for (key, value) in settings {
            if key == mode || key == primary || (primary == "bridge" && key == "default") {
                primarySettings = value
                continue
            }
            guard bridged else {
                throw SwiftdError(
                    .invalidArgument,
                    "conflicting options: network \(key) and the \(mode) network mode")
            }
            let name = try bridgeNetworkName(key)
            if name == primary {
                primarySettings = value
            } else {
                others[name] = value
            }
        }
        guard bridged else { return [] }
        var result = [try attachment(to: primary, primarySettings)]
        for (name, value) in others.sorted(by: { $0.key < $1.key }) {
            result.append(try attachment(to: name, value))
        }
        return result
    }

    /// Returns the name of a bridge network given by name or ID: `bridge` for the default
    /// bridge (also as `default`), or a user-defined network's name.
    ///
    /// - Throws: `SwiftdError`: `notFound` for an unknown network or `bridge` under `-b none`;
    ///   `invalidArgument` for `host` and `none`, which take no endpoints.
    func bridgeNetworkName(_ reference: String) throws -> String {
        let reference = networks.builtinName(matching: reference) ?? reference
        if reference == "bridge" || reference == "default" {
            guard network != nil else {
                throw SwiftdError(.notFound, "network \(reference) not found")
            }
            return "bridge"
        }
        if reference == "host" || reference == "none" {
            throw SwiftdError(
                .invalidArgument,
                "container cannot be disconnected from host network or connected to host network")
        }
        guard let found = networks.lookUp(reference) else {
            throw SwiftdError(.notFound, "network \(reference) not found")
        }
        return found.record.name
    }

    /// Checks a container's settings on one network (`--network-alias`, `--ip`,
    /// `--mac-address`, links) and returns its attachment.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) for aliases or an address on the default
    ///   bridge, an address that is malformed or outside the network's subnet, a MAC address
    ///   that `parseMACAddress` rejects, or a malformed link.
    func attachment(to network: String, _ settings: EndpointConfig) throws -> NetworkAttachment {
        let aliases = (settings.Aliases ?? []).filter { !$0.isEmpty }
        for alias in aliases { try Self.checkName(alias, "network alias") }
        let address = settings.IPAMConfig?.IPv4Address.flatMap { $0.isEmpty ? nil : $0 }
        let mac = settings.MacAddress.flatMap { $0.isEmpty ? nil : $0 }
        if let mac { _ = try parseMACAddress(mac) }
        // NOTE: dockerd keeps links of the default bridge's endpoint too, where they change
        // nothing because that network has no embedded DNS server; swiftd drops them.
        let links = network == "bridge" ? [] : try (settings.Links ?? []).map(Self.checkLink)
        if network == "bridge" {
            if !aliases.isEmpty {
                throw SwiftdError(
                    .invalidArgument,
                    "network-scoped alias is supported only for containers in user defined "
                        + "networks")
            }
            if address != nil {
                throw SwiftdError(
                    .invalidArgument,
                    "user specified IP address is supported on user defined networks only")
            }
        }
        if let address {
            guard isIPv4(address) else {
                throw SwiftdError(.invalidArgument, "invalid IPv4 address: \(address)")
            }
            if let subnet = networks.lookUp(network).flatMap({ IPv4Subnet($0.record.subnet) }),
                !subnet.contains(address: address)
            {
                throw SwiftdError(
                    .invalidArgument,
                    "no configured subnet or ip-range contain the IP address \(address)")
            }
        }
        return NetworkAttachment(
            network: network, aliases: aliases, requestedAddress: address,
            requestedMACAddress: mac, links: links.isEmpty ? nil : links, endpoint: nil)
    }

    /// Parses the `HostPort` of a binding: "" or "0" for a free ephemeral port, `N`, or a range
    /// `N-M` to take the first free port of. Returns nil for anything else.
    static func parseHostPort(_ text: String) -> (first: Int, last: Int?)? {
        if text.isEmpty { return (0, nil) }
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        let isDigits = { (part: Substring) in
            !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber }
        }
        guard bounds.count <= 2, bounds.allSatisfy(isDigits),
            let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]),
            (0...65535).contains(first), (0...65535).contains(last)
        else { return nil }
        guard bounds.count == 2 else { return (first, nil) }
        guard 1 <= first, first <= last else { return nil }
        return first == last ? (first, nil) : (first, last)
    }

    /// Parses `80/tcp`, `53/udp` or `8080`, or throws `invalidArgument` naming the key.
    private func portKey(_ key: String) throws -> ExposedPort {
        guard let port = ContainerFiles.parsePortKey(key) else {
            throw SwiftdError(.invalidArgument, "invalid port \(key): expected PORT[/tcp|udp]")
        }
        return port
    }

    /// Splits a link, `/CHILD:/PARENT/ALIAS`, `CHILD:ALIAS` or `CHILD`, into the child's name
    /// and the alias.
    static func parseLink(_ link: String) -> (child: String, alias: String) {
        let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
        var child = parts.first ?? link
        if child.hasPrefix("/") { child.removeFirst() }
        guard parts.count > 1 else { return (child, child) }
        let alias = parts[1].split(separator: "/").last.map(String.init) ?? child
        return (child, alias)
    }

    // MARK: start

    /// Returns the paths of a container's network files.
    func networkFiles(_ container: Container) -> (
        resolvConf: String, hosts: String, hostname: String
    ) {
        (
            "\(container.directory)/resolv.conf", "\(container.directory)/hosts",
            "\(container.directory)/hostname"
        )
    }

    /// Prepares a container's network before its process starts: writes its resolv.conf,
    /// hosts and hostname files and binds them over the image's, adds the link variables to
    /// the environment, and chooses the network namespace. Returns what `attachNetwork`
    /// does once the process exists.
    ///
    /// - Throws: `SwiftdError` (`conflict`) if a linked container does not run; the errors of
    ///   `FileSystem.write` if a file cannot be written.
    func prepareNetwork(_ container: Container, spec: inout ContainerSpec) throws -> NetworkPlan {
        let record = container.record
        let host = record.hostConfig
        let mode = host.NetworkMode ?? "default"
        let bridged = record.hasBridgeNetworkMode
        // Ports and links belong to the network of the network mode, unless it was disconnected.
        let primaryBridged =
            driver(for: record) != nil
            && record.attachments.contains { $0.network == record.networkName }
        spec.newNetworkNamespace = mode != "host"
        if mode.hasPrefix("container:") {
            return try joinNetwork(of: String(mode.dropFirst("container:".count)), container, &spec)
        }

        var extraHosts = extraHostEntries(host)
        var links: [(child: Endpoint, ports: [ExposedPort])] = []
        for link in host.Links ?? [] {
            let (childName, alias) = Self.parseLink(link)
            let child = try self.container(childName)
            guard child.isRunning, let endpoint = child.record.endpoint, primaryBridged else {
                throw SwiftdError(
                    .conflict,
                    "Cannot link to a non running container: /\(childName) AS "
                        + "/\(record.name)/\(alias)")
            }
            let ports = exposedPorts(child.record.config)
            spec.environment += ContainerFiles.linkEnvironment(
                alias: alias, parentName: record.name, childIP: endpoint.ipAddress, ports: ports,
                childEnvironment: child.record.config.Env)
            // Docker 1.2's line for a link: the child's address and the alias alone.
            extraHosts.append(.init(address: endpoint.ipAddress, names: [alias]))
            links.append((endpoint, ports))
        }

        let files = networkFiles(container)
        var upstreams: [String]?
        let hostResolvConf = (try? FileSystem.readString("/etc/resolv.conf")) ?? ""
        if mode == "host" {
            let (dns, search) = nameServerSettings(host)
            try FileSystem.write(
                files.resolvConf,
                ContainerFiles.hostNetworkResolvConf(
                    host: hostResolvConf, dns: dns, search: search,
                    options: host.DnsOptions ?? []))
            let hostHosts = (try? FileSystem.readString("/etc/hosts")) ?? ""
            try FileSystem.write(
                files.hosts,
                hostHosts
                    + extraHosts.map { "\($0.address)\t\($0.names.joined(separator: " "))\n" }
                    .joined())
        } else {
            let (dns, search) = nameServerSettings(host)
            var resolv = ContainerFiles.resolvConf(
                host: hostResolvConf, dns: dns, search: search, options: host.DnsOptions ?? [])
            if record.attachments.contains(where: { networks.lookUp($0.network) != nil }) {
                let embedded = ContainerFiles.embeddedResolvConf(
                    host: hostResolvConf, dns: dns, search: search,
                    options: host.DnsOptions ?? [])
                resolv = embedded.file
                upstreams = embedded.upstreams
            } else if resolv.nameservers.isEmpty && mode != "none" {
                log.warning(
                    "the container has no name server because the host's are loopback "
                        + "addresses; pass --dns",
                    [("id", container.id)])
            }
            try FileSystem.write(files.resolvConf, resolv.text)
            try FileSystem.write(
                files.hosts,
                ContainerFiles.hosts(
                    hostname: record.config.Hostname, domainname: record.config.Domainname,
                    address: nil, extra: extraHosts))
        }
        try FileSystem.write(files.hostname, record.config.Hostname + "\n")
        spec.mounts += [
            Mount(source: files.resolvConf, destination: "/etc/resolv.conf", kind: .bind),
            Mount(source: files.hostname, destination: "/etc/hostname", kind: .bind),
            Mount(source: files.hosts, destination: "/etc/hosts", kind: .bind),
        ]

        return NetworkPlan(
            bridged: bridged, bindings: publishesPorts(record) ? portBindings(record) : [],
            links: links,
            hostsPath: files.hosts, hostname: record.config.Hostname,
            domainname: record.config.Domainname, extraHosts: extraHosts, upstreams: upstreams)
    }

    /// Prepares `--network container:TARGET`: the container joins the network namespace of
    /// the running container `target` and shares its resolv.conf and hosts files.
    ///
    /// - Throws: `SwiftdError`: `notFound` if the target is gone, `conflict` if it does not run.
    private func joinNetwork(
        of target: String, _ container: Container, _ spec: inout ContainerSpec
    ) throws -> NetworkPlan {
        let other = try self.container(target)
        let pid = other.record.state.Pid
        guard other.isRunning, pid > 0 else {
            throw SwiftdError(
                .conflict,
                "cannot join the network of container \(other.id): the container is not running")
        }
        spec.newNetworkNamespace = false
        spec.networkNamespacePath = "/proc/\(pid)/ns/net"
        let shared = networkFiles(other)
        let own = networkFiles(container)
        try FileSystem.write(own.hostname, container.record.config.Hostname + "\n")
        spec.mounts += [
            Mount(source: shared.resolvConf, destination: "/etc/resolv.conf", kind: .bind),
            Mount(source: own.hostname, destination: "/etc/hostname", kind: .bind),
            Mount(source: shared.hosts, destination: "/etc/hosts", kind: .bind),
        ]
        return NetworkPlan(
            bridged: false, bindings: [], links: [], hostsPath: shared.hosts,
            hostname: container.record.config.Hostname, domainname: "", extraHosts: [])
    }

    /// Connects a new container's process to each of its networks (eth0, eth1, … in order),
    /// publishes its ports and opens its links on the network of its network mode, and writes
    /// its address into its /etc/hosts. Returns its attachments with their endpoints. On
    /// failure everything it did is undone, so that a port already taken leaves no veth, lease
    /// or rule behind.
    ///
    /// Blocks on netlink and iptables (milliseconds).
    ///
    /// - Throws: `SwiftdError` (`notFound`) for a network that is gone; what
    ///   `BridgeDriver.connect`, `publish` and `link` throw (`conflict` for a host port in use).
    func attachNetwork(_ container: Container, _ plan: NetworkPlan, pid: Int32) throws
        -> [NetworkAttachment]
    {
        let record = container.record
        var attachments = record.attachments
        guard plan.bridged else { return attachments }
        var connected: [NetworkAttachment] = []
        do {
            var routed = false
            for index in attachments.indices {
                let name = attachments[index].network
                let driver = try bridgeDriver(named: name)
                let endpoint = try driver.connect(
                    containerID: container.id, pid: pid, interface: "eth\(index)",
                    address: attachments[index].requestedAddress,
                    macAddress: try attachments[index].requestedMACAddress.map(parseMACAddress),
                    defaultRoute: !routed && !driver.isInternal)
                routed = routed || !driver.isInternal
                attachments[index].endpoint = endpoint
                connected.append(attachments[index])
                guard name == record.networkName else { continue }
                if !plan.bindings.isEmpty {
                    try publishAtStart(container, endpoint, plan.bindings, on: driver)
                }
                for link in plan.links {
                    try driver.link(from: endpoint, to: link.child, ports: link.ports, enable: true)
                }
            }
            // In place: the bind mount made from this file must see the new contents.
            try FileSystem.write(
                plan.hostsPath,
                Self.hostsText(
                    hostname: plan.hostname, domainname: plan.domainname,
                    addresses: connected.compactMap { $0.endpoint?.ipAddress },
                    extra: plan.extraHosts))
            if let upstreams = plan.upstreams {
                let id = container.id
                let joining = Set(attachments.map(\.network))
                try networks.startResolver(containerID: id, pid: pid, upstreams: upstreams) {
                    [self] question in resolve(question, for: id, joining: joining)
                }
            }
        } catch {
            detachNetworks(container, connected)
            throw error
        }
        return attachments
    }

    /// Publishes the ports of a starting container. A host port in use is a server error with
    /// dockerd's message, "driver failed programming external connectivity on endpoint NAME
    /// (ID): Bind for 0.0.0.0:8080 failed: port is already allocated" when another container
    /// holds it, or "… (ID): Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind:
    /// address already in use" when another program does.
    ///
    /// - Throws: `SwiftdError` (`internalError`) for a host port in use; what
    ///   `BridgeDriver.publish` throws otherwise.
    private func publishAtStart(
        _ container: Container, _ endpoint: Endpoint, _ bindings: [PortBinding],
        on driver: BridgeDriver
    ) throws {
        do {
            _ = try driver.publish(endpoint, bindings)
        } catch let error as SwiftdError where error.kind == .conflict {
            let name = container.name.hasPrefix("/") ? String(container.name.dropFirst())
                : container.name
            throw SwiftdError(
                .internalError,
                "driver failed programming external connectivity on endpoint \(name) "
                    + "(\(endpoint.endpointID)): \(error.message)")
        }
    }

    /// Stops the container's embedded DNS server and disconnects the endpoints of
    /// `attachments` from their networks, logging failures. With `exited` (the container's
    /// process has exited), the drivers retire the veth pairs without waiting for them.
    func detachNetworks(
        _ container: Container, _ attachments: [NetworkAttachment], exited: Bool = false
    ) {
        networks.stopResolver(containerID: container.id)
        for attachment in attachments {
            guard let endpoint = attachment.endpoint else { continue }
            do {
                try bridgeDriver(named: attachment.network).disconnect(endpoint, exited: exited)
            } catch {
                log.error(
                    "disconnecting a container failed",
                    [
                        ("id", container.id), ("network", attachment.network),
                        ("error", "\(error)"),
                    ])
            }
        }
    }

    /// Records a network `connect` or `disconnect` event for each attachment with an endpoint.
    func emitNetworkEvents(
        _ container: Container, _ attachments: [NetworkAttachment], action: String
    ) {
        for attachment in attachments where attachment.endpoint != nil {
            events.emit(
                type: "network", action: action, id: networkID(attachment.network),
                attributes: [
                    "container": container.id, "name": attachment.network, "type": "bridge",
                ])
        }
    }

    /// Returns the ID of a network by name, including the built-in ones (`default` is
    /// `bridge`).
    func networkID(_ name: String) -> String {
        if let builtin = networks.builtinID(name == "default" ? "bridge" : name) {
            return builtin
        }
        return networks.lookUp(name)?.record.id ?? name
    }

    /// Returns the driver of a bridge network by name: `bridge` for the default bridge.
    ///
    /// - Throws: `SwiftdError` (`notFound`) if there is no such network.
    func bridgeDriver(named name: String) throws -> BridgeDriver {
        if name == "bridge" || name == "default", let network { return network }
        guard let found = networks.lookUp(name) else {
            throw SwiftdError(.notFound, "network \(name) not found")
        }
        return found.driver
    }

    /// Rewrites the /etc/hosts of the container of `record` from its current record while it
    /// runs: its own address on each network, its `--add-host` entries and its links.
    ///
    /// Other containers' files do not change: as in dockerd, the hosts file of a container on
    /// a user-defined network lists only the container itself, and the embedded DNS server
    /// resolves the names of its peers.
    func refreshPeerHosts(of record: ContainerRecord) {
        guard let container = allContainers().first(where: { $0.id == record.id }) else { return }
        let current = container.record
        guard current.state.Running else { return }
        var extra = extraHostEntries(current.hostConfig)
        for link in current.hostConfig.Links ?? [] {
            let (childName, alias) = Self.parseLink(link)
            guard let child = try? self.container(childName), child.isRunning,
                let endpoint = child.record.endpoint
            else { continue }
            extra.append(.init(address: endpoint.ipAddress, names: [alias]))
        }
        let text = Self.hostsText(
            hostname: current.config.Hostname, domainname: current.config.Domainname,
            addresses: current.connectedEndpoints.map(\.endpoint.ipAddress), extra: extra)
        do {
            try FileSystem.write(networkFiles(container).hosts, text)
        } catch {
            log.warning(
                "updating a container's hosts file failed",
                [("id", container.id), ("error", "\(error)")])
        }
    }

    /// Builds a container's /etc/hosts with a line for each of its addresses, as dockerd adds
    /// one for each network the container joins, and then `extra`.
    static func hostsText(
        hostname: String, domainname: String, addresses: [String],
        extra: [ContainerFiles.HostEntry]
    ) -> String {
        let names = ContainerFiles.hostNames(hostname: hostname, domainname: domainname)
        let others = addresses.dropFirst().map {
            ContainerFiles.HostEntry(address: $0, names: names)
        }
        return ContainerFiles.hosts(
            hostname: hostname, domainname: domainname, address: addresses.first,
            extra: others + extra)
    }

    /// Returns true if the container's ports are published: it is on the network of its
    /// network mode, and that network is not internal. As dockerd does, `PortBindings` of a
    /// container on an internal network are kept but publish nothing.
    func publishesPorts(_ record: ContainerRecord) -> Bool {
        guard let driver = driver(for: record), !driver.isInternal else { return false }
        return record.attachments.contains { $0.network == record.networkName }
    }

    /// Returns the container's exposed ports, sorted.
    func exposedPorts(_ config: ContainerConfig) -> [ExposedPort] {
        (config.ExposedPorts ?? [:]).keys.compactMap(ContainerFiles.parsePortKey)
            .sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }
    }

    /// Returns the bindings to publish: `PortBindings`, and with `PublishAllPorts` every other
    /// exposed port on a free host port.
    func portBindings(_ record: ContainerRecord) -> [PortBinding] {
        var result: [PortBinding] = []
        let bound = record.hostConfig.PortBindings ?? [:]
        for (key, list) in bound.sorted(by: { $0.key < $1.key }) {
            guard let port = ContainerFiles.parsePortKey(key) else { continue }
            for binding in list {
                let hostPorts = Self.parseHostPort(binding.HostPort ?? "") ?? (0, nil)
                result.append(
                    PortBinding(
                        hostIP: binding.HostIp ?? "", hostPort: hostPorts.first,
                        hostPortEnd: hostPorts.last, containerPort: port.port, proto: port.proto))
            }
        }
        if record.hostConfig.PublishAllPorts == true {
            for port in exposedPorts(record.config)
            where (bound["\(port.port)/\(port.proto)"] ?? []).isEmpty {
                result.append(PortBinding(hostPort: 0, containerPort: port.port, proto: port.proto))
            }
        }
        return result
    }

    // MARK: inspect and list

    /// Returns the ports published now (none unless the container runs on the bridge).
    private func publishedPorts(_ record: ContainerRecord) -> [PortBinding] {
        guard let network = driver(for: record), let endpoint = record.endpoint else { return [] }
        return network.publishedPorts(endpoint).sorted {
            ($0.containerPort, $0.proto, $0.hostIP, $0.hostPort)
                < ($1.containerPort, $1.proto, $1.hostIP, $1.hostPort)
        }
    }

    /// Returns `Ports` of `GET /containers/json`: each published port, and without a public
    /// port each exposed port that is not published.
    func portSummaries(_ record: ContainerRecord) -> [ContainerSummary.Port] {
        let published = publishedPorts(record)
        var result = published.map {
            ContainerSummary.Port(
                IP: $0.hostIP, PrivatePort: $0.containerPort, PublicPort: $0.hostPort,
                Type: $0.proto)
        }
        for port in exposedPorts(record.config)
        where !published.contains(where: { $0.containerPort == port.port && $0.proto == port.proto }
        ) {
            result.append(
                ContainerSummary.Port(
                    IP: nil, PrivatePort: port.port, PublicPort: nil, Type: port.proto))
        }
        return result
    }

    /// Adds the network files' paths and `NetworkSettings.Ports` (exposed ports map to null,
    /// published ones to their host bindings) to an inspect result.
    func addNetworkDetails(_ container: Container, to inspect: inout ContainerInspect) {
        let record = container.record
        let files = networkFiles(container)
        if FileSystem.exists(files.resolvConf) {
            inspect.ResolvConfPath = files.resolvConf
            inspect.HostsPath = files.hosts
            inspect.HostnamePath = files.hostname
        }
        var ports: [String: [HostPortBinding]?] = [:]
        for port in exposedPorts(record.config) {
            ports["\(port.port)/\(port.proto)"] = .some(nil)
        }
        for binding in publishedPorts(record) {
            let key = "\(binding.containerPort)/\(binding.proto)"
            let entry = HostPortBinding(HostIp: binding.hostIP, HostPort: "\(binding.hostPort)")
            let existing: [HostPortBinding] = (ports[key] ?? nil) ?? []
            ports[key] = .some(existing + [entry])
        }
        inspect.NetworkSettings.Ports = ports
        inspect.NetworkSettings.Networks = endpointSettings(record)
    }

    /// Returns `NetworkSettings.Networks` of inspect and `ps`: each network the container is
    /// attached to by name, with its address while it runs, its aliases and requested address.
    func endpointSettings(_ record: ContainerRecord) -> [String: EndpointSettings] {
        var result: [String: EndpointSettings] = [:]
        for attachment in record.attachments {
            let endpoint = attachment.endpoint
            var settings = EndpointSettings(
                NetworkID: networkID(attachment.network),
                EndpointID: endpoint?.endpointID ?? "", Gateway: endpoint?.gateway ?? "",
                IPAddress: endpoint?.ipAddress ?? "", IPPrefixLen: endpoint?.prefixLength ?? 0,
                MacAddress: endpoint?.macAddress ?? attachment.requestedMACAddress ?? "")
            settings.Aliases = attachment.aliases
            settings.IPAMConfig = attachment.requestedAddress.map {
                EndpointIPAMConfig(IPv4Address: $0)
            }
            if attachment.network != "bridge" {
                settings.DNSNames = [record.name, String(record.id.prefix(12))] + attachment.aliases
            }
            result[attachment.network] = settings
        }
        return result
    }
}

// MARK: user-defined networks

extension Daemon {
    /// Creates the registry of user-defined networks, kept in `ROOT/network`, and recreates
    /// the saved ones, except any whose bridge is `defaultBridge`.
    ///
    /// - Throws: `SystemCallError` if the directory cannot be made or the file read;
    ///   `SwiftdError` (`internalError`) if the file is not valid JSON.
    static func makeNetworkRegistry(
        _ configuration: DaemonConfiguration, defaultBridge: String?, log: Logger
    ) throws -> NetworkRegistry {
        let directory = "\(configuration.root)/network"
        try FileSystem.createDirectory(directory, mode: 0o700)
        let registry = NetworkRegistry(
            directory: directory, enableIPTables: configuration.iptables, log: log)
        try registry.restore(defaultBridge: defaultBridge)
        return registry
    }

    /// Returns the bridge driver of the container's network: the default bridge, a
    /// user-defined network's, or nil for `none`, `host` and `container:` modes.
    func driver(for record: ContainerRecord) -> BridgeDriver? {
        switch record.networkName {
        case "bridge", "default": return network
        case "none", "host": return nil
        case let name where name.hasPrefix("container:"): return nil
        case let name: return networks.lookUp(name)?.driver
        }
    }

    /// Registers the handlers of the `/networks` routes.
    func registerNetworkHandlers() throws {
        try engine.register("networks") { [self] job in
            let filters = try FilterArguments(
                json: job.environment["filters"],
                allowed: ["dangling", "driver", "id", "label", "name", "scope", "type"])
            let dangling = try filters.bool("dangling")
            let resources = (builtinNetworks() + networks.records.map(resource)).filter { network in
                let builtin = ["bridge", "host", "none"].contains(network.Name)
                if let dangling, dangling != (!builtin && network.Containers.isEmpty) { return false }
                if let drivers = filters["driver"], !drivers.contains(network.Driver) { return false }
                if let ids = filters["id"], !ids.contains(where: { network.Id.hasPrefix($0) }) {
                    return false
                }
                if let names = filters["name"], !names.contains(where: { network.Name.contains($0) }) {
                    return false
                }
                if let scopes = filters["scope"], !scopes.contains(network.Scope) { return false }
                if let types = filters["type"], !types.contains(builtin ? "builtin" : "custom") {
                    return false
                }
                return filters.labelsMatch(network.Labels)
            }
            try await job.stdout.write(Array(try JSONEncoder().encode(resources)))
        }
        try engine.register("network_inspect") { [self] job in
            let name = try job.argument("name")
            let builtins = builtinNetworks()
            let builtinName = networks.builtinName(matching: name) ?? name
            let found =
                builtins.first { $0.Name == builtinName }
                ?? networks.lookUp(name).map { resource($0.record) }
            guard let found else { throw SwiftdError(.notFound, "network \(name) not found") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try await job.stdout.write(Array(try encoder.encode(found)))
        }
        try engine.register("network_create") { [self] job in
            guard let body = job.environment["body"] else {
                throw SwiftdError(.invalidArgument, "missing network create request")
            }
            let record = try createNetwork(body)
            events.emit(
                type: "network", action: "create", id: record.id,
                attributes: ["name": record.name, "type": "bridge"])
            try await job.stdout.write(
                Array(try JSONEncoder().encode(NetworkCreateResponse(Id: record.id))))
        }
        try engine.register("network_connect") { [self] job in
            let request = try JSONDecoder().decode(
                NetworkConnectRequest.self, from: Data((job.environment["body"] ?? "{}").utf8))
            try connect(
                try container(request.Container), to: try job.argument("name"),
                settings: request.EndpointConfig ?? EndpointConfig())
        }
        try engine.register("network_disconnect") { [self] job in
            let request = try JSONDecoder().decode(
                NetworkDisconnectRequest.self, from: Data((job.environment["body"] ?? "{}").utf8))
            // NOTE: `Force` changes nothing: it matters to Docker for endpoints of containers
            // that are gone, and swiftd removes a container's endpoints with the container.
            try disconnect(try container(request.Container), from: try job.argument("name"))
        }
        try engine.register("network_delete") { [self] job in
            try removeNetwork(try job.argument("name"))
        }
        try engine.register("networks_prune") { [self] job in
            let filters = try FilterArguments(
                json: job.environment["filters"], allowed: ["label", "label!", "until"])
            let until = try Self.pruneCutoff(filters["until"] ?? [])
            var deleted: [String] = []
            for record in networks.records where endpointHolders(of: record).isEmpty {
                guard filters.labelsMatch(record.labels) else { continue }
                // Only networks created at or before the cutoff go, as in dockerd.
                if let until, let created = parseTimestamp(record.created), created > until {
                    continue
                }
                if let unwanted = filters["label!"],
                    unwanted.contains(where: { FilterArguments.labelMatches($0, record.labels) })
                {
                    continue
                }
                do {
                    try removeNetwork(record.id)
                    deleted.append(record.name)
                } catch {
                    log.warning(
                        "pruning a network failed",
                        [("network", record.name), ("error", "\(error)")])
                }
            }
            let response = NetworkPruneResponse(NetworksDeleted: deleted)
            try await job.stdout.write(Array(try JSONEncoder().encode(response)))
        }
    }

    /// Removes a user-defined network that no running container is connected to.
    ///
    /// As in dockerd, containers that are created or stopped have no endpoints, so they do not
    /// keep the network: it is removed, and their next start fails with "network NAME not
    /// found" until they are disconnected from it.
    ///
    /// - Throws: `SwiftdError`: `forbidden` for a built-in network or while a running container
    ///   is connected, with dockerd's messages; `notFound` for an unknown network.
    private func removeNetwork(_ reference: String) throws {
        if NetworkRegistry.reservedNames.contains(reference)
            || networks.builtinName(matching: reference) != nil
        {
            let name = networks.builtinName(matching: reference) ?? reference
            throw SwiftdError(.forbidden, "\(name) is a pre-defined network and cannot be removed")
        }
        guard let found = networks.lookUp(reference) else {
            throw SwiftdError(.notFound, "network \(reference) not found")
        }
        guard endpointHolders(of: found.record).isEmpty else {
            // dockerd 26's message; libnetwork's ActiveEndpointsError is Forbidden, so 403.
            throw SwiftdError(
                .forbidden,
                "error while removing network: network \(found.record.name) id "
                    + "\(found.record.id) has active endpoints")
        }
        try networks.remove(found.record.id)
        events.emit(
            type: "network", action: "destroy", id: found.record.id,
            attributes: ["name": found.record.name, "type": "bridge"])
    }

    /// Returns the names of the containers that have an endpoint on the network: those that
    /// run (or are paused) while connected to it.
    private func endpointHolders(of record: NetworkRecord) -> [String] {
        allContainers().filter { container in
            container.record.connectedEndpoints.contains { $0.network == record.name }
        }.map(\.name)
    }

    /// Returns the endpoints of the running containers on the network `name`.
    private func endpoints(on name: String) -> [String: NetworkContainer] {
        var result: [String: NetworkContainer] = [:]
        for container in allContainers() {
            let record = container.record
            guard
                let endpoint = record.attachments.first(where: {
                    $0.network == name || (name == "bridge" && $0.network == "default")
                })?.endpoint
            else { continue }
            result[container.id] = NetworkContainer(
                Name: record.name, EndpointID: endpoint.endpointID,
                MacAddress: endpoint.macAddress,
                IPv4Address: "\(endpoint.ipAddress)/\(endpoint.prefixLength)")
        }
        return result
    }

    /// Returns `bridge` (unless disabled with `-b none`), `host` and `none`.
    private func builtinNetworks() -> [NetworkResource] {
        var result: [NetworkResource] = []
        if let network {
            result.append(
                NetworkResource(
                    Name: "bridge", Id: networkID("bridge"), Created: startedAt,
                    Driver: "bridge",
                    IPAM: IPAMSettings(
                        Config: [IPAMConfig(Subnet: network.subnet, Gateway: network.gateway)]),
                    Containers: endpoints(on: "bridge"),
                    Options: ["com.docker.network.bridge.name": network.bridgeName], Labels: [:]))
        }
        for (name, driver) in [("host", "host"), ("none", "null")] {
            result.append(
                NetworkResource(
                    Name: name, Id: networkID(name), Created: startedAt, Driver: driver,
                    IPAM: IPAMSettings(Config: []), Containers: [:], Options: [:], Labels: [:]))
        }
        return result
    }

    /// Returns the API form of a user-defined network.
    private func resource(_ record: NetworkRecord) -> NetworkResource {
        var resource = NetworkResource(
            Name: record.name, Id: record.id, Created: record.created, Driver: "bridge",
            IPAM: IPAMSettings(
                Config: [
                    IPAMConfig(
                        Subnet: record.subnet, Gateway: record.gateway, IPRange: record.ipRange,
                        AuxiliaryAddresses: record.auxiliaryAddresses)
                ]),
            Containers: endpoints(on: record.name),
            Options: (record.options ?? [:]).merging(
                ["com.docker.network.bridge.name": record.bridgeName]) { $1 },
            Labels: record.labels)
        resource.Internal = record.isInternal ?? false
        return resource
    }
}
