import Foundation
import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

/// Sends a DNS query for `name` (type A) to 127.0.0.11 and prints the addresses of the answer,
/// or `NXDOMAIN`, or nothing on a timeout.
let dnsQueryScript = """
    import socket, struct, sys
    name = sys.argv[1]
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        query += bytes([len(label)]) + label.encode()
    query += b"\\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    s.sendto(query, ("127.0.0.11", 53))
    reply = s.recv(512)
    if reply[3] & 0x0f == 3:
        print("NXDOMAIN"); sys.exit(0)
    count = struct.unpack(">H", reply[6:8])[0]
    offset = len(query)
    for _ in range(count):
        offset += 2
        kind, _, _, length = struct.unpack(">HHIH", reply[offset:offset + 10])
        offset += 10
        if kind == 1:
            print(".".join(str(b) for b in reply[offset:offset + length]))
        offset += length
    """

extension PrivilegedTests {
    @Suite("Live restore")
    struct LiveRestoreTests {
        @Test("reattach restores lease, rules and ports")
        func reattachAfterDetach() throws {
            let name = "swdt" + TestSupport.hex(6)
            let prefix = "10.219.\(Int.random(in: 0...199))"
            let directory = NSTemporaryDirectory() + "swdt-live-" + TestSupport.hex(8)
            try FileSystem.createDirectory(directory)
            defer { try? FileSystem.removeTree(directory) }
            let before = try normalizedSave(name, prefix)
            defer { TestSupport.removeBridge(name) }
            let configuration = BridgeConfiguration(
                bridgeName: name, bridgeIP: "\(prefix).1/24", stateDirectory: directory)
            let namespace = try NetworkNamespaceProcess()
            defer { namespace.stop() }

            let first = try BridgeDriver(configuration)
            defer { _ = try? first.shutdown() }
            let endpoint = try first.connect(containerID: "r1", pid: namespace.pid)
            let server = try Echo.start("tcp", port: 80, in: namespace)
            defer { stopProcess(server) }
            let hostPort = Int.random(in: 20000...29999)
            let bindings = try first.publish(
                endpoint,
                [
                    PortBinding(hostPort: hostPort, containerPort: 80),
                    PortBinding(hostIP: "127.0.0.1", hostPort: 0, containerPort: 80),
                ])
            let ephemeralPort = bindings[1].hostPort
            #expect(try Echo.askUntilAnswered("tcp", "127.0.0.1", hostPort).hasPrefix("echo:"))
            let wired = try normalizedSave(name, prefix)
            #expect(wired.contains { $0.contains("--dport \(hostPort) -j DNAT") })

            // Detached: the bridge and every rule stay, so DNAT still reaches the container;
            // the proxy on 127.0.0.1 is gone with the daemon process.
            first.detachForLiveRestore()
            #expect(try NetlinkSocket().link(named: name) != nil)
            #expect(try normalizedSave(name, prefix) == wired)
            #expect(try Echo.ask("tcp", first.gateway, hostPort).hasPrefix("echo:ping"))
            #expect(try Echo.ask("tcp", "127.0.0.1", hostPort, timeout: 0.5) == "")
            let rejected = #expect(throws: SwiftdError.self) {
                try first.connect(containerID: "r2", pid: namespace.pid, interface: "eth1")
            }
            #expect(rejected?.kind == .conflict)

            // The next driver keeps the lease and the saved ports; its start-up drops the
            // port rules until reattach adds them again.
            let second = try BridgeDriver(configuration)
            defer { _ = try? second.shutdown() }
            let address = try #require(IPv4Address(endpoint.ipAddress))
            #expect(second.allocator.allocations == [address: "r1"])
            #expect(Set(second.savedPorts(endpoint)) == Set(bindings))
            #expect(try !TestSupport.savedRules(mentioning: "DNAT").contains { $0.contains(name) })

            let restored = try second.reattach(endpoint)
            #expect(Set(restored) == Set(bindings))
            #expect(second.savedPorts(endpoint).isEmpty)
            #expect(try second.reattach(endpoint).isEmpty)
            let rewired = try normalizedSave(name, prefix)
            #expect(rewired == wired)
            #expect(Set(rewired).count == rewired.count, "duplicate rules: \(rewired)")
            #expect(try Echo.ask("tcp", "127.0.0.1", hostPort).hasPrefix("echo:ping"))
            #expect(try Echo.ask("tcp", "127.0.0.1", ephemeralPort).hasPrefix("echo:ping"))
            #expect(try Echo.ask("tcp", second.gateway, hostPort).hasPrefix("echo:ping"))

            try second.disconnect(endpoint)
            try second.shutdown()
            #expect(try normalizedSave(name, prefix) == before)
            #expect(try NetlinkSocket().link(named: name) == nil)
        }

        @Test("release drops stale saved ports")
        func releaseDropsSavedPorts() throws {
            let name = "swdt" + TestSupport.hex(6)
            let prefix = "10.219.\(Int.random(in: 200...250))"
            let directory = NSTemporaryDirectory() + "swdt-live-" + TestSupport.hex(8)
            try FileSystem.createDirectory(directory)
            defer { try? FileSystem.removeTree(directory) }
            defer { TestSupport.removeBridge(name) }
            let configuration = BridgeConfiguration(
                bridgeName: name, bridgeIP: "\(prefix).1/24", stateDirectory: directory)
            let namespace = try NetworkNamespaceProcess()
            defer { namespace.stop() }

            let first = try BridgeDriver(configuration)
            let endpoint = try first.connect(containerID: "s1", pid: namespace.pid)
            let hostPort = Int.random(in: 20000...29999)
            _ = try first.publish(endpoint, [PortBinding(hostPort: hostPort, containerPort: 80)])
            first.detachForLiveRestore()

            // The container died while no daemon ran: its lease and ports go.
            namespace.stop()
            let second = try BridgeDriver(configuration)
            defer { _ = try? second.shutdown() }
            #expect(second.savedPorts(endpoint).count == 1)
            #expect(second.releaseAddresses(notHeldBy: []) == 1)
            #expect(second.savedPorts(endpoint).isEmpty)
            let file = directory + "/\(name)-addresses.json"
            let saved = try JSONDecoder().decode(
                AllocationState.self, from: Data(try FileSystem.read(file)))
            #expect(saved == AllocationState(subnet: "\(prefix).0/24", addresses: [:]))
        }

        @Test("registry detach keeps networks, DNS restarts")
        func registryDetachAndRestore() throws {
            let directory = NSTemporaryDirectory() + "swdt-live-" + TestSupport.hex(8)
            try FileSystem.createDirectory(directory)
            defer { try? FileSystem.removeTree(directory) }
            let bridge = "swdt" + TestSupport.hex(6)
            defer { TestSupport.removeBridge(bridge) }
            let prefix = "10.219.\(Int.random(in: 251...254))"
            let namespace = try NetworkNamespaceProcess()
            defer { namespace.stop() }
            let lookup: @Sendable (DNSQuestion) -> ResolverAnswer = { question in
                question.name == "peer"
                    ? .records([DNSAnswer.address("\(prefix).77")].compactMap { $0 }) : .nameError
            }

            let first = NetworkRegistry(
                directory: directory, enableIPTables: true, log: Logger(level: .warning))
            try first.restore()
            let record = try first.create(
                name: "live", subnet: "\(prefix).0/24", gateway: nil, ipRange: nil,
                bridgeName: bridge, labels: [:], id: TestSupport.hex(64), created: "now")
            let driver = try #require(first.lookUp("live")?.driver)
            let endpoint = try driver.connect(containerID: "d1", pid: namespace.pid)
            try first.startResolver(
                containerID: "d1", pid: namespace.pid, upstreams: [], lookup: lookup)
            let query = ["python3", "-c", dnsQueryScript, "peer"]
            #expect(try namespace.run(query).output == "\(prefix).77\n")

            first.detachForLiveRestore()
            #expect(!first.hasResolver(containerID: "d1"))
            #expect(try namespace.run(query).output == "")
            #expect(try NetlinkSocket().link(named: bridge) != nil)

            let second = NetworkRegistry(
                directory: directory, enableIPTables: true, log: Logger(level: .warning))
            try second.restore()
            defer { second.shutdown() }
            #expect(second.records == [record])
            let restored = try #require(second.lookUp("live")?.driver)
            let address = try #require(IPv4Address(endpoint.ipAddress))
            #expect(restored.allocator.allocations == [address: "d1"])
            try restored.reattach(endpoint)
            try second.startResolver(
                containerID: "d1", pid: namespace.pid, upstreams: [], lookup: lookup)
            #expect(try namespace.run(query).output == "\(prefix).77\n")
            #expect(try namespace.run(["ping", "-c", "1", "-W", "2", "\(prefix).1"]).status == 0)
            try restored.disconnect(endpoint)
            try second.remove(record.id)
            #expect(try NetlinkSocket().link(named: bridge) == nil)
        }
    }
}
