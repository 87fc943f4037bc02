import Foundation
import Testing

/// Published ports, links, network modes and container network files through the real daemon.
///
/// Traffic goes only from the host to its own loopback and bridge addresses, which the daemon's
/// proxy or DNAT rules forward to a container on the test's bridge, and between containers
/// on that bridge.
@Suite(
    "network", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkTests {
    /// A Python client: `tcp HOST PORT` prints the first line the server sends; `udp HOST PORT`
    /// sends "ping" and prints the reply. Exits 1 on a timeout or refusal.
    static let clientScript = """
        import socket, sys
        kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        try:
            if kind == "tcp":
                s = socket.create_connection((host, port), timeout=5)
                data = b""
                while not data.endswith(b"\\n"):
                    chunk = s.recv(100)
                    if not chunk: break
                    data += chunk
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(5)
                s.sendto(b"ping", (host, port))
                data, _ = s.recvfrom(100)
            sys.stdout.write(data.decode())
        except OSError as error:
            sys.stdout.write("failed: %s" % error)
            sys.exit(1)
        """

    /// A UDP server that replies to one datagram with "pong: " and its payload.
    static let udpServerScript = """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 5353))
        s.settimeout(10)
        data, peer = s.recvfrom(100)
        s.sendto(b"pong: " + data, peer)
        """

    static func exchange(_ kind: String, _ host: String, _ port: String) throws -> CommandResult {
        try DaemonHarness.capture("/usr/bin/python3", ["-c", clientScript, kind, host, port])
    }

    /// Returns a busybox command that sends "pong" on every TCP connection to `port`.
    static func tcpServer(_ port: Int) -> [String] {
        ["sh", "-c", "while true; do echo pong | nc -l -p \(port); done"]
    }

    /// Returns this daemon's rules: the lines of iptables-legacy-save that name its bridge or
    /// its subnet.
    static func rules(_ daemon: DaemonHarness) throws -> [String] {
        let text = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        return text.split(separator: "\n").map(String.init).filter {
            $0.contains(daemon.bridge) || $0.contains(daemon.subnetPrefix + ".")
        }.sorted()
    }

    /// Returns the links attached to the daemon's bridge.
    static func bridgePorts(_ daemon: DaemonHarness) throws -> String {
        try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", "master", daemon.bridge])
            .stdout
    }

    static func inspectField(_ daemon: DaemonHarness, _ name: String, _ path: [String]) throws
        -> Any?
    {
        let result = try daemon.client(["inspect", name])
        let documents = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Any]
        var value: Any? = documents?.first
        for key in path { value = (value as? [String: Any])?[key] }
        return value
    }

    @Test("published TCP and UDP ports answer on 127.0.0.1 and the bridge address")
    func publishedPorts() throws {
        try DaemonHarness.withDaemon { daemon in
            let tcpPort = Int.random(in: 20000...23999)
            let udpPort = tcpPort + 10000
            let baseRules = try Self.rules(daemon)
            let server = try daemon.client(
                [
                    "run", "-d", "--name", "web", "-p", "\(tcpPort):8080",
                    "-p", "127.0.0.1:\(udpPort):5353/udp", "--expose", "9000", "busybox",
                ] + Self.tcpServer(8080))
            #expect(server.status == 0, "\(server.stderr)\n\(daemon.daemonLog)")

            for host in ["127.0.0.1", daemon.gateway] {
                let reply = try Self.exchange("tcp", host, "\(tcpPort)")
                #expect(reply.stdout == "pong\n", "through \(host): \(reply.stdout)")
            }

            let pid = try #require(Self.inspectField(daemon, "web", ["State", "Pid"]) as? Int)
            let udpServer = Process()
            udpServer.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            udpServer.arguments = [
                "-t", "\(pid)", "-n", "/usr/bin/python3", "-c", Self.udpServerScript,
            ]
            try udpServer.run()
            defer {
                if udpServer.isRunning { udpServer.terminate() }
                udpServer.waitUntilExit()
            }
            Thread.sleep(forTimeInterval: 0.5)
            let udp = try Self.exchange("udp", "127.0.0.1", "\(udpPort)")
            #expect(udp.stdout == "pong: ping", "\(udp.stdout)")

            let port = try daemon.client(["port", "web"])
            #expect(
                port.stdout == "5353/udp -> 127.0.0.1:\(udpPort)\n8080/tcp -> 0.0.0.0:\(tcpPort)\n")
            let one = try daemon.client(["port", "web", "8080"])
            #expect(one.stdout == "0.0.0.0:\(tcpPort)\n")
            let ps = try daemon.client(["ps"])
            #expect(ps.stdout.contains("0.0.0.0:\(tcpPort)->8080/tcp"), "\(ps.stdout)")
            #expect(ps.stdout.contains("9000/tcp"), "\(ps.stdout)")
            let ports = try Self.inspectField(daemon, "web", ["NetworkSettings", "Ports"])
            let map = try #require(ports as? [String: Any])
            #expect(map["9000/tcp"] is NSNull)
            let bindings = map["8080/tcp"] as? [[String: String]]
            #expect(bindings == [["HostIp": "0.0.0.0", "HostPort": "\(tcpPort)"]])

            let removed = try daemon.client(["rm", "-f", "web"])
            #expect(removed.status == 0)
            #expect(try Self.rules(daemon) == baseRules)
            #expect(try DaemonHarness.eventually(5) { try Self.bridgePorts(daemon).isEmpty })
        }
    }

    @Test("a host port in use fails the start and leaves nothing behind")
    func portConflict() throws {
        try DaemonHarness.withDaemon { daemon in
            let hostPort = Int.random(in: 30000...32499)
            let first = try daemon.client(
                ["run", "-d", "--name", "first", "-p", "\(hostPort):80", "busybox", "sleep", "60"])
            #expect(first.status == 0, "\(first.stderr)")
            let rulesBefore = try Self.rules(daemon)
            let portsBefore = try Self.bridgePorts(daemon)

            let second = try daemon.client(
                ["run", "-d", "--name", "second", "-p", "\(hostPort):80", "busybox", "sleep", "60"])
            #expect(second.status != 0)
            #expect(second.stderr.contains("port is already allocated"), "\(second.stderr)")
            let running = try Self.inspectField(daemon, "second", ["State", "Running"]) as? Bool
            #expect(running == false)
            #expect(try Self.rules(daemon) == rulesBefore)
            #expect(try Self.bridgePorts(daemon) == portsBefore)

            // -P takes a free port of the ephemeral range for each exposed port.
            let all = try daemon.client(
                ["run", "-d", "--name", "all", "-P", "--expose", "7000", "busybox", "sleep", "60"])
            #expect(all.status == 0, "\(all.stderr)")
            let published = try daemon.client(["port", "all", "7000/tcp"])
            let hostSide = published.stdout.split(separator: ":").last.map {
                Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            #expect((hostSide ?? 0) >= 1024, "\(published.stdout)")
            // The CLI sends no bindings with -P alone; inspect shows `{}` as with dockerd.
            let bindings = try daemon.client(["inspect", "-f", "{{json .HostConfig.PortBindings}}", "all"])
            #expect(bindings.stdout == "{}\n", "\(bindings.stdout)")

            #expect(try daemon.client(["rm", "-f", "first", "second", "all"]).status == 0)
            #expect(try DaemonHarness.eventually(5) { try Self.bridgePorts(daemon).isEmpty })
        }
    }

    @Test("--icc=false isolates containers except through a link")
    func interContainerCommunication() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--icc=false"])
        try daemon.importBusybox()
        let server = try daemon.client(
            ["run", "-d", "--name", "db", "-e", "SECRET=42", "--expose", "8080", "busybox"]
                + Self.tcpServer(8080))
        #expect(server.status == 0, "\(server.stderr)")
        let address = try #require(
            Self.inspectField(daemon, "db", ["NetworkSettings", "IPAddress"]) as? String)

        let blocked = try daemon.client(
            ["run", "--rm", "busybox", "sh", "-c", "nc -w 2 \(address) 8080 </dev/null"])
        #expect(!blocked.stdout.contains("pong"), "without a link: \(blocked.stdout)")

        let linked = try daemon.client([
            "run", "--rm", "--link", "db:store", "busybox", "sh", "-c",
            "env | sort; cat /etc/hosts; nc -w 2 store 8080 </dev/null",
        ])
        #expect(linked.stdout.contains("STORE_PORT_8080_TCP_ADDR=\(address)\n"), "\(linked.stdout)")
        #expect(linked.stdout.contains("STORE_PORT=tcp://\(address):8080\n"))
        #expect(linked.stdout.contains("STORE_ENV_SECRET=42\n"))
        #expect(linked.stdout.contains("STORE_NAME=/"))
        // Docker 1.2 wrote the alias alone on the link's line.
        #expect(linked.stdout.contains("\(address)\tstore\n"), "\(linked.stdout)")
        #expect(linked.stdout.hasSuffix("pong\n"), "with a link: \(linked.stdout)\(linked.stderr)")

        let missing = try daemon.client(["run", "--rm", "--link", "nothere:x", "busybox", "true"])
        #expect(missing.status != 0)
        #expect(try daemon.client(["rm", "-f", "db"]).status == 0)
        #expect(try DaemonHarness.eventually(5) { try Self.bridgePorts(daemon).isEmpty })
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("resolv.conf, hosts and hostname are written per container")
    func containerFiles() throws {
        try DaemonHarness.withDaemon { daemon in
            let custom = try daemon.client([
                "run", "--name", "files", "-h", "box", "--dns", "10.9.8.7", "--dns-search",
                "example.test", "--dns-option", "ndots:2", "--add-host", "db.example.test:10.1.2.3",
                "busybox", "sh", "-c",
                "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; "
                    + "echo ---; ip -4 -o addr show eth0",
            ])
            #expect(custom.status == 0, "\(custom.stderr)")
            let parts = custom.stdout.components(separatedBy: "---\n")
            try #require(parts.count == 4, "\(custom.stdout)")
            #expect(parts[0].contains("nameserver 10.9.8.7\n"))
            #expect(parts[0].contains("search example.test\n"))
            #expect(parts[0].contains("options ndots:2\n"))
            #expect(!parts[0].contains("nameserver 127."))
            #expect(parts[1].hasPrefix("127.0.0.1\tlocalhost\n"))
            #expect(parts[1].contains("10.1.2.3\tdb.example.test\n"))
            let address = try #require(
                Self.inspectField(daemon, "files", ["NetworkSettings", "IPAddress"]) as? String)
            #expect(address.isEmpty, "an exited container keeps no address")
            #expect(parts[1].contains("\(daemon.subnetPrefix)."), "\(parts[1])")
            #expect(parts[1].contains("\tbox\n"))
            #expect(parts[2] == "box\n")
            let hostsPath = try #require(
                Self.inspectField(daemon, "files", ["HostsPath"]) as? String)
            #expect(hostsPath.hasPrefix(daemon.root))

            // Without --dns the host's resolvers are copied, loopback ones left out.
            let host = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
            let plain = try daemon.client(["run", "--rm", "busybox", "cat", "/etc/resolv.conf"])
            for line in host.split(separator: "\n") where line.hasPrefix("nameserver ") {
                #expect(plain.stdout.contains(line) == !line.hasPrefix("nameserver 127."))
            }
            // A host name with a dot gets its short name too, as dockerd writes it.
            let dotted = try daemon.client(
                ["run", "--rm", "-h", "web.internal", "busybox", "cat", "/etc/hosts"])
            #expect(dotted.stdout.contains("\tweb.internal web\n"), "\(dotted.stdout)")
            #expect(try daemon.client(["rm", "files"]).status == 0)
        }
    }

    @Test("--network none, host and container:NAME")
    func networkModes() throws {
        try DaemonHarness.withDaemon { daemon in
            let none = try daemon.client(
                ["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"])
            #expect(none.stdout == "lo\n", "\(none.stdout)\(none.stderr)")
            let host = try daemon.client(
                ["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"])
            #expect(host.stdout.contains("\(daemon.bridge)\n"), "\(host.stdout)\(host.stderr)")
            // Published ports are discarded on the host's network, as dockerd does.
            let discarded = try daemon.client(
                ["run", "--rm", "--network", "host", "-p", "80:80", "busybox", "true"])
            #expect(discarded.status == 0, "\(discarded.stderr)")

            let owner = try daemon.client(
                ["run", "-d", "--name", "owner", "busybox"] + Self.tcpServer(7070))
            #expect(owner.status == 0, "\(owner.stderr)")
            let address = try #require(
                Self.inspectField(daemon, "owner", ["NetworkSettings", "IPAddress"]) as? String)
            let joined = try daemon.client([
                "run", "--rm", "--network", "container:owner", "busybox", "sh", "-c",
                "ip -4 -o addr show eth0; nc -w 2 127.0.0.1 7070 </dev/null",
            ])
            #expect(joined.stdout.contains("inet \(address)/"), "\(joined.stdout)\(joined.stderr)")
            #expect(joined.stdout.hasSuffix("pong\n"), "\(joined.stdout)")
            let stopped = try daemon.client(["stop", "-t", "1", "owner"])
            #expect(stopped.status == 0)
            let refused = try daemon.client(
                ["run", "--rm", "--network", "container:owner", "busybox", "true"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("not running"), "\(refused.stderr)")
            #expect(try daemon.client(["rm", "owner"]).status == 0)
            #expect(try DaemonHarness.eventually(5) { try Self.bridgePorts(daemon).isEmpty })
        }
    }

    @Test("daemon flags --fixed-cidr, --mtu, --ip and --iptables=false")
    func daemonFlags() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: [
            "--fixed-cidr", "\(daemon.subnetPrefix).128/25", "--mtu", "1400", "--ip", "127.0.0.1",
            "--iptables=false",
        ])
        try daemon.importBusybox()
        #expect(try Self.rules(daemon).isEmpty, "--iptables=false adds no rule")
        #expect(!daemon.daemonLog.contains("not applied"), "\(daemon.daemonLog)")

        let hostPort = Int.random(in: 24000...26999)
        let run = try daemon.client(
            [
                "run", "-d", "--name", "flags", "-p", "\(hostPort):8080", "busybox",
            ] + Self.tcpServer(8080))
        #expect(run.status == 0, "\(run.stderr)")
        let address = try #require(
            Self.inspectField(daemon, "flags", ["NetworkSettings", "IPAddress"]) as? String)
        let lastOctet = Int(address.split(separator: ".").last ?? "") ?? 0
        #expect(lastOctet >= 128, "\(address) is inside --fixed-cidr")
        let mtu = try daemon.client(["exec", "flags", "cat", "/sys/class/net/eth0/mtu"])
        #expect(mtu.stdout == "1400\n", "\(mtu.stdout)\(mtu.stderr)")
        let port = try daemon.client(["port", "flags", "8080"])
        #expect(port.stdout == "127.0.0.1:\(hostPort)\n")
        let reply = try Self.exchange("tcp", "127.0.0.1", "\(hostPort)")
        #expect(reply.stdout == "pong\n", "through the userland proxy: \(reply.stdout)")
        #expect(try Self.rules(daemon).isEmpty)

        #expect(try daemon.client(["rm", "-f", "flags"]).status == 0)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("user-defined network create, use, restart and remove")
    func userNetworks() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let bridge = "swdt\(token.prefix(8))"
        defer { _ = try? DaemonHarness.capture("/usr/sbin/ip", ["link", "delete", bridge]) }
        let routes = try DaemonHarness.capture("/usr/sbin/ip", ["-4", "route"]).stdout
        var prefix: String
        repeat {
            prefix = "10.232.\(Int.random(in: 1...254))"
        } while routes.contains(prefix + ".")
        try daemon.start()
        try daemon.importBusybox()

        let created = try daemon.client([
            "network", "create", "--subnet", "\(prefix).0/24", "--label", "purpose=test",
            "-o", "com.docker.network.bridge.name=\(bridge)", "testnet",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.count == 65)
        let list = try daemon.client(["network", "ls"])
        for name in ["testnet", "bridge", "host", "none"] {
            #expect(list.stdout.contains(" \(name) "), "\(list.stdout)")
        }
        let link = try DaemonHarness.capture("/usr/sbin/ip", ["-4", "-o", "addr", "show", bridge])
        #expect(link.stdout.contains("inet \(prefix).1/24"), "\(link.stdout)")

        let server = try daemon.client(
            ["run", "-d", "--name", "member", "--network", "testnet", "busybox"]
                + Self.tcpServer(7070))
        #expect(server.status == 0, "\(server.stderr)")
        let address = try #require(
            Self.inspectField(
                daemon, "member", ["NetworkSettings", "Networks", "testnet", "IPAddress"])
                as? String)
        #expect(address.hasPrefix(prefix + "."))
        let reached = try daemon.client([
            "run", "--rm", "--network", "testnet", "busybox", "nc", "-w", "2", address, "7070",
        ])
        #expect(reached.stdout == "pong\n", "\(reached.stdout)\(reached.stderr)")

        // Containers on the network find each other by name.
        let byName = try daemon.client([
            "run", "--rm", "--network", "testnet", "busybox", "nc", "-w", "2", "member", "7070",
        ])
        #expect(byName.stdout == "pong\n", "\(byName.stdout)\(byName.stderr)")
        let peer = try daemon.client(
            ["run", "-d", "--name", "peer", "--network", "testnet", "busybox", "sleep", "60"])
        #expect(peer.status == 0, "\(peer.stderr)")
        // As in dockerd, a peer resolves through the embedded DNS server, not /etc/hosts.
        let seen = try daemon.client(["exec", "member", "cat", "/etc/hosts"])
        #expect(!seen.stdout.contains("\tpeer"), "\(seen.stdout)")
        #expect(seen.stdout.contains("\(address)\t"), "\(seen.stdout)")
        let found = try daemon.client(["exec", "member", "nslookup", "peer", "127.0.0.11"])
        #expect(found.status == 0, "\(found.stdout)\(found.stderr)")
        #expect(try daemon.client(["rm", "-f", "peer"]).status == 0)

        let inspect = try daemon.client(["network", "inspect", "testnet"])
        #expect(inspect.stdout.contains("\"member\""), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("\"purpose\""), "\(inspect.stdout)")

        let busy = try daemon.client(["network", "rm", "testnet"])
        #expect(busy.status != 0)
        #expect(busy.stderr.contains("active endpoints"), "\(busy.stderr)")
        #expect(try daemon.client(["rm", "-f", "member"]).status == 0)

        // The network survives a restart of the daemon.
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try daemon.client(["network", "ls"]).stdout.contains(" testnet "))
        let again = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", bridge])
        #expect(again.status == 0)

        let pruned = try daemon.client(["network", "prune", "-f"])
        #expect(pruned.stdout == "Deleted Networks:\ntestnet\n", "\(pruned.stdout)\(pruned.stderr)")
        let gone = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", bridge])
        #expect(gone.status != 0, "the bridge is deleted with its network")
        let builtin = try daemon.client(["network", "rm", "bridge"])
        #expect(builtin.stderr.contains("pre-defined"))
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("rules, veths and leases are gone after a daemon SIGKILL and restart")
    func killedDaemonCleansUp() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        try daemon.importBusybox()
        let baseRules = try Self.rules(daemon)
        let hostPort = Int.random(in: 27000...29999)
        let run = try daemon.client(
            ["run", "-d", "--name", "orphan", "-p", "\(hostPort):80", "busybox", "sleep", "300"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.rules(daemon).count > baseRules.count)
        let leases = "\(daemon.root)/network/\(daemon.bridge)-addresses.json"
        #expect(try String(contentsOfFile: leases, encoding: .utf8).contains(daemon.subnetPrefix))

        let process = try #require(daemon.process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try daemon.start()
        #expect(try Self.rules(daemon) == baseRules)
        // The kernel deletes the veth when it destroys the killed container's namespace, a
        // little after the process is gone.
        #expect(try DaemonHarness.eventually(5) { try Self.bridgePorts(daemon).isEmpty })
        #expect(try String(contentsOfFile: leases, encoding: .utf8).contains("\"addresses\":{}"))
        let state = try Self.inspectField(daemon, "orphan", ["State", "Running"]) as? Bool
        #expect(state == false)
        #expect(try daemon.client(["rm", "orphan"]).status == 0)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("none network has loopback up")
    func noneNetworkLoopback() throws {
        try DaemonHarness.withDaemon { daemon in
            let result = try daemon.client(
                ["run", "--rm", "--network", "none", "busybox", "ping", "-c", "1", "-W", "2", "127.0.0.1"])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        }
    }

    @Test("host and container modes name containers")
    func networkModeHostnames() throws {
        try DaemonHarness.withDaemon { daemon in
            // gethostname, not ProcessInfo.hostName, which may look the name up in DNS.
            var buffer = [CChar](repeating: 0, count: 256)
            gethostname(&buffer, 255)
            let hostName = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let onHost = try daemon.client(["run", "--rm", "--network", "host", "busybox", "hostname"])
            #expect(onHost.stdout == "\(hostName)\n", "\(onHost.stderr)")
            // dockerd publishes nothing on the host's network, and does not reject -p there.
            let published = try daemon.client(
                ["run", "--rm", "--network", "host", "-p", "127.0.0.1:18999:80", "busybox", "true"])
            #expect(published.status == 0, "\(published.stderr)")

            let base = try daemon.client(
                ["run", "-d", "--name", "base", "-h", "basehost", "busybox", "sleep", "60"])
            try #require(base.status == 0, "\(base.stderr)")
            let joined = try daemon.client(
                ["run", "--rm", "--network", "container:base", "busybox", "hostname"])
            #expect(joined.stdout == "basehost\n", "\(joined.stderr)")
            for conflicting in [["-h", "other"], ["--dns", "127.0.0.1"], ["--add-host", "a:10.0.0.1"], ["--expose", "80"]] {
                let result = try daemon.client(
                    ["run", "--rm", "--network", "container:base"] + conflicting + ["busybox", "true"])
                #expect(result.status == 125, "\(conflicting)")
                #expect(result.stderr.contains("conflicting options"), "\(conflicting): \(result.stderr)")
            }
            #expect(try daemon.client(["rm", "-f", "base"]).status == 0)

            // A missing network is not a missing image: nothing about pulling is printed.
            let unknown = try daemon.client(["run", "--rm", "--network", "no-such-net", "busybox", "true"])
            #expect(unknown.status == 125)
            #expect(!unknown.stderr.contains("Unable to find image"), "\(unknown.stderr)")
        }
    }
}
