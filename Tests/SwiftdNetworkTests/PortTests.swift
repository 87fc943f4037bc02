import Foundation
import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

/// A small echo server and client (python3), run inside test namespaces and on the host.
enum Echo {
    static let server = """
        import socket, sys
        proto, port = sys.argv[1], int(sys.argv[2])
        if proto == "tcp":
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port)); s.listen(16)
            while True:
                c, a = s.accept(); d = c.recv(100)
                c.sendall(b"echo:" + d + b" from:" + a[0].encode()); c.close()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
            while True:
                d, a = s.recvfrom(100); s.sendto(b"echo:" + d + b" from:" + a[0].encode(), a)
        """
    static let client = """
        import socket, sys
        proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind); s.settimeout(float(sys.argv[4]))
        s.connect((host, port)); s.send(b"ping"); print(s.recv(100).decode())
        """

    /// Starts the server in `namespace`; the caller stops the returned process.
    static func start(_ proto: String, port: Int, in namespace: NetworkNamespaceProcess) throws
        -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = [
            "-t", "\(namespace.pid)", "-n", "python3", "-c", server, proto, "\(port)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Sends "ping" and returns the reply, or "" on failure; `namespace` nil for the host.
    static func ask(
        _ proto: String, _ host: String, _ port: Int,
        from namespace: NetworkNamespaceProcess? = nil,
        timeout: Double = 2
    ) throws -> String {
        let command = ["python3", "-c", client, proto, host, "\(port)", "\(timeout)"]
        let result = try namespace?.run(command) ?? TestSupport.run(command)
        return result.status == 0
            ? result.output.trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    /// Asks until a reply comes (the server may still be starting), for up to 5 s.
    static func askUntilAnswered(
        _ proto: String, _ host: String, _ port: Int, from namespace: NetworkNamespaceProcess? = nil
    ) throws -> String {
        for _ in 0..<25 {
            let reply = try ask(proto, host, port, from: namespace, timeout: 0.5)
            if !reply.isEmpty { return reply }
            usleep(200_000)
        }
        return ""
    }
}

func stopProcess(_ process: Process) {
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Returns the lines of `iptables-legacy-save` that mention `bridge` or addresses of `prefix`, without
/// counters, to compare before and after. Other lines are left out: daemons of other tests on
/// the host add and delete their rules at the same time.
func normalizedSave(_ bridge: String, _ prefix: String) throws -> [String] {
    try TestSupport.run(["iptables-legacy-save"]).output.split(separator: "\n")
        .filter { !$0.hasPrefix("#") && ($0.contains(bridge) || $0.contains(prefix + ".")) }
        .map { line in
            line.replacingOccurrences(
                of: #"\[\d+:\d+\]"#, with: "[-]", options: .regularExpression)
        }
}

extension PrivilegedTests {
    @Suite("Ports, links and addresses")
    struct PortTests {
        @Test("publishes TCP and UDP ports through DNAT and the proxy, and removes them")
        func publishPorts() throws {
            let name = "swdt" + TestSupport.hex(6)
            let prefix = "10.214.\(Int.random(in: 0...199))"
            let before = try normalizedSave(name, prefix)
            defer { TestSupport.removeBridge(name) }
            let driver = try BridgeDriver(
                BridgeConfiguration(bridgeName: name, bridgeIP: "\(prefix).1/24"))
            defer { _ = try? driver.shutdown() }
            let namespace = try NetworkNamespaceProcess()
            defer { namespace.stop() }
            let endpoint = try driver.connect(containerID: "p1", pid: namespace.pid)
            let tcpServer = try Echo.start("tcp", port: 80, in: namespace)
            defer { stopProcess(tcpServer) }
            let udpServer = try Echo.start("udp", port: 53, in: namespace)
            defer { stopProcess(udpServer) }
            #expect(try Echo.askUntilAnswered("tcp", endpoint.ipAddress, 80).hasPrefix("echo:"))

            let tcpPort = Int.random(in: 20000...29999)
            let udpPort = tcpPort + 1
            let clock = ContinuousClock()
            let start = clock.now
            let bindings = try driver.publish(
                endpoint,
                [
                    PortBinding(hostPort: tcpPort, containerPort: 80),
                    PortBinding(hostPort: udpPort, containerPort: 53, proto: "udp"),
                    PortBinding(hostIP: "127.0.0.1", hostPort: 0, containerPort: 80),
                ])
            print("publish of 3 ports took \(clock.now - start)")
            defer { _ = try? driver.unpublish(endpoint, bindings) }
            #expect(
                bindings[0] == PortBinding(hostIP: "0.0.0.0", hostPort: tcpPort, containerPort: 80))
            #expect(bindings[1].proto == "udp")
            #expect(bindings[1].hostIP == "0.0.0.0")
            let ephemeral = try BridgeDriver.ephemeralPortRange()
            #expect(ephemeral.contains(bindings[2].hostPort))
            #expect(bindings[2].hostIP == "127.0.0.1")

            let cip = endpoint.ipAddress
            let rules = try TestSupport.savedRules(mentioning: name)
            for line in [
                "-A SWIFTD ! -i \(name) -p tcp -m tcp --dport \(tcpPort) -j DNAT "
                    + "--to-destination \(cip):80",
                "-A SWIFTD ! -i \(name) -p udp -m udp --dport \(udpPort) -j DNAT "
                    + "--to-destination \(cip):53",
                "-A SWIFTD -d 127.0.0.1/32 ! -i \(name) -p tcp -m tcp --dport "
                    + "\(bindings[2].hostPort) -j DNAT --to-destination \(cip):80",
                "-A SWIFTD-PORTS -d \(cip)/32 ! -i \(name) -o \(name) -p tcp -m tcp --dport 80 "
                    + "-j ACCEPT",
                "-A SWIFTD-POSTROUTING -s \(cip)/32 -d \(cip)/32 -o \(name) -p udp -m udp "
                    + "--dport 53 -j MASQUERADE",
            ] {
                #expect(rules.contains(line), "missing: \(line)\nin: \(rules)")
            }
            // Two bindings to port 80 share one ACCEPT and one hairpin rule.
            #expect(rules.filter { $0.contains("--dport 80 -j ACCEPT") }.count == 1)
            let save = try TestSupport.run(["iptables-legacy-save"]).output
            #expect(save.contains("-A PREROUTING -m addrtype --dst-type LOCAL -j SWIFTD"))
            #expect(
                save.contains("-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j SWIFTD"))

            // Through the bridge address (DNAT in OUTPUT) and 127.0.0.1 (the proxy).
            let viaBridge = try Echo.ask("tcp", driver.gateway, tcpPort)
            #expect(viaBridge == "echo:ping from:\(driver.gateway)")
            let viaLoopback = try Echo.ask("tcp", "127.0.0.1", tcpPort)
            #expect(viaLoopback == "echo:ping from:\(driver.gateway)")
            #expect(try Echo.ask("tcp", "127.0.0.1", bindings[2].hostPort).hasPrefix("echo:ping"))
            #expect(try Echo.ask("udp", driver.gateway, udpPort).hasPrefix("echo:ping"))
            #expect(try Echo.ask("udp", "127.0.0.1", udpPort).hasPrefix("echo:ping"))

            // The same port again, and a port another socket has bound, are conflicts; no rule
            // is added for them.
            let rulesBefore = try normalizedSave(name, prefix)
            let again = #expect(throws: SwiftdError.self) {
                try driver.publish(endpoint, [PortBinding(hostPort: tcpPort, containerPort: 81)])
            }
            #expect(again?.kind == .conflict)
            #expect(
                again?.message == "Bind for 0.0.0.0:\(tcpPort) failed: port is already allocated")
            let holder = try PortProxy(
                PortBinding(
                    hostIP: "0.0.0.0", hostPort: tcpPort + 2, containerPort: 1, proto: "tcp"),
                target: (IPv4Address(0x7F00_0001), 9))
            defer { holder.stop() }
            let taken = #expect(throws: SwiftdError.self) {
                try driver.publish(
                    endpoint,
                    [
                        PortBinding(hostPort: tcpPort + 3, containerPort: 82),
                        PortBinding(hostPort: tcpPort + 2, containerPort: 83),
                    ])
            }
            #expect(taken?.kind == .conflict)
            // A port that another program has bound gets the words of dockerd's userland proxy.
            #expect(
                taken?.message
                    == "Error starting userland proxy: listen tcp4 0.0.0.0:\(tcpPort + 2): bind: "
                    + "address already in use")
            #expect(try normalizedSave(name, prefix) == rulesBefore)
            // The first binding of the failed call was undone: its port is free again.
            let reuse = try PortProxy(
                PortBinding(
                    hostIP: "0.0.0.0", hostPort: tcpPort + 3, containerPort: 1, proto: "tcp"),
                target: (IPv4Address(0x7F00_0001), 9))
            reuse.stop()

            try driver.unpublish(endpoint, bindings)
            #expect(
                try TestSupport.savedRules(mentioning: "DNAT").filter { $0.contains(name) }.isEmpty)
            #expect(try Echo.ask("tcp", "127.0.0.1", tcpPort, timeout: 0.5) == "")

            // Published again, then removed by disconnect and shutdown.
            _ = try driver.publish(endpoint, [PortBinding(hostPort: tcpPort, containerPort: 80)])
            try driver.disconnect(endpoint)
            #expect(
                try TestSupport.savedRules(mentioning: "DNAT").filter { $0.contains(name) }.isEmpty)
            try driver.shutdown()
            holder.stop()
            #expect(try normalizedSave(name, prefix) == before)
        }

        @Test("drops traffic between containers with icc off, and a link lets it through")
        func interContainer() throws {
            let name = "swdt" + TestSupport.hex(6)
            let prefix = "10.215.\(Int.random(in: 0...199))"
            let before = try normalizedSave(name, prefix)
            defer { TestSupport.removeBridge(name) }
            let driver = try BridgeDriver(
                BridgeConfiguration(
                    bridgeName: name, bridgeIP: "\(prefix).1/24",
                    interContainerCommunication: false))
            defer { _ = try? driver.shutdown() }
            let first = try NetworkNamespaceProcess()
            defer { first.stop() }
            let second = try NetworkNamespaceProcess()
            defer { second.stop() }
            let parent = try driver.connect(containerID: "parent", pid: first.pid)
            let child = try driver.connect(containerID: "child", pid: second.pid)
            let server = try Echo.start("tcp", port: 80, in: second)
            defer { stopProcess(server) }
            #expect(try Echo.askUntilAnswered("tcp", child.ipAddress, 80).hasPrefix("echo:"))
            #expect(
                try TestSupport.savedRules(mentioning: name).contains(
                    "-A SWIFTD-FORWARD -i \(name) -o \(name) -j DROP"))

            #expect(try Echo.ask("tcp", child.ipAddress, 80, from: first, timeout: 1) == "")
            try driver.link(from: parent, to: child, ports: [ExposedPort(port: 80)], enable: true)
            try driver.link(from: parent, to: child, ports: [ExposedPort(port: 80)], enable: true)
            let rules = try TestSupport.savedRules(mentioning: name)
            let forward =
                "-A SWIFTD-FORWARD -s \(parent.ipAddress)/32 -d \(child.ipAddress)/32 -i \(name) "
                + "-o \(name) -p tcp -m tcp --dport 80 -j ACCEPT"
            let back =
                "-A SWIFTD-FORWARD -s \(child.ipAddress)/32 -d \(parent.ipAddress)/32 -i \(name) "
                + "-o \(name) -p tcp -m tcp --sport 80 -j ACCEPT"
            #expect(rules.filter { $0 == forward }.count == 1)
            #expect(rules.filter { $0 == back }.count == 1)
            #expect(
                try Echo.ask("tcp", child.ipAddress, 80, from: first)
                    == "echo:ping from:\(parent.ipAddress)")
            try driver.link(from: parent, to: child, ports: [ExposedPort(port: 80)], enable: false)
            #expect(try Echo.ask("tcp", child.ipAddress, 80, from: first, timeout: 1) == "")

            try driver.link(from: parent, to: child, ports: [ExposedPort(port: 80)], enable: true)
            try driver.disconnect(parent)
            #expect(try !TestSupport.savedRules(mentioning: name).contains(forward))
            try driver.disconnect(child)
            try driver.shutdown()
            #expect(try normalizedSave(name, prefix) == before)
        }

        @Test("keeps allocations across drivers, inside --fixed-cidr, with --mtu on the veth")
        func addressPersistence() throws {
            let name = "swdt" + TestSupport.hex(6)
            let prefix = "10.216.\(Int.random(in: 0...199))"
            let directory = NSTemporaryDirectory() + "swdt-ipam-" + TestSupport.hex(8)
            try FileSystem.createDirectory(directory)
            defer { try? FileSystem.removeTree(directory) }
            defer { TestSupport.removeBridge(name) }
            let configuration = BridgeConfiguration(
                bridgeName: name, bridgeIP: "\(prefix).1/24", enableIPTables: false, mtu: 1400,
                fixedCIDR: "\(prefix).128/25", stateDirectory: directory)
            let first = try NetworkNamespaceProcess()
            defer { first.stop() }
            let second = try NetworkNamespaceProcess()
            defer { second.stop() }

            var driver = try BridgeDriver(configuration)
            defer { _ = try? driver.shutdown() }
            let one = try driver.connect(containerID: "c1", pid: first.pid)
            #expect(one.ipAddress == "\(prefix).129")
            #expect(try first.run(["ip", "link", "show", "eth0"]).output.contains("mtu 1400"))
            let file = directory + "/\(name)-addresses.json"
            let saved = try JSONDecoder().decode(
                AllocationState.self, from: Data(try FileSystem.read(file)))
            #expect(
                saved == AllocationState(subnet: "\(prefix).0/24", addresses: [one.ipAddress: "c1"])
            )

            // A new driver (a daemon restart) reloads the allocation.
            driver = try BridgeDriver(configuration)
            #expect(driver.allocator.allocations == [IPv4Address(one.ipAddress)!: "c1"])
            try driver.reserve(one)
            var other = one
            other.containerID = "c9"
            #expect(throws: SwiftdError.self) { try driver.reserve(other) }
            let two = try driver.connect(containerID: "c2", pid: second.pid)
            #expect(two.ipAddress == "\(prefix).130")
            try driver.disconnect(two)
            #expect(driver.releaseAddresses(notHeldBy: ["c2"]) == 1)
            let after = try JSONDecoder().decode(
                AllocationState.self, from: Data(try FileSystem.read(file)))
            #expect(after.addresses.isEmpty)

            let outside = #expect(throws: SwiftdError.self) {
                var bad = configuration
                bad.fixedCIDR = "10.217.0.0/24"
                _ = try BridgeDriver(bad)
            }
            #expect(outside?.kind == .invalidArgument)
            try driver.shutdown()
        }
    }
}
