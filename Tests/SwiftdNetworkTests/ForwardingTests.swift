import Foundation
import Testing

@testable import SwiftdNetwork

extension PrivilegedTests {
    /// Routed traffic into a bridge from another interface: a test namespace plays a host on
    /// the network, joined to the host by a veth pair and routed to the bridge subnet.
    @Suite("Forwarding into a bridge")
    struct ForwardingTests {
        /// A namespace joined to the host by a veth pair: the host end has `prefix.1/30`, the
        /// namespace end `prefix.2/30` and a route to `subnet` through the host.
        final class RoutedPeer {
            let namespace: NetworkNamespaceProcess
            let hostInterface: String
            let hostAddress: String
            let address: String

            init(prefix: String, subnet: String) throws {
                namespace = try NetworkNamespaceProcess()
                hostInterface = "swdv" + TestSupport.hex(6)
                hostAddress = "\(prefix).1"
                address = "\(prefix).2"
                let steps: [[String]] = [
                    [
                        "ip", "link", "add", hostInterface, "type", "veth", "peer", "name", "eth0",
                        "netns", "\(namespace.pid)",
                    ],
                    ["ip", "addr", "add", "\(hostAddress)/30", "dev", hostInterface],
                    ["ip", "link", "set", hostInterface, "up"],
                ]
                let inside: [[String]] = [
                    ["ip", "addr", "add", "\(address)/30", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"],
                    ["ip", "route", "add", subnet, "via", hostAddress],
                ]
                do {
                    for step in steps where try TestSupport.run(step).status != 0 {
                        throw SwiftdTestError("failed: \(step.joined(separator: " "))")
                    }
                    for step in inside where try namespace.run(step).status != 0 {
                        throw SwiftdTestError("failed in the namespace: \(step)")
                    }
                } catch {
                    stop()
                    throw error
                }
            }

            func stop() {
                _ = try? TestSupport.run(["ip", "link", "delete", hostInterface])
                namespace.stop()
            }
        }

        @Test("accepts only published and established traffic")
        func publishedAndEstablished() throws {
            let name = "swdt" + TestSupport.hex(6)
            let prefix = "10.217.\(Int.random(in: 0...199))"
            let peerPrefix = "10.218.\(Int.random(in: 0...199))"
            defer { TestSupport.removeBridge(name) }
            let driver = try BridgeDriver(
                BridgeConfiguration(bridgeName: name, bridgeIP: "\(prefix).1/24"))
            defer { _ = try? driver.shutdown() }
            let container = try NetworkNamespaceProcess()
            defer { container.stop() }
            let endpoint = try driver.connect(containerID: "f1", pid: container.pid)
            let peer = try RoutedPeer(prefix: peerPrefix, subnet: driver.subnet)
            defer { peer.stop() }

            let published = try Echo.start("tcp", port: 80, in: container)
            defer { stopProcess(published) }
            let unpublished = try Echo.start("tcp", port: 81, in: container)
            defer { stopProcess(unpublished) }
            let outside = try Echo.start("tcp", port: 9000, in: peer.namespace)
            defer { stopProcess(outside) }
            #expect(try Echo.askUntilAnswered("tcp", endpoint.ipAddress, 81).hasPrefix("echo:"))

            let hostPort = Int.random(in: 20000...29999)
            let bindings = try driver.publish(
                endpoint, [PortBinding(hostPort: hostPort, containerPort: 80)])
            defer { _ = try? driver.unpublish(endpoint, bindings) }
            let rules = try TestSupport.savedRules(mentioning: name)
            for line in [
                "-A SWIFTD-FORWARD -o \(name) -m conntrack --ctstate RELATED,ESTABLISHED "
                    + "-j ACCEPT",
                "-A SWIFTD-FORWARD -o \(name) -j SWIFTD-PORTS",
                "-A SWIFTD-PORTS -d \(endpoint.ipAddress)/32 ! -i \(name) -o \(name) -p tcp -m tcp "
                    + "--dport 80 -j ACCEPT",
                "-A SWIFTD-PORTS ! -i \(name) -o \(name) -j DROP",
            ] {
                #expect(rules.contains(line), "missing: \(line)\nin: \(rules)")
            }
            #expect(!rules.contains("-A SWIFTD-FORWARD -o \(name) -j ACCEPT"))

            // The published port, through DNAT on the host address the peer routes to.
            let viaHost = try Echo.askUntilAnswered(
                "tcp", peer.hostAddress, hostPort, from: peer.namespace)
            #expect(viaHost == "echo:ping from:\(peer.address)")
            // Routed to directly, an unpublished container port is dropped and a published one is
            // accepted, as dockerd's per-port rules do.
            let direct = try Echo.ask(
                "tcp", endpoint.ipAddress, 81, from: peer.namespace, timeout: 1)
            #expect(direct == "")
            let directPublished = try Echo.askUntilAnswered(
                "tcp", endpoint.ipAddress, 80, from: peer.namespace)
            #expect(directPublished == "echo:ping from:\(peer.address)")
            // The container's own connection out: its replies come back as ESTABLISHED.
            let out = try Echo.askUntilAnswered("tcp", peer.address, 9000, from: container)
            #expect(out == "echo:ping from:\(peer.hostAddress)")
        }
    }
}
