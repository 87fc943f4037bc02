import Foundation
import Testing

/// Published ports on user-defined networks, host port ranges and free ports, through the real
/// daemon. Traffic goes only from the host to its own loopback address, which the daemon's
/// proxy forwards to a container on the test's bridges.
@Suite(
    "network ports", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkPortTests {
    /// Creates and starts a container through the API with `bindings` for port 80/tcp (host
    /// port and host address), and returns the create status and body.
    static func runWithBindings(
        _ daemon: DaemonHarness, _ name: String, _ bindings: [(ip: String, port: String)],
        command: [String] = ["sleep", "300"]
    ) throws -> (Int, String) {
        let list = bindings.map { #"{"HostIp":"\#($0.ip)","HostPort":"\#($0.port)"}"# }
        let commandJSON = command.map { "\"\($0)\"" }.joined(separator: ",")
        let body =
            #"{"Image":"busybox","Cmd":[\#(commandJSON)],"HostConfig":{"PortBindings":"#
            + #"{"80/tcp":[\#(list.joined(separator: ","))]}}}"#
        let created = try NetworkConnectTests.post(daemon, "/containers/create?name=\(name)", body)
        guard created.0 == 201 else { return created }
        let started = try NetworkConnectTests.post(daemon, "/containers/\(name)/start", "")
        return started.0 == 204 ? created : started
    }

    @Test("internal network publishes no ports")
    func internalNetworkPorts() throws {
        let closed = try TestNetwork("closed-\(UInt32.random(in: 0...UInt32.max))")
        defer { closed.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try closed.create(daemon, ["--internal"])
            let hostPort = Int.random(in: 24000...24999)
            let run = try daemon.client(
                [
                    "run", "-d", "--name", "shut", "--network", closed.name, "-p",
                    "127.0.0.1:\(hostPort):80", "busybox",
                ] + NetworkTests.tcpServer(80))
            #expect(run.status == 0, "\(run.stderr)")

            let port = try daemon.client(["port", "shut"])
            #expect(port.status == 0, "\(port.stderr)")
            #expect(port.stdout.isEmpty, "\(port.stdout)")
            let ps = try daemon.client(["ps"])
            #expect(!ps.stdout.contains("\(hostPort)->"), "\(ps.stdout)")
            #expect(!(try closed.rules()).contains { $0.contains("DNAT") })
            let reply = try NetworkTests.exchange("tcp", "127.0.0.1", "\(hostPort)")
            #expect(reply.status != 0, "\(reply.stdout)")
            // The request stays in the container's configuration, as dockerd keeps it.
            let kept = try NetworkTests.inspectField(
                daemon, "shut", ["HostConfig", "PortBindings", "80/tcp"])
            #expect((kept as? [[String: String]])?.first?["HostPort"] == "\(hostPort)")

            #expect(try daemon.client(["rm", "-f", "shut"]).status == 0)
            #expect(try daemon.client(["network", "rm", closed.name]).status == 0)
        }
    }

    @Test("host port ranges and free ports")
    func hostPortRanges() throws {
        try DaemonHarness.withDaemon { daemon in
            let first = Int.random(in: 25000...25990)
            let taken = try daemon.client(
                [
                    "run", "-d", "--name", "taken", "-p", "127.0.0.1:\(first):80", "busybox",
                    "sleep", "300",
                ])
            #expect(taken.status == 0, "\(taken.stderr)")

            // A range takes its first free port.
            let ranged = try Self.runWithBindings(
                daemon, "ranged", [("127.0.0.1", "\(first)-\(first + 2)")],
                command: NetworkTests.tcpServer(80))
            #expect(ranged.0 == 201, "\(ranged.1)")
            let rangedPort = try daemon.client(["port", "ranged", "80"])
            #expect(rangedPort.stdout == "127.0.0.1:\(first + 1)\n", "\(rangedPort.stdout)")
            let reply = try NetworkTests.exchange("tcp", "127.0.0.1", "\(first + 1)")
            #expect(reply.stdout == "pong\n", "\(reply.stdout)")

            // A range with no free port fails the start.
            let full = try Self.runWithBindings(
                daemon, "full", [("127.0.0.1", "\(first)-\(first + 1)")])
            #expect(full.0 >= 400, "status \(full.0): \(full.1)")
            #expect(full.1.contains("port is already allocated"), "\(full.1)")

            // "0" and "" take a free ephemeral port.
            let free = try Self.runWithBindings(daemon, "free", [("127.0.0.1", "0"), ("", "")])
            #expect(free.0 == 201, "\(free.1)")
            let freeLines = try daemon.client(["port", "free", "80"]).stdout.split(separator: "\n")
            let freePorts = freeLines.compactMap { line in
                line.split(separator: ":").last.flatMap { Int($0) }
            }
            #expect(freePorts.count == 2, "\(freePorts)")
            #expect(!freePorts.contains(0))

            // The client's container port ranges map onto host port ranges one to one.
            let pair = first + 5
            let both = try daemon.client(
                [
                    "run", "-d", "--name", "both", "-p", "127.0.0.1:\(pair)-\(pair + 1):80-81",
                    "busybox", "sleep", "300",
                ])
            #expect(both.status == 0, "\(both.stderr)")
            let bothPorts = try daemon.client(["port", "both"])
            #expect(
                bothPorts.stdout
                    == "80/tcp -> 127.0.0.1:\(pair)\n81/tcp -> 127.0.0.1:\(pair + 1)\n",
                "\(bothPorts.stdout)")

            for bad in ["abc", "80000", "10-5", "-5", "1-2-3"] {
                let rejected = try Self.runWithBindings(daemon, "bad", [("", bad)])
                #expect(rejected.0 == 400, "\(bad): \(rejected)")
                #expect(
                    rejected.1.contains("invalid port specification: \\\"\(bad)\\\""),
                    "\(bad): \(rejected.1)")
            }
            let removed = try daemon.client(["rm", "-f", "taken", "ranged", "full", "free", "both"])
            #expect(removed.status == 0, "\(removed.stderr)")
        }
    }

    @Test("reconnect restores published ports")
    func reconnectKeepsPorts() throws {
        let network = try TestNetwork("ports-\(UInt32.random(in: 0...UInt32.max))")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try network.create(daemon)
            let hostPort = Int.random(in: 26000...26999)
            let run = try daemon.client(
                [
                    "run", "-d", "--name", "moving", "--network", network.name, "-p",
                    "127.0.0.1:\(hostPort):80", "busybox",
                ] + NetworkTests.tcpServer(80))
            #expect(run.status == 0, "\(run.stderr)")
            var reply = try NetworkTests.exchange("tcp", "127.0.0.1", "\(hostPort)")
            #expect(reply.stdout == "pong\n", "\(reply.stdout)")

            let disconnected = try daemon.client(["network", "disconnect", network.name, "moving"])
            #expect(disconnected.status == 0, "\(disconnected.stderr)")
            #expect(try daemon.client(["port", "moving"]).stdout.isEmpty)
            reply = try NetworkTests.exchange("tcp", "127.0.0.1", "\(hostPort)")
            #expect(reply.status != 0, "\(reply.stdout)")

            let connected = try daemon.client(["network", "connect", network.name, "moving"])
            #expect(connected.status == 0, "\(connected.stderr)")
            let port = try daemon.client(["port", "moving"])
            #expect(port.stdout == "80/tcp -> 127.0.0.1:\(hostPort)\n", "\(port.stdout)")
            reply = try NetworkTests.exchange("tcp", "127.0.0.1", "\(hostPort)")
            #expect(reply.stdout == "pong\n", "\(reply.stdout)")
            let dnat = try network.rules().filter { $0.contains("DNAT") }
            #expect(dnat.count == 1, "\(dnat)")

            #expect(try daemon.client(["rm", "-f", "moving"]).status == 0)
            #expect(try network.rules().filter { $0.contains("DNAT") }.isEmpty)
            #expect(try daemon.client(["network", "rm", network.name]).status == 0)
        }
    }

    @Test("client sends host port ranges")
    func clientPortRanges() throws {
        try DaemonHarness.withDaemon { daemon in
            let first = Int.random(in: 27000...27990)
            let taken = try daemon.client(
                ["run", "-d", "--name", "holder", "-p", "127.0.0.1:\(first):80", "busybox"]
                    + ["sleep", "300"])
            #expect(taken.status == 0, "\(taken.stderr)")

            // One container port and a host range: the client sends the range as it is, and
            // the daemon takes its first free port.
            let ranged = try daemon.client(
                ["run", "-d", "--name", "ranged", "-p", "127.0.0.1:\(first)-\(first + 2):80"]
                    + ["busybox"] + NetworkTests.tcpServer(80))
            #expect(ranged.status == 0, "\(ranged.stderr)")
            let sent = try NetworkTests.inspectField(
                daemon, "ranged", ["HostConfig", "PortBindings", "80/tcp"])
            #expect(
                (sent as? [[String: String]])?.first?["HostPort"] == "\(first)-\(first + 2)",
                "\(String(describing: sent))")
            let port = try daemon.client(["port", "ranged", "80"])
            #expect(port.stdout == "127.0.0.1:\(first + 1)\n", "\(port.stdout)")
            let reply = try NetworkTests.exchange("tcp", "127.0.0.1", "\(first + 1)")
            #expect(reply.stdout == "pong\n", "\(reply.stdout)")

            // Ranges of different lengths are a one-line error, and nothing is created.
            let mismatched = try daemon.client(
                ["create", "--name", "mismatched", "-p", "\(first + 5)-\(first + 6):80-82"]
                    + ["busybox"])
            #expect(mismatched.status != 0)
            #expect(
                mismatched.stderr.contains(
                    "invalid ranges specified for container and host Ports: 80-82 and "
                        + "\(first + 5)-\(first + 6)"),
                "\(mismatched.stderr)")
            #expect(
                mismatched.stderr.split(separator: "\n").count == 1, "\(mismatched.stderr)")
            let listed = try daemon.client(["ps", "-a", "--format", "{{.Names}}"])
            #expect(!listed.stdout.contains("mismatched"), "\(listed.stdout)")

            let removed = try daemon.client(["rm", "-f", "holder", "ranged"])
            #expect(removed.status == 0, "\(removed.stderr)")
        }
    }

    @Test("port conflict at start fails")
    func portConflictAtStart() throws {
        try DaemonHarness.withDaemon { daemon in
            let hostPort = Int.random(in: 28000...28999)
            let first = try daemon.client(
                ["run", "-d", "--name", "first", "-p", "127.0.0.1:\(hostPort):80", "busybox"]
                    + ["sleep", "300"])
            #expect(first.status == 0, "\(first.stderr)")
            let rulesBefore = try NetworkTests.rules(daemon)

            let second = try Self.runWithBindings(
                daemon, "second", [("127.0.0.1", "\(hostPort)")])
            let id = try daemon.client(["inspect", "--format", "{{.Id}}", "second"]).stdout
            #expect(!id.isEmpty)
            // dockerd's message; the endpoint ID is the host end of the container's veth.
            #expect(
                second.1.contains(
                    "driver failed programming external connectivity on endpoint second ("),
                "\(second.1)")
            #expect(
                second.1.contains(
                    "): Bind for 127.0.0.1:\(hostPort) failed: port is already allocated"),
                "\(second.1)")
            #expect(second.0 == 500, "\(second.1)")
            // The failed start leaves no rule, and the container is not running.
            #expect(try NetworkTests.rules(daemon) == rulesBefore)
            let running = try NetworkTests.inspectField(daemon, "second", ["State", "Running"])
            #expect(running as? Bool == false)

            let client = try daemon.client(
                ["run", "-d", "--name", "third", "-p", "127.0.0.1:\(hostPort):80", "busybox"]
                    + ["sleep", "300"])
            #expect(client.status != 0)
            #expect(
                client.stderr.contains("driver failed programming external connectivity"),
                "\(client.stderr)")

            let removed = try daemon.client(["rm", "-f", "first", "second", "third"])
            #expect(removed.status == 0, "\(removed.stderr)")
        }
    }

    @Test("published port reached from another network")
    func publishedPortAcrossNetworks() throws {
        let serving = try TestNetwork("serving-\(UInt32.random(in: 0...UInt32.max))")
        let calling = try TestNetwork("calling-\(UInt32.random(in: 0...UInt32.max))")
        defer {
            serving.cleanUp()
            calling.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try serving.create(daemon)
            try calling.create(daemon)
            #expect(try calling.rules().contains("-A SWIFTD -i \(calling.bridge) -j RETURN"))
            let hostPort = Int.random(in: 26000...26999)
            let run = try daemon.client(
                [
                    "run", "-d", "--name", "server", "--network", serving.name, "-p",
                    "\(hostPort):80", "busybox",
                ] + NetworkTests.tcpServer(80))
            #expect(run.status == 0, "\(run.stderr)")

            // The calling network's gateway is one of the host's addresses.
            var reply = CommandResult(status: -1, stdout: "", stderr: "")
            for _ in 0..<5 where !reply.stdout.contains("pong") {
                reply = try daemon.client([
                    "run", "--rm", "--network", calling.name, "busybox", "nc", "-w", "2",
                    "\(calling.prefix).1", "\(hostPort)",
                ])
            }
            #expect(reply.stdout.contains("pong"), "\(reply.stdout) \(reply.stderr)")

            #expect(try daemon.client(["rm", "-f", "server"]).status == 0)
            #expect(try daemon.client(["network", "rm", calling.name]).status == 0)
            let left = try calling.rules()
            #expect(left.isEmpty, "\(left)")
            #expect(try daemon.client(["network", "rm", serving.name]).status == 0)
        }
    }
}
