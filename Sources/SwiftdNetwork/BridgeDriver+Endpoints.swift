import SwiftdNetlink
import SwiftdSystem

extension BridgeDriver {
    /// Brings up the loopback interface in the network namespace of `pid`: a container with
    /// a namespace of its own but no network (`--network none`) still has `lo` up, as in Docker.
    ///
    /// - Throws: `NetlinkError` or `SystemCallError` if the namespace cannot be entered or the
    ///   link set up.
    public static func bringUpLoopback(pid: Int32) throws {
        try NetlinkSocket(networkNamespaceOf: pid).setLinkUp("lo")
    }

    /// Creates a veth pair with the host end on the bridge and the other end, called
    /// `interface`, made directly in the network namespace of `pid`. Gives that end `address`
    /// (or else the next free address) and `macAddress` (or else the one derived from the
    /// address), with `defaultRoute` a default route via the gateway, and brings both ends and
    /// lo up. Throws and undoes everything on failure.
    ///
    /// Blocks for a few milliseconds; the in-namespace steps run on a socket opened by a
    /// dedicated thread (see `NetlinkSocket.init(networkNamespaceOf:)`).
    ///
    /// - Throws: `SwiftdError`: `internalError` when the subnet is full, `conflict` when the
    ///   driver is shut down or `address` is taken, `invalidArgument` when `address` is not a
    ///   host address of the subnet. `SystemCallError` when the namespace of `pid` cannot be
    ///   entered (`ENOENT` if the process is gone); `NetlinkError` when the kernel refuses a
    ///   step (for example the interface name already exists in the namespace).
    public func connect(
        containerID: String, pid: Int32, interface: String = "eth0", address requested: String? = nil,
        macAddress requestedMAC: [UInt8]? = nil, defaultRoute: Bool = true
    ) throws -> Endpoint {
        try ensureRunning()
        let clock = ContinuousClock()
        let start = clock.now
        let address = try requested.map { try reserveRequested($0, owner: containerID) }
            ?? allocate(owner: containerID)
        let hostName = "veth" + randomHex(digits: 7)
        let mac = requestedMAC ?? macAddressBytes(for: address)
        do {
            let host = try NetlinkSocket()
            guard let bridge = try host.link(named: bridgeName) else {
                throw SwiftdError(.notFound, "bridge \(bridgeName) of the network is gone")
            }
            try host.createVethPair(
                named: hostName, peerName: interface, mtu: mtu, peerMACAddress: mac,
                master: bridge.index, peerNamespaceOf: pid, up: true)
            do {
                let container = try NetlinkSocket(networkNamespaceOf: pid)
                try container.addAddress(address, prefixLength: prefixLength, toLink: interface)
                try container.setLinkUp(interface)
                try container.setLinkUp("lo")
                if defaultRoute {
                    try container.addDefaultRoute(via: gatewayAddress, link: interface)
                }
            } catch {
                // Deleting one end of a veth deletes the other, wherever it is now.
                try? host.deleteLink(named: hostName)
                throw error
            }
        } catch {
            allocator.release(address)
            saveAllocations()
            log.warning(
                "connect failed",
                [("container", containerID), ("pid", "\(pid)"), ("error", "\(error)")])
            throw error
        }
        saveAllocations()
        log.debug(
            "container connected",
            [
                ("container", containerID), ("veth", hostName), ("interface", interface),
                ("address", "\(address)"), ("took", "\(clock.now - start)"),
            ])
        return Endpoint(
            containerID: containerID, hostInterface: hostName, ipAddress: address.description,
            prefixLength: prefixLength, gateway: gateway, macAddress: formatMACAddress(mac),
            interfaceName: interface, id: randomHex(digits: 64))
    }

    /// Reserves the address a container asked for (`--ip`).
    ///
    /// - Throws: `SwiftdError`: `invalidArgument` for a malformed address or one outside the
    ///   subnet; `conflict` if another container holds it.
    private func reserveRequested(_ text: String, owner: String) throws -> IPv4Address {
        guard let address = IPv4Address(text) else {
            throw SwiftdError(.invalidArgument, "invalid IPv4 address \(text)")
        }
        guard network.contains(address) else {
            throw SwiftdError(
                .invalidArgument,
                "no configured subnet or ip-range contain the IP address \(text)")
        }
        do {
            try allocator.reserve(address, owner: owner)
        } catch let error as SwiftdError where error.kind == .conflict {
            // An exited container's address is free once its link is deleted.
            guard reclaimRetiring(address: address), (try? allocator.reserve(address, owner: owner)) != nil
            else {
                throw SwiftdError(.conflict, "Address already in use: \(text)")
            }
        }
        return address
    }

    /// Re-registers an address that a restored container already holds; with a state
    /// directory the address may already be reserved for the same container, which is fine.
    ///
    /// - Throws: `SwiftdError`: `invalidArgument` if the endpoint does not belong to this
    ///   bridge's subnet; `conflict` if its address is handed out to another container.
    public func reserve(_ endpoint: Endpoint) throws {
        try ensureRunning()
        let address = try endpointAddress(endpoint)
        try allocator.reserve(address, owner: endpoint.containerID)
        saveAllocations()
    }

    /// Removes the endpoint's published ports and links, deletes the host end of the veth (if
    /// it still exists) and releases the address. With `exited`, for a container whose
    /// process has exited, the link is retired instead (see `retire`) and the call does not
    /// wait for it.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) for an endpoint of another subnet;
    ///   `NetlinkError` if the link exists but cannot be deleted (the address is still
    ///   released).
    public func disconnect(_ endpoint: Endpoint, exited: Bool = false) throws {
        let address = try endpointAddress(endpoint)
        forgetContainer(endpoint, address)
        savedPorts.withLock { $0[address] = nil }
        log.debug(
            "container disconnected",
            [("container", endpoint.containerID), ("veth", endpoint.hostInterface)])
        if exited {
            retire(endpoint, address)
            return
        }
        defer {
            allocator.release(address)
            saveAllocations()
        }
        do {
            try NetlinkSocket().deleteLink(named: endpoint.hostInterface)
        } catch let error as NetlinkError where error.isNotFound {
            // The container's namespace went away first and took the veth pair with it.
        }
    }

    /// Parses the endpoint's address and checks it against this bridge's subnet.
    func endpointAddress(_ endpoint: Endpoint) throws -> IPv4Address {
        guard let address = IPv4Address(endpoint.ipAddress), network.contains(address),
            endpoint.prefixLength == prefixLength
        else {
            throw SwiftdError(
                .invalidArgument,
                "endpoint \(endpoint.ipAddress)/\(endpoint.prefixLength) of container "
                    + "\(endpoint.containerID) is not in \(subnet) of bridge \(bridgeName)")
        }
        return address
    }
}

/// `digits` random lowercase hexadecimal digits.
func randomHex(digits: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("0123456789abcdef")
    return String((0..<digits).map { _ in alphabet[Int(generator.next() % 16)] })
}
