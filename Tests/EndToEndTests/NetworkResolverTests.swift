import Foundation
import Testing

/// The embedded DNS server at 127.0.0.11 of containers on a user-defined network.
///
/// Every query names a test container or a name without a dot, which the server answers
/// itself: none is forwarded to the host's name servers.
@Suite(
    "network resolver", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkResolverTests {
    /// Sends one A query to 127.0.0.11:53 over `udp` or `tcp` and prints the addresses of the
    /// answer or `rcode N`; `garbage` first sends a malformed packet over UDP and prints the
    /// response code of the reply.
    static let queryScript = """
        import socket, struct, sys
        kind, name = sys.argv[1], sys.argv[2]
        def question(name):
            labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
            return struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + labels + b"\\0\\0\\1\\0\\1"
        def parse(reply, query):
            rcode = reply[3] & 15
            count = struct.unpack(">H", reply[6:8])[0]
            offset, found = len(query), []
            for _ in range(count):
                offset += 2
                rtype, _, _, length = struct.unpack(">HHIH", reply[offset:offset + 10])
                offset += 10
                if rtype == 1: found.append(socket.inet_ntoa(reply[offset:offset + length]))
                offset += length
            return " ".join(found) if found else "rcode %d" % rcode
        query = question(name)
        if kind == "garbage":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.sendto(query[:12] + b"\\xc0\\x0c\\0\\1\\0\\1", ("127.0.0.11", 53))
            reply, _ = s.recvfrom(512)
            print("rcode %d" % (reply[3] & 15))
        elif kind == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.sendto(query, ("127.0.0.11", 53))
            reply, _ = s.recvfrom(512)
            print(parse(reply, query))
        else:
            s = socket.create_connection(("127.0.0.11", 53), timeout=3)
            s.sendall(struct.pack(">H", len(query)) + query)
            length = struct.unpack(">H", s.recv(2))[0]
            reply = b""
            while len(reply) < length: reply += s.recv(length - len(reply))
            print(parse(reply, query))
        """

    /// Runs `queryScript` in the network namespace of a container.
    static func query(_ daemon: DaemonHarness, from container: String, _ kind: String, _ name: String)
        throws -> String
    {
        let pid = try #require(
            NetworkConnectTests.inspect(daemon, container)["State"].flatMap {
                ($0 as? [String: Any])?["Pid"] as? Int
            })
        let result = try DaemonHarness.capture(
            "/usr/bin/nsenter",
            ["-t", "\(pid)", "-n", "/usr/bin/python3", "-c", queryScript, kind, name])
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + result.stderr
    }

    static func address(_ daemon: DaemonHarness, _ container: String, _ network: String) throws
        -> String
    {
        let networks = try NetworkConnectTests.networks(daemon, container)
        return try #require(networks[network]?["IPAddress"] as? String)
    }

    @Test("names, aliases and IDs resolve on a user network")
    func resolvesNames() throws {
        let network = try TestNetwork("dnsnet")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try network.create(daemon)
            let first = try daemon.client([
                "run", "-d", "--name", "alpha", "--network", "dnsnet", "--network-alias", "db",
                "busybox", "sleep", "300",
            ])
            #expect(first.status == 0, "\(first.stderr)")
            let second = try daemon.client(
                ["run", "-d", "--name", "beta", "--network", "dnsnet", "busybox", "sleep", "300"])
            #expect(second.status == 0, "\(second.stderr)")
            let alpha = try Self.address(daemon, "alpha", "dnsnet")
            let beta = try Self.address(daemon, "beta", "dnsnet")

            let resolv = try daemon.client(["exec", "beta", "cat", "/etc/resolv.conf"]).stdout
            #expect(resolv.contains("nameserver 127.0.0.11\n"), "\(resolv)")
            #expect(resolv.contains("ndots:0"), "\(resolv)")
            #expect(!resolv.contains("nameserver 10."), "\(resolv)")
            // A search domain would make the resolver library ask for NAME.DOMAIN, which the
            // server forwards; the test must not cause that.
            try #require(!resolv.contains("search"), "the host's resolv.conf has a search line")

            for name in ["alpha", "db", "ALPHA"] {
                let lookup = try daemon.client(["exec", "beta", "nslookup", name, "127.0.0.11"])
                #expect(lookup.stdout.contains("Address: \(alpha)"), "\(name): \(lookup.stdout)")
            }
            let id = try #require(
                NetworkConnectTests.inspect(daemon, "alpha")["Id"] as? String)
            #expect(try Self.query(daemon, from: "beta", "udp", String(id.prefix(12))) == alpha)
            #expect(try Self.query(daemon, from: "alpha", "udp", "beta") == beta)
            #expect(try Self.query(daemon, from: "alpha", "tcp", "beta") == beta)
            #expect(try Self.query(daemon, from: "alpha", "tcp", "db") == alpha)
            #expect(try Self.query(daemon, from: "alpha", "udp", "nosuchcontainer") == "rcode 3")
            #expect(try Self.query(daemon, from: "alpha", "garbage", "x") == "rcode 1")
            #expect(try Self.query(daemon, from: "alpha", "udp", "beta") == beta, "still serving")

            let missing = try daemon.client(
                ["exec", "beta", "nslookup", "nosuchcontainer", "127.0.0.11"])
            #expect(missing.status != 0)
            #expect(missing.stdout.contains("NXDOMAIN"), "\(missing.stdout)\(missing.stderr)")
            let ping = try daemon.client(["exec", "beta", "ping", "-c", "1", "-W", "2", "db"])
            #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")

            // After a disconnect the name is gone.
            #expect(try daemon.client(["network", "disconnect", "dnsnet", "alpha"]).status == 0)
            #expect(try Self.query(daemon, from: "beta", "udp", "alpha") == "rcode 3")
            let gone = try daemon.client(["exec", "beta", "nslookup", "alpha", "127.0.0.11"])
            #expect(gone.status != 0, "\(gone.stdout)")
            let noPing = try daemon.client(["exec", "beta", "ping", "-c", "1", "-W", "1", "alpha"])
            #expect(noPing.status != 0, "\(noPing.stdout)")

            #expect(try daemon.client(["rm", "-f", "alpha", "beta"]).status == 0)
            #expect(try daemon.client(["network", "rm", "dnsnet"]).status == 0)
            #expect(!daemon.daemonLog.contains("dns: forwarding"), "a query left the host")
        }
    }

    @Test("connect starts DNS; name.network resolves")
    func connectStartsResolver() throws {
        let network = try TestNetwork("late-\(UInt32.random(in: 0...UInt32.max))")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try network.create(daemon)
            let target = try daemon.client(
                [
                    "run", "-d", "--name", "target", "--network", network.name, "busybox", "sleep",
                    "300",
                ])
            #expect(target.status == 0, "\(target.stderr)")
            let late = try daemon.client(["run", "-d", "--name", "late", "busybox", "sleep", "300"])
            #expect(late.status == 0, "\(late.stderr)")
            let before = try daemon.client(["exec", "late", "cat", "/etc/resolv.conf"])
            #expect(!before.stdout.contains("127.0.0.11"), "\(before.stdout)")

            let connected = try daemon.client(["network", "connect", network.name, "late"])
            #expect(connected.status == 0, "\(connected.stderr)")
            let resolv = try daemon.client(["exec", "late", "cat", "/etc/resolv.conf"])
            #expect(resolv.stdout.contains("nameserver 127.0.0.11"), "\(resolv.stdout)")
            let address = try Self.address(daemon, "target", network.name)
            #expect(try Self.query(daemon, from: "late", "udp", "target") == address)
            #expect(
                try Self.query(daemon, from: "late", "udp", "target.\(network.name)") == address)
            #expect(try Self.query(daemon, from: "target", "udp", "late.\(network.name)")
                == Self.address(daemon, "late", network.name))

            // The hosts file lists the container's own addresses, one per network, and no peer.
            let hosts = try daemon.client(["exec", "late", "cat", "/etc/hosts"]).stdout
            let own = try Self.address(daemon, "late", network.name)
            #expect(hosts.contains("\(own)\t"), "\(hosts)")
            #expect(!hosts.contains("target"), "\(hosts)")
            #expect(!hosts.contains(address), "\(hosts)")

            let removed = try daemon.client(["rm", "-f", "target", "late"])
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(try daemon.client(["network", "rm", network.name]).status == 0)
        }
    }
}
