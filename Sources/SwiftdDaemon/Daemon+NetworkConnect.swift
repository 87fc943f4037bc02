import Foundation
import SwiftdAPI
import SwiftdNetwork
import SwiftdSystem

// MARK: connect and disconnect

extension Daemon {
    /// Adds a network to a container: at once with a new interface (eth1, eth2, …) if it runs,
    /// else from its next start.
    ///
    /// - Throws: `SwiftdError`: `notFound` for an unknown network; `forbidden` if the
    ///   container is on the network already; `invalidArgument` for a container whose network
    ///   mode has no bridge, or for settings the network does not take; `conflict` while the
    ///   container starts or stops. What `BridgeDriver.connect` throws.
    func connect(_ container: Container, to reference: String, settings: EndpointConfig) throws {
        let name = try bridgeNetworkName(reference)
        try withNetworkChange(container) { record in
            guard record.hasBridgeNetworkMode else {
                throw SwiftdError(
                    .invalidArgument,
                    "container sharing network namespace with another container or host cannot "
                        + "be connected to any other network")
            }
            if record.attachments.contains(where: { $0.network == name }) {
                throw SwiftdError(
                    .forbidden, "endpoint with name \(record.name) already exists in network \(name)")
            }
            var attachment = try attachment(to: name, settings)
            if record.state.Running {
                let used = Set(record.connectedEndpoints.map { $0.endpoint.interfaceName ?? "eth0" })
                let interface = (0...).lazy.map { "eth\($0)" }.first { !used.contains($0) } ?? "eth0"
                let driver = try bridgeDriver(named: name)
                // The first network that is not internal gives the default route.
                let routed = record.connectedEndpoints.contains {
                    (try? bridgeDriver(named: $0.network).isInternal) == false
                }
                let endpoint = try driver.connect(
                    containerID: container.id, pid: record.state.Pid, interface: interface,
                    address: attachment.requestedAddress,
                    macAddress: try attachment.requestedMACAddress.map(parseMACAddress),
                    defaultRoute: !driver.isInternal && !routed)
                if name == record.networkName {
                    // Back on the network of its network mode: the ports and links come back.
                    do {
                        try wirePrimaryNetwork(record, driver, endpoint)
                    } catch {
                        try? driver.disconnect(endpoint)
                        throw error
                    }
                }
                attachment.endpoint = endpoint
            }
            return attachment
        } apply: { record, attachment in
            record.attachments.append(attachment)
        }
        let record = container.record
        if record.state.Running, networks.lookUp(name) != nil,
            !networks.hasResolver(containerID: container.id)
        {
            do {
                try startEmbeddedDNS(container, record)
            } catch {
                log.error(
                    "starting a container's embedded DNS server failed",
                    [("id", container.id), ("network", name), ("error", "\(error)")])
            }
        }
    }

    /// Publishes the ports of a running container that joins the network of its network mode
    /// again with `endpoint`, and opens its links to the running containers they name.
    ///
    /// - Throws: what `BridgeDriver.publish` and `link` throw.
    private func wirePrimaryNetwork(
        _ record: ContainerRecord, _ driver: BridgeDriver, _ endpoint: Endpoint
    ) throws {
        if !driver.isInternal {
            let bindings = portBindings(record)
            if !bindings.isEmpty { _ = try driver.publish(endpoint, bindings) }
        }
        for link in record.hostConfig.Links ?? [] {
            guard let child = try? container(Self.parseLink(link).child), child.isRunning,
                let target = child.record.endpoint
            else { continue }
            try driver.link(
                from: endpoint, to: target, ports: exposedPorts(child.record.config), enable: true)
        }
    }

    /// Removes a network from a container: its interface, address lease and rules at once if
    /// it runs.
    ///
    /// - Throws: `SwiftdError`: `notFound` for an unknown network; `forbidden` if the
    ///   container is not on the network; `conflict` while the container starts or stops.
    func disconnect(_ container: Container, from reference: String) throws {
        let name: String
        do {
            name = try bridgeNetworkName(reference)
        } catch let error as SwiftdError where error.kind == .notFound {
            // A network removed while the container did not run stays in its record, and
            // would fail its next start: it can still be disconnected.
            let stale = container.record.attachments.contains {
                $0.network == reference && $0.endpoint == nil
            }
            guard stale else { throw error }
            name = reference
        }
        try withNetworkChange(container) { record in
            guard let attachment = record.attachments.first(where: { $0.network == name }) else {
                throw SwiftdError(
                    .forbidden, "container \(container.id) is not connected to network \(name)")
            }
            if let endpoint = attachment.endpoint {
                try bridgeDriver(named: name).disconnect(endpoint)
            }
            return attachment
        } apply: { record, attachment in
            record.attachments.removeAll { $0.network == attachment.network }
        }
    }

    /// Runs a connect or disconnect of `container`: `change` does the work on the host from
    /// the current record and `apply` records its result. Then the event goes out and the hosts
    /// files of the container and its peers are rewritten.
    ///
    /// NOTE: a container whose process exits during `change` may keep a recorded endpoint
    /// until its next start, which replaces it.
    private func withNetworkChange(
        _ container: Container,
        change: (ContainerRecord) throws -> NetworkAttachment,
        apply: (inout ContainerRecord, NetworkAttachment) -> Void
    ) throws {
        let claimed = container.busy.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard claimed else {
            throw SwiftdError(
                .conflict, "container \(container.id) is being started or stopped; try again")
        }
        defer { container.busy.withLock { $0 = false } }
        let before = container.record
        let attachment = try change(before)
        do {
            try container.update { apply(&$0, attachment) }
        } catch {
            // The change stands on the host; the record on disk catches up at the next save.
            log.error(
                "saving a container's networks failed", [("id", container.id), ("error", "\(error)")])
        }
        let connecting = before.attachments.count < container.record.attachments.count
        emitNetworkEvents(container, [attachment], action: connecting ? "connect" : "disconnect")
        refreshPeerHosts(of: container.record)
    }
}

// MARK: embedded DNS server

/// A running container's endpoint on a user-defined network, as the embedded DNS server sees it.
private struct NetworkMember {
    var record: ContainerRecord
    var network: String
    var endpoint: Endpoint
    var aliases: [String]

    /// Returns true if `name` (lowercase) is the container's name, short ID or one of its
    /// aliases, alone or with the network's name as its domain, as in dockerd.
    func answers(_ name: String) -> Bool {
        let names = [record.name, String(record.id.prefix(12))] + aliases
        return (names + names.map { "\($0).\(network)" }).contains { $0.lowercased() == name }
    }

    /// Returns true if `asker` has a link on this member's network whose alias is `name`.
    func isLinked(_ name: String, by asker: ContainerRecord?) -> Bool {
        let links = asker?.attachments.first { $0.network == network }?.links ?? []
        return links.contains { link in
            let alias = Daemon.parseLink(link).alias
            return [alias, "\(alias).\(network)"].contains { $0.lowercased() == name }
        }
    }
}

extension Daemon {
    /// Answers a question that the embedded DNS server of container `id` received: the names,
    /// aliases and short IDs of the running containers on the user-defined networks it is on,
    /// and reverse lookups in those networks' subnets. Any other name without a dot does not
    /// exist; other names go to the upstream servers, unless the container is only on internal
    /// networks, which gets SERVFAIL for them.
    ///
    /// `joining` names the networks of a container that is starting: its process may send
    /// queries before its record shows it running with its endpoints.
    func resolve(_ question: DNSQuestion, for id: String, joining: Set<String> = [])
        -> ResolverAnswer
    {
        let asker = allContainers().first { $0.id == id }?.record
        let recorded = asker?.state.Running == true
        let shared = (recorded ? Set((asker?.connectedEndpoints ?? []).map(\.network)) : joining)
            .filter { networks.lookUp($0) != nil }
        var members: [NetworkMember] = []
        for container in allContainers() {
            let record = container.record
            guard record.state.Running else { continue }
            for entry in record.connectedEndpoints where shared.contains(entry.network) {
                members.append(NetworkMember(
                    record: record, network: entry.network, endpoint: entry.endpoint,
                    aliases: entry.aliases))
            }
        }
        let name = question.name
        if let address = DNSMessage.reverseLookupAddress(name) {
            let answer = reverseLookup(address, question, members: members, shared: shared)
            guard answer == .forward, !hasExternalAccess(asker, joining: joining) else {
                return answer
            }
            return .serverFailure
        }
        let linked = linkedAddresses(name, asker: asker, members: members, shared: shared)
        var addresses: [String] = []
        // As in dockerd, a link's alias that names no running container there hides a
        // container of that name on the link's network from the asker.
        for member in members where linked.isEmpty && !member.isLinked(name, by: asker) {
            let address = member.endpoint.ipAddress
            guard member.answers(name), !addresses.contains(address) else { continue }
            addresses.append(address)
        }
        addresses = linked.isEmpty ? addresses : linked
        if !addresses.isEmpty {
            let wantsAddresses =
                question.type == DNSMessage.typeA || question.type == DNSMessage.typeANY
            return .records(wantsAddresses ? addresses.compactMap(DNSAnswer.address) : [])
        }
        guard name.contains(".") else { return .nameError }
        return hasExternalAccess(asker, joining: joining) ? .forward : .serverFailure
    }

    /// Returns true if the container is on a network that is not internal, so that its
    /// embedded DNS server may forward queries from the host's namespace. As with dockerd's
    /// resolver, a container only on internal networks gets no reply from outside.
    ///
    /// NOTE: dockerd still forwards such queries from the container's own namespace to servers
    /// that are not the host's loopback. swiftd's server forwards from the host's namespace
    /// only, so it forwards nothing for such a container.
    private func hasExternalAccess(_ record: ContainerRecord?, joining: Set<String>) -> Bool {
        let names =
            record?.state.Running == true
            ? (record?.connectedEndpoints ?? []).map(\.network) : Array(joining)
        return names.contains { (try? bridgeDriver(named: $0).isInternal) == false }
    }

    /// Returns the addresses that `name` stands for as the alias of one of the asker's links
    /// on a shared user-defined network: those of the running containers there that the link
    /// names, as dockerd's resolver looks aliases up before names.
    private func linkedAddresses(
        _ name: String, asker: ContainerRecord?, members: [NetworkMember], shared: Set<String>
    ) -> [String] {
        var addresses: [String] = []
        for attachment in asker?.attachments ?? [] where shared.contains(attachment.network) {
            for link in attachment.links ?? [] {
                let (target, alias) = Self.parseLink(link)
                let aliasNames = [alias, "\(alias).\(attachment.network)"].map { $0.lowercased() }
                guard aliasNames.contains(name) else { continue }
                for member in members where member.network == attachment.network {
                    let address = member.endpoint.ipAddress
                    if member.answers(target.lowercased()) && !addresses.contains(address) {
                        addresses.append(address)
                    }
                }
            }
        }
        return addresses
    }

    /// Answers a PTR question for an address in the subnet of a shared network with
    /// `NAME.NETWORK`, or NXDOMAIN; leaves other addresses to the upstream servers.
    private func reverseLookup(
        _ address: String, _ question: DNSQuestion, members: [NetworkMember], shared: Set<String>
    ) -> ResolverAnswer {
        let local = shared.contains { network in
            networks.lookUp(network).flatMap { IPv4Subnet($0.record.subnet) }?
                .contains(address: address) ?? false
        }
        guard local else { return .forward }
        guard let member = members.first(where: { $0.endpoint.ipAddress == address }) else {
            return .nameError
        }
        guard question.type == DNSMessage.typePTR else { return .records([]) }
        return .records([.pointer("\(member.record.name).\(member.network)")])
    }

    /// Starts the embedded DNS server of a running container that joins its first user-defined
    /// network, and points its resolv.conf at it, as dockerd does: the servers the file listed
    /// become the server's upstreams.
    ///
    /// - Throws: `SystemCallError` if the file cannot be written or the container's network
    ///   namespace cannot be entered; what `EmbeddedResolver.init` throws.
    func startEmbeddedDNS(_ container: Container, _ record: ContainerRecord) throws {
        let host = record.hostConfig
        let (dns, search) = nameServerSettings(host)
        let hostResolvConf = (try? FileSystem.readString("/etc/resolv.conf")) ?? ""
        let embedded = ContainerFiles.embeddedResolvConf(
            host: hostResolvConf, dns: dns, search: search, options: host.DnsOptions ?? [])
        let id = container.id
        try networks.startResolver(
            containerID: id, pid: record.state.Pid, upstreams: embedded.upstreams
        ) { [self] question in resolve(question, for: id) }
        // In place: the bind mount made from this file must see the new contents.
        try FileSystem.write(networkFiles(container).resolvConf, embedded.file.text)
    }

    /// Returns the `--add-host` entries of a container, with `host-gateway` replaced by the
    /// default bridge's address.
    func extraHostEntries(_ host: HostConfig) -> [ContainerFiles.HostEntry] {
        (host.ExtraHosts ?? []).compactMap(ContainerFiles.parseExtraHost).compactMap { entry in
            guard entry.address == ContainerFiles.hostGateway else { return entry }
            guard let gateway = network?.gateway else { return nil }
            return ContainerFiles.HostEntry(address: gateway, names: entry.names)
        }
    }

    /// Returns the name servers and search domains of a container's resolv.conf: its own
    /// `--dns` and `--dns-search`, else the daemon's.
    func nameServerSettings(_ host: HostConfig) -> (dns: [String], search: [String]) {
        let dns = (host.Dns ?? []).isEmpty ? configuration.dns : host.Dns ?? []
        let search =
            (host.DnsSearch ?? []).isEmpty ? configuration.dnsSearch : host.DnsSearch ?? []
        return (dns, search)
    }

    /// Returns the servers that a container's embedded DNS server forwards to, from the
    /// host's current /etc/resolv.conf and the container's DNS settings, as at its start.
    func resolverUpstreams(_ record: ContainerRecord) -> [String] {
        let host = record.hostConfig
        let (dns, search) = nameServerSettings(host)
        let hostResolvConf = (try? FileSystem.readString("/etc/resolv.conf")) ?? ""
        return ContainerFiles.embeddedResolvConf(
            host: hostResolvConf, dns: dns, search: search, options: host.DnsOptions ?? []
        ).upstreams
    }
}
