import Foundation
import SwiftdAPI
import SwiftdNetwork
import SwiftdSystem

// MARK: live restore

extension Daemon {
    /// Stops the embedded DNS servers and the userland proxies of published ports, which run
    /// in the daemon process. The bridges, veths, iptables rules, `ip_forward`, and the saved
    /// leases and published ports stay.
    ///
    /// Call it at shutdown in place of the network part of `releaseHostResources()` when the
    /// running containers outlive the daemon (live restore). Their traffic keeps flowing
    /// through the bridge and the DNAT rules, but names on user-defined networks do not resolve
    /// and published ports do not answer on 127.0.0.1 until the next daemon calls
    /// `reattachNetwork(_:)`. The drivers reject new endpoints afterwards.
    func detachNetworksForLiveRestore() {
        networks.detachForLiveRestore()
        network?.detachForLiveRestore()
        log.info("networks detached for live restore")
    }

    /// Takes over the networks of a container that kept running across a daemon restart.
    ///
    /// Call it for each container whose record is running with a live `state.Pid`, after the
    /// drivers are made (`Daemon.init`). For each endpoint in the record, it reserves the
    /// address in the network's IPAM. It publishes again the ports an earlier run saved, on
    /// the same host addresses and ports, with one DNAT rule each and userland proxies. On the
    /// network of the network mode it opens the container's links again. With an endpoint on
    /// a user-defined network, it starts the embedded DNS server in `/proc/PID/ns/net`. Last,
    /// it rewrites the hosts files of the container and its peers. Containers with the
    /// `host`, `none` or `container:` network mode need nothing. A second call adds nothing.
    ///
    /// Every step is tried even if an earlier one fails; the first failure is thrown.
    /// Blocks on netlink and iptables (milliseconds).
    ///
    /// - Throws: `SwiftdError`: `conflict` if the container does not run, another container
    ///   holds its address, or a saved host port is in use; `notFound` for a network that is
    ///   gone. `SystemCallError` if the container's network namespace cannot be entered.
    func reattachNetwork(_ container: Container) throws {
        let record = container.record
        let pid = record.state.Pid
        guard record.state.Running, pid > 0 else {
            throw SwiftdError(
                .conflict, "cannot reattach the networks of container \(container.id): not running")
        }
        guard record.hasBridgeNetworkMode else { return }
        var failures: [any Error] = []
        func attempt(_ step: String, _ network: String, _ body: () throws -> Void) {
            do {
                try body()
            } catch {
                log.error(
                    "reattaching a container's network failed",
                    [
                        ("id", container.id), ("step", step), ("network", network),
                        ("error", "\(error)"),
                    ])
                failures.append(error)
            }
        }

        for entry in record.connectedEndpoints {
            attempt("ports", entry.network) {
                let driver = try bridgeDriver(named: entry.network)
                // A state file of a version that did not save ports: publish the record's.
                let fromRecord =
                    entry.network == record.networkName && publishesPorts(record)
                    && driver.savedPorts(entry.endpoint).isEmpty
                    && driver.publishedPorts(entry.endpoint).isEmpty
                try driver.reattach(entry.endpoint)
                let bindings = portBindings(record)
                if fromRecord && !bindings.isEmpty {
                    _ = try driver.publish(entry.endpoint, bindings)
                }
            }
            guard entry.network == record.networkName else { continue }
            for link in record.hostConfig.Links ?? [] {
                attempt("link", entry.network) {
                    let child = try self.container(Self.parseLink(link).child)
                    guard child.isRunning, let target = child.record.endpoint else { return }
                    try bridgeDriver(named: entry.network).link(
                        from: entry.endpoint, to: target,
                        ports: exposedPorts(child.record.config), enable: true)
                }
            }
        }

        let onUserNetwork = record.connectedEndpoints.contains {
            networks.lookUp($0.network) != nil
        }
        if onUserNetwork {
            attempt("dns", "") {
                let id = container.id
                try networks.startResolver(
                    containerID: id, pid: pid, upstreams: resolverUpstreams(record)
                ) { [self] question in resolve(question, for: id) }
            }
        }
        refreshPeerHosts(of: record)
        log.info(
            "container networks reattached",
            [
                ("id", container.id), ("networks", "\(record.connectedEndpoints.count)"),
                ("errors", "\(failures.count)"),
            ])
        if let failure = failures.first { throw failure }
    }
}
