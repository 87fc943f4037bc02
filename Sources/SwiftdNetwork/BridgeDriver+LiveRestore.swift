import SwiftdNetlink
import SwiftdSystem

/// Live restore: the daemon stops while its containers keep running, and the next daemon takes
/// them over.
///
/// `detachForLiveRestore()` stops only what lives in the daemon process. The next driver made
/// with the same configuration and state directory adopts the bridge, reserves the saved
/// leases and reinstalls the bridge's base rules, which drops the rules of published ports and
/// links. `reattach(_:)` then publishes each running container's ports again, and the daemon
/// opens its links again with `link(from:to:ports:enable:)`.
extension BridgeDriver {
    /// Stops the userland proxies of the published ports and marks the driver shut down.
    ///
    /// The bridge, the veths, `ip_forward`, the iptables rules (published ports and links
    /// included) and the state file with the leases and published ports stay. So running
    /// containers keep their traffic through DNAT, and the next driver can take them over.
    /// Connections to published ports through 127.0.0.1 fail until then.
    ///
    /// After this call the driver rejects `connect`, `publish` and `reattach`; a later
    /// `shutdown()` does nothing. A second call does nothing.
    public func detachForLiveRestore() {
        guard markShutDown() else { return }
        closeRetiring()
        let proxies = published.withLock { ports in
            defer { ports.removeAll() }
            return ports.values.map(\.proxy)
        }
        for proxy in proxies { proxy.stop() }
        links.withLock { $0.removeAll() }
        log.info(
            "bridge detached for live restore",
            [("bridge", bridgeName), ("ports", "\(proxies.count)")])
    }

    /// Takes over the endpoint of a container that kept running across a daemon restart.
    ///
    /// Reserves the endpoint's address for its container, which the state file has usually
    /// reserved already. Then publishes again the ports that an earlier run saved for it, on
    /// the same host addresses and ports, with their DNAT, ACCEPT and hairpin rules and their
    /// proxies.
    ///
    /// Ports already published for the endpoint are skipped, so a second call adds nothing.
    /// Each saved binding is published on its own: one whose host port has been taken in the
    /// meantime is left out, and the first such failure is thrown after the others are
    /// published. Blocks for one iptables commit per port (milliseconds).
    ///
    /// - Returns: the bindings published by this call.
    /// - Throws: `SwiftdError`: `invalidArgument` for an endpoint of another subnet;
    ///   `conflict` if the driver is shut down, another container holds the address, or a
    ///   saved host port is in use. What `publish` throws.
    @discardableResult
    public func reattach(_ endpoint: Endpoint) throws -> [PortBinding] {
        try ensureRunning()
        let address = try endpointAddress(endpoint)
        try allocator.reserve(address, owner: endpoint.containerID)

        let saved = savedPorts.withLock { $0.removeValue(forKey: address) } ?? []
        let active = Set(publishedPorts(endpoint).map(PublishedPort.key))
        var restored: [PortBinding] = []
        var firstError: (any Error)?
        for binding in saved where !active.contains(PublishedPort.key(binding)) {
            do {
                restored += try publish(endpoint, [binding])
            } catch {
                log.warning(
                    "a saved port was not published again",
                    [
                        ("container", endpoint.containerID),
                        ("port", "\(binding.hostIP):\(binding.hostPort)/\(binding.proto)"),
                        ("error", "\(error)"),
                    ])
                firstError = firstError ?? error
            }
        }

        saveAllocations()
        log.debug(
            "container reattached",
            [
                ("container", endpoint.containerID), ("address", "\(address)"),
                ("ports", "\(restored.count)"),
            ])
        if let firstError { throw firstError }
        return restored
    }

    /// Returns the ports that an earlier run saved for `endpoint` and that `reattach` has not
    /// published again yet.
    public func savedPorts(_ endpoint: Endpoint) -> [PortBinding] {
        guard let address = IPv4Address(endpoint.ipAddress) else { return [] }
        return savedPorts.withLock { $0[address] ?? [] }
    }
}
