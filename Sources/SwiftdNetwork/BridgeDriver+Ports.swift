import Foundation
import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem

/// A published port: its binding, the container address and the proxy.
struct PublishedPort: Sendable {
    let binding: PortBinding
    let containerIP: IPv4Address
    let proxy: PortProxy

    /// The key of a binding in `BridgeDriver.published`.
    static func key(_ binding: PortBinding) -> String {
        "\(binding.proto)/\(binding.hostIP):\(binding.hostPort)"
    }
}

extension BridgeDriver {
    /// Publishes container ports of `endpoint` on the host: for each binding, a userland proxy
    /// bound to the host address and port (for connections from the host itself and to
    /// 127.0.0.1), and with iptables on, a DNAT rule in the nat chain `SWIFTD`, an ACCEPT rule
    /// at the top of `SWIFTD-PORTS` and a hairpin MASQUERADE rule in
    /// `SWIFTD-POSTROUTING`.
    ///
    /// An empty `hostIP` means `BridgeConfiguration.defaultHostIP` (or `0.0.0.0`); a `hostPort`
    /// of 0 means a free port of `/proc/sys/net/ipv4/ip_local_port_range`, and a `hostPortEnd`
    /// the first free port from `hostPort` to it; an empty `proto` means `tcp`. Every port is
    /// bound before any rule is added, and on any failure everything this call did is undone.
    /// Blocks for the binds and one iptables commit per table (milliseconds).
    ///
    /// - Returns: the bindings as published, with host address and port filled in.
    /// - Throws: `SwiftdError`: `conflict` if a host port is in use ("Bind for 0.0.0.0:8080
    ///   failed: port is already allocated") or the driver is shut down; `invalidArgument` for
    ///   a malformed binding or an endpoint of another subnet; `internalError` if the
    ///   ephemeral range has no free port. `SystemCallError` or `IPTablesError` when the
    ///   kernel refuses a step.
    public func publish(_ endpoint: Endpoint, _ requests: [PortBinding]) throws -> [PortBinding]
    {
        try ensureRunning()
        let containerIP = try endpointAddress(endpoint)
        let bindings = try published.withLock { table in
            var started: [PublishedPort] = []
            do {
                for request in requests {
                    let port = try startProxy(request, containerIP, taken: table, started)
                    started.append(port)
                }
                if configuration.enableIPTables {
                    var current = table
                    var changes: [RuleChange] = []
                    for port in started {
                        changes += portRules(port, add: true, others: current)
                        current[PublishedPort.key(port.binding)] = port
                    }
                    try applyUndoingOnFailure(changes)
                }
            } catch {
                for port in started { port.proxy.stop() }
                log.warning(
                    "publish failed",
                    [("container", endpoint.containerID), ("error", "\(error)")])
                throw error
            }
            for port in started { table[PublishedPort.key(port.binding)] = port }
            log.debug(
                "ports published",
                [
                    ("container", endpoint.containerID),
                    ("ports", started.map { describe($0) }.joined(separator: ", ")),
                ])
            return started.map(\.binding)
        }
        saveAllocations()
        return bindings
    }

    /// Removes published ports of `endpoint`: stops their proxies and deletes their rules
    /// (the ACCEPT and hairpin rules only when no other binding to the same container port
    /// needs them). Bindings are as `publish` returned them; unknown ones are skipped.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) for an endpoint of another subnet;
    ///   `IPTablesError` if the rules cannot be deleted (the proxies are stopped anyway).
    public func unpublish(_ endpoint: Endpoint, _ bindings: [PortBinding]) throws {
        let containerIP = try endpointAddress(endpoint)
        // Also after a failure: the proxies are stopped and the table changed by then.
        defer { saveAllocations() }
        try published.withLock { table in
            var changes: [RuleChange] = []
            for binding in bindings {
                let key = PublishedPort.key(normalized(binding))
                guard let port = table[key], port.containerIP == containerIP else { continue }
                port.proxy.stop()
                table[key] = nil
                changes += portRules(port, add: false, others: table)
            }
            if configuration.enableIPTables && !changes.isEmpty {
                try BridgeRules.apply(changes)
            }
        }
    }

    /// The ports published for `endpoint`.
    public func publishedPorts(_ endpoint: Endpoint) -> [PortBinding] {
        published.withLock { table in
            table.values.filter { $0.containerIP.description == endpoint.ipAddress }
                .map(\.binding)
        }
    }

    /// Opens (or with `enable` false, closes) the ports of `child` to `parent`, as Docker's
    /// links do: for each port, `-i BR -o BR -p PROTO -s PARENT -d CHILD --dport PORT -j ACCEPT`
    /// and the reverse `-s CHILD -d PARENT --sport PORT`, at the top of `SWIFTD-FORWARD`, so
    /// that they pass even when inter-container communication is off. Does nothing without
    /// iptables.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) for an endpoint of another subnet or a bad
    ///   port; `IPTablesError` when the rules cannot be changed.
    public func link(from parent: Endpoint, to child: Endpoint, ports: [ExposedPort], enable: Bool)
        throws
    {
        let parentIP = try endpointAddress(parent)
        let childIP = try endpointAddress(child)
        guard configuration.enableIPTables else { return }
        var rules: [IPTablesRule] = []
        for port in ports {
            let proto = port.proto.isEmpty ? "tcp" : port.proto.lowercased()
            guard proto == "tcp" || proto == "udp", (1...65535).contains(port.port) else {
                throw SwiftdError(.invalidArgument, "invalid link port \(port.port)/\(port.proto)")
            }
            rules.append(
                IPTablesRule(
                    source: parentIP.description, destination: childIP.description,
                    inInterface: bridgeName, outInterface: bridgeName, proto: proto,
                    destinationPort: port.port, target: "ACCEPT"))
            rules.append(
                IPTablesRule(
                    source: childIP.description, destination: parentIP.description,
                    inInterface: bridgeName, outInterface: bridgeName, proto: proto,
                    sourcePort: port.port, target: "ACCEPT"))
        }
        let key = "\(parentIP)>\(childIP)"
        try links.withLock { table in
            try BridgeRules.apply(
                rules.map {
                    RuleChange(
                        table: .filter, chain: BridgeRules.filterChain, rule: $0, add: enable,
                        top: true)
                })
            if enable {
                table[key, default: []] += rules
            } else {
                table[key]?.removeAll { rules.contains($0) }
            }
        }
    }

    /// Removes the published ports and links of the container at `address` (at disconnect).
    func forgetContainer(_ endpoint: Endpoint, _ address: IPv4Address) {
        let bindings = published.withLock { table in
            table.values.filter { $0.containerIP == address }.map(\.binding)
        }
        if !bindings.isEmpty {
            do { try unpublish(endpoint, bindings) } catch {
                log.warning(
                    "unpublish at disconnect failed",
                    [("container", endpoint.containerID), ("error", "\(error)")])
            }
        }
        let stale = links.withLock { table in
            let keys = table.keys.filter {
                $0.hasPrefix("\(address)>") || $0.hasSuffix(">\(address)")
            }
            defer { for key in keys { table[key] = nil } }
            return keys.flatMap { table[$0] ?? [] }
        }
        if configuration.enableIPTables && !stale.isEmpty {
            do {
                try BridgeRules.apply(
                    stale.map {
                        RuleChange(
                            table: .filter, chain: BridgeRules.filterChain, rule: $0, add: false)
                    })
            } catch {
                log.warning(
                    "removing links at disconnect failed",
                    [("container", endpoint.containerID), ("error", "\(error)")])
            }
        }
    }

    /// Fills in the defaults of a requested binding (host address and protocol).
    func normalized(_ request: PortBinding) -> PortBinding {
        var binding = request
        if binding.hostIP.isEmpty { binding.hostIP = defaultHostIP }
        binding.proto = binding.proto.isEmpty ? "tcp" : binding.proto.lowercased()
        return binding
    }

    /// Validates `request`, picks the host port if needed and starts its proxy.
    private func startProxy(
        _ request: PortBinding, _ containerIP: IPv4Address, taken: [String: PublishedPort],
        _ started: [PublishedPort]
    ) throws -> PublishedPort {
        var binding = normalized(request)
        let first = binding.hostPort
        let rangeIsValid = binding.hostPortEnd.map { 1 <= first && first <= $0 && $0 <= 65535 }
        guard binding.proto == "tcp" || binding.proto == "udp",
            IPv4Address(binding.hostIP) != nil, (0...65535).contains(binding.hostPort),
            (1...65535).contains(binding.containerPort), rangeIsValid ?? true
        else {
            throw SwiftdError(
                .invalidArgument,
                "invalid port binding \(binding.hostIP):\(binding.hostPort)"
                    + (binding.hostPortEnd.map { "-\($0)" } ?? "") + " to "
                    + "\(binding.containerPort)/\(binding.proto)")
        }
        let requestedRange = binding.hostPortEnd.map { first...$0 }
        binding.hostPortEnd = nil
        let target = (containerIP, UInt16(binding.containerPort))
        if binding.hostPort != 0 && requestedRange == nil {
            let holders = taken.values.map(\.binding) + started.map(\.binding)
            if holders.contains(where: { Self.overlaps($0, binding) }) {
                // dockerd's port allocator message for a port that one of its containers holds.
                throw SwiftdError(
                    .conflict,
                    "Bind for \(binding.hostIP):\(binding.hostPort) failed: port is already "
                        + "allocated")
            }
            let proxy = try PortProxy(binding, target: target)
            return PublishedPort(binding: binding, containerIP: containerIP, proxy: proxy)
        }
        let range = try requestedRange ?? Self.ephemeralPortRange()
        let count = range.upperBound - range.lowerBound + 1
        // A requested range is tried in order, as Docker does. The ephemeral range is tried from
        // a random port, so that containers do not compete for the same first port.
        let offset = requestedRange == nil ? Int.random(in: 0..<count) : 0
        let used = Set(
            taken.values.filter { $0.binding.proto == binding.proto }.map(\.binding.hostPort)
                + started.filter { $0.binding.proto == binding.proto }.map(\.binding.hostPort))
        for step in 0..<count {
            binding.hostPort = range.lowerBound + (offset + step) % count
            if used.contains(binding.hostPort) { continue }
            do {
                let proxy = try PortProxy(binding, target: target)
                return PublishedPort(binding: binding, containerIP: containerIP, proxy: proxy)
            } catch let error as SwiftdError where error.kind == .conflict {
                continue
            }
        }
        if requestedRange != nil {
            throw SwiftdError(
                .conflict,
                "Bind for \(binding.hostIP):\(range.lowerBound)-\(range.upperBound) failed: port "
                    + "is already allocated")
        }
        throw SwiftdError(
            .internalError,
            "no free \(binding.proto) port on \(binding.hostIP) in \(range.lowerBound)-"
                + "\(range.upperBound)")
    }

    /// Returns true if two bindings of the same protocol and host port share a host address,
    /// `0.0.0.0` sharing every address.
    static func overlaps(_ first: PortBinding, _ second: PortBinding) -> Bool {
        guard first.proto == second.proto, first.hostPort == second.hostPort else { return false }
        return first.hostIP == second.hostIP || first.hostIP == "0.0.0.0"
            || second.hostIP == "0.0.0.0"
    }

    /// Reads `/proc/sys/net/ipv4/ip_local_port_range`.
    static func ephemeralPortRange() throws -> ClosedRange<Int> {
        let path = "/proc/sys/net/ipv4/ip_local_port_range"
        let numbers = try FileSystem.readString(path).split(whereSeparator: \.isWhitespace)
            .compactMap { Int($0) }
        guard numbers.count == 2, 1 <= numbers[0], numbers[0] <= numbers[1],
            numbers[1] <= 65535
        else {
            throw SwiftdError(.internalError, "cannot parse \(path)")
        }
        return numbers[0]...numbers[1]
    }

    /// The rule changes for one published port. The ACCEPT and hairpin rules, which depend
    /// only on the container port, are left out when a binding in `others` has them too.
    func portRules(_ port: PublishedPort, add: Bool, others: [String: PublishedPort])
        -> [RuleChange]
    {
        let binding = port.binding
        let container = port.containerIP.description
        let dnat = IPTablesRule(
            destination: binding.hostIP == "0.0.0.0" ? nil : binding.hostIP,
            inInterface: bridgeName, inInterfaceNegated: true, proto: binding.proto,
            destinationPort: binding.hostPort, target: "DNAT",
            toDestination: "\(container):\(binding.containerPort)")
        var changes = [
            RuleChange(table: .nat, chain: BridgeRules.portChain, rule: dnat, add: add)
        ]
        let shared = others.values.contains {
            $0.containerIP == port.containerIP && $0.binding.proto == binding.proto
                && $0.binding.containerPort == binding.containerPort
                && PublishedPort.key($0.binding) != PublishedPort.key(binding)
        }
        if !shared {
            let accept = IPTablesRule(
                destination: container, inInterface: bridgeName, inInterfaceNegated: true,
                outInterface: bridgeName, proto: binding.proto,
                destinationPort: binding.containerPort, target: "ACCEPT")
            // `-o BRIDGE` (always true for this traffic) marks the rule as the bridge's.
            let hairpin = IPTablesRule(
                source: container, destination: container, outInterface: bridgeName,
                proto: binding.proto, destinationPort: binding.containerPort,
                target: "MASQUERADE")
            // At the top, before the DROP rules at the end of the chain.
            changes.append(
                RuleChange(
                    table: .filter, chain: BridgeRules.publishedChain, rule: accept, add: add,
                    top: true))
            changes.append(
                RuleChange(table: .nat, chain: BridgeRules.natChain, rule: hairpin, add: add))
        }
        return changes
    }

    /// Applies `changes`; if that fails part-way (the nat table committed, the filter table
    /// not), deletes what was added.
    private func applyUndoingOnFailure(_ changes: [RuleChange]) throws {
        do {
            try BridgeRules.apply(changes)
        } catch {
            try? BridgeRules.apply(changes.map { change in
                var undo = change
                undo.add = false
                return undo
            })
            throw error
        }
    }

    private func describe(_ port: PublishedPort) -> String {
        let binding = port.binding
        return "\(binding.hostIP):\(binding.hostPort)->\(port.containerIP):"
            + "\(binding.containerPort)/\(binding.proto)"
    }
}
