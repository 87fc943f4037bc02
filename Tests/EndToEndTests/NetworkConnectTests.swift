import Foundation
import Testing

/// A user-defined network made for one test: a unique bridge name and a free /24.
struct TestNetwork {
    let name: String
    let bridge: String
    let prefix: String

    /// Picks a bridge name and a 10.233.N.0/24 that no host route uses.
    init(_ name: String) throws {
        self.name = name
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        bridge = "swdt\(token.prefix(8))"
        let routes = try DaemonHarness.capture("/usr/sbin/ip", ["-4", "route"]).stdout
        var prefix: String
        repeat {
            prefix = "10.233.\(Int.random(in: 1...254))"
        } while routes.contains(prefix + ".")
        self.prefix = prefix
    }

    /// Creates the network through the client, with extra `network create` flags.
    func create(_ daemon: DaemonHarness, _ flags: [String] = []) throws {
        let result = try daemon.client(
            [
                "network", "create", "--subnet", "\(prefix).0/24",
                "-o", "com.docker.network.bridge.name=\(bridge)",
            ] + flags + [name])
        guard result.status == 0 else {
            throw HarnessError("network create \(name) failed: \(result.stderr)")
        }
    }

    /// Deletes the bridge if a failed test left it.
    func cleanUp() {
        _ = try? DaemonHarness.capture("/usr/sbin/ip", ["link", "delete", bridge])
    }

    /// Returns the rules that name the bridge or the subnet.
    func rules() throws -> [String] {
        let text = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        return text.split(separator: "\n").map(String.init).filter {
            $0.contains(bridge) || $0.contains(prefix + ".")
        }
    }

    /// Returns the links attached to the bridge.
    func ports() throws -> String {
        try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", "master", bridge]).stdout
    }
}

/// `network connect` and `disconnect`, several networks per container, `--ip` and
/// `--network-alias`, through the real daemon. Traffic stays between containers on the test's
/// bridges.
@Suite(
    "network connect", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkConnectTests {
    static func inspect(_ daemon: DaemonHarness, _ name: String) throws -> [String: Any] {
        let result = try daemon.client(["inspect", name])
        let documents = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Any]
        return try #require(documents?.first as? [String: Any], "\(result.stderr)")
    }

    static func networks(_ daemon: DaemonHarness, _ name: String) throws -> [String: [String: Any]]
    {
        let document = try inspect(daemon, name)
        let settings = document["NetworkSettings"] as? [String: Any]
        return settings?["Networks"] as? [String: [String: Any]] ?? [:]
    }

    /// Runs `body` with a daemon and two user-defined networks made for it, `first` and
    /// `second`; their bridges are deleted if the test leaves them.
    static func withNetworks(
        _ first: String, _ second: String,
        _ body: (DaemonHarness, TestNetwork, TestNetwork) throws -> Void
    ) throws {
        let firstNetwork = try TestNetwork(first)
        let secondNetwork = try TestNetwork(second)
        defer {
            firstNetwork.cleanUp()
            secondNetwork.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try firstNetwork.create(daemon)
            try secondNetwork.create(daemon)
            try body(daemon, firstNetwork, secondNetwork)
        }
    }

    /// Posts `body` to the daemon's API and returns the status code and body.
    static func post(_ daemon: DaemonHarness, _ path: String, _ body: String) throws -> (
        Int, String
    ) {
        let result = try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-s", "--unix-socket", daemon.socket, "-X", "POST", "-H",
                "Content-Type: application/json", "-d", body, "-w", "\n%{http_code}",
                "http://localhost/v1.45\(path)",
            ])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// Returns the IPv4 address of an interface inside a running container, or "".
    static func interfaceAddress(_ daemon: DaemonHarness, _ container: String, _ name: String)
        throws -> String
    {
        let result = try daemon.client(["exec", container, "ip", "-4", "-o", "addr", "show", name])
        guard let field = result.stdout.split(separator: " ").firstIndex(of: "inet") else {
            return ""
        }
        let words = result.stdout.split(separator: " ")
        return String(words[words.index(after: field)].split(separator: "/")[0])
    }

    @Test("connect and disconnect a running container")
    func connectRunning() throws {
        let first = try TestNetwork("front")
        let second = try TestNetwork("back")
        defer {
            first.cleanUp()
            second.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try first.create(daemon)
            try second.create(daemon)
            let baseRules = try first.rules() + second.rules()

            let run = try daemon.client([
                "run", "-d", "--name", "app", "--network", "front", "--network-alias", "web",
                "--ip", "\(first.prefix).50", "busybox", "sleep", "300",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            var networks = try Self.networks(daemon, "app")
            #expect(networks["front"]?["IPAddress"] as? String == "\(first.prefix).50")
            #expect(networks["front"]?["Aliases"] as? [String] == ["web"])
            #expect(try Self.interfaceAddress(daemon, "app", "eth0") == "\(first.prefix).50")

            let connected = try daemon.client(
                ["network", "connect", "--alias", "db", "back", "app"])
            #expect(connected.status == 0, "\(connected.stderr)")
            networks = try Self.networks(daemon, "app")
            #expect(Set(networks.keys) == ["front", "back"])
            let back = try #require(networks["back"])
            let address = try #require(back["IPAddress"] as? String)
            #expect(address.hasPrefix(second.prefix + "."), "\(back)")
            #expect(back["Gateway"] as? String == "\(second.prefix).1")
            #expect(back["IPPrefixLen"] as? Int == 24)
            #expect((back["MacAddress"] as? String)?.hasPrefix("02:42:") == true)
            #expect((back["EndpointID"] as? String)?.isEmpty == false)
            #expect((back["NetworkID"] as? String)?.count == 64)
            #expect(back["Aliases"] as? [String] == ["db"])
            #expect(try Self.interfaceAddress(daemon, "app", "eth1") == address)
            let route = try daemon.client(["exec", "app", "ip", "route"])
            #expect(route.stdout.contains("default via \(first.prefix).1 dev eth0"), "\(route.stdout)")
            #expect(!route.stdout.contains("default via \(second.prefix).1"), "\(route.stdout)")
            let inspected = try daemon.client(["network", "inspect", "back"])
            #expect(inspected.stdout.contains(address), "\(inspected.stdout)")

            // A container on the second network reaches the new interface.
            let ping = try daemon.client([
                "run", "--rm", "--network", "back", "busybox", "ping", "-c", "1", "-W", "2", address,
            ])
            #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")

            let twice = try Self.post(daemon, "/networks/back/connect", #"{"Container":"app"}"#)
            #expect(twice.0 == 403)
            #expect(twice.1.contains("endpoint with name app already exists in network back"))
            let unknown = try Self.post(
                daemon, "/networks/no-such-net/connect", #"{"Container":"app"}"#)
            #expect(unknown.0 == 404, "\(unknown.1)")
            let missing = try Self.post(
                daemon, "/networks/back/connect", #"{"Container":"no-such-container"}"#)
            #expect(missing.0 == 404, "\(missing.1)")
            let cliTwice = try daemon.client(["network", "connect", "back", "app"])
            #expect(cliTwice.status != 0)
            #expect(cliTwice.stderr.contains("already exists"), "\(cliTwice.stderr)")

            let disconnected = try daemon.client(["network", "disconnect", "back", "app"])
            #expect(disconnected.status == 0, "\(disconnected.stderr)")
            #expect(Set(try Self.networks(daemon, "app").keys) == ["front"])
            let links = try daemon.client(["exec", "app", "ip", "-o", "link"])
            #expect(!links.stdout.contains("eth1"), "\(links.stdout)")
            #expect(try second.ports().isEmpty)
            let leases = "\(daemon.root)/network/\(second.bridge)-addresses.json"
            #expect(!(try String(contentsOfFile: leases, encoding: .utf8)).contains(address))
            let notOn = try Self.post(daemon, "/networks/back/disconnect", #"{"Container":"app"}"#)
            #expect(notOn.0 == 403, "\(notOn.1)")

            #expect(try daemon.client(["rm", "-f", "app"]).status == 0)
            #expect(try first.rules() + second.rules() == baseRules)
            #expect(try DaemonHarness.eventually(5) { try first.ports().isEmpty })
            #expect(try daemon.client(["network", "rm", "front", "back"]).status == 0)
        }
        #expect(try first.rules().isEmpty)
        #expect(try second.rules().isEmpty)
    }

    @Test("several --network flags attach to each")
    func severalNetworkFlags() throws {
        try Self.withNetworks("front", "back") { daemon, first, second in
            let run = try daemon.client(
                [
                    "run", "-d", "--name", "both", "--network", "front", "--network", "back",
                    "--ip", "\(first.prefix).44", "busybox", "sleep", "60",
                ])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Set(try Self.networks(daemon, "both").keys) == ["front", "back"])
            #expect(try Self.interfaceAddress(daemon, "both", "eth0") == "\(first.prefix).44")
            #expect(try Self.interfaceAddress(daemon, "both", "eth1").hasPrefix(second.prefix + "."))
            let mode = try daemon.client(["inspect", "-f", "{{.HostConfig.NetworkMode}}", "both"])
            #expect(mode.stdout == "front\n", "\(mode.stdout)")

            let mixed = try daemon.client(
                ["create", "--network", "front", "--network", "bridge", "busybox", "true"])
            #expect(mixed.status == 125, "\(mixed.stderr)")
            #expect(mixed.stderr.contains("cannot attach both user-defined and non-user-defined"))
            let twice = try daemon.client(
                ["create", "--network", "front", "--network", "front", "busybox", "true"])
            #expect(twice.status == 125, "\(twice.stderr)")
            #expect(twice.stderr.contains("network \"front\" is specified multiple times"))
            #expect(try daemon.client(["rm", "-f", "both"]).status == 0)
            #expect(try daemon.client(["network", "rm", "front", "back"]).status == 0)
        }
    }

    @Test("connect and disconnect a stopped container")
    func connectStopped() throws {
        try Self.withNetworks("one", "two") { daemon, first, second in
            let created = try daemon.client(
                ["create", "--name", "idle", "--network", "one", "busybox", "sleep", "300"])
            #expect(created.status == 0, "\(created.stderr)")
            let connected = try daemon.client(
                ["network", "connect", "--ip", "\(second.prefix).77", "two", "idle"])
            #expect(connected.status == 0, "\(connected.stderr)")
            var networks = try Self.networks(daemon, "idle")
            #expect(Set(networks.keys) == ["one", "two"])
            #expect(networks["two"]?["IPAddress"] as? String == "")

            #expect(try daemon.client(["start", "idle"]).status == 0)
            networks = try Self.networks(daemon, "idle")
            #expect(networks["two"]?["IPAddress"] as? String == "\(second.prefix).77")
            #expect(try Self.interfaceAddress(daemon, "idle", "eth1") == "\(second.prefix).77")
            let eth0 = try Self.interfaceAddress(daemon, "idle", "eth0")
            #expect(eth0.hasPrefix(first.prefix + "."), "\(eth0)")

            #expect(try daemon.client(["stop", "-t", "0", "idle"]).status == 0)
            let disconnected = try daemon.client(["network", "disconnect", "one", "idle"])
            #expect(disconnected.status == 0, "\(disconnected.stderr)")
            #expect(try daemon.client(["start", "idle"]).status == 0)
            #expect(Set(try Self.networks(daemon, "idle").keys) == ["two"])
            #expect(try Self.interfaceAddress(daemon, "idle", "eth0") == "\(second.prefix).77")
            #expect(try DaemonHarness.eventually(5) { try first.ports().isEmpty })

            #expect(try daemon.client(["rm", "-f", "idle"]).status == 0)
            #expect(try DaemonHarness.eventually(5) { try second.ports().isEmpty })
            #expect(try daemon.client(["network", "rm", "one", "two"]).status == 0)
        }
    }

    @Test("--ip and aliases on the default bridge are rejected")
    func defaultBridgeSettings() throws {
        try DaemonHarness.withDaemon { daemon in
            let ip = try daemon.client(
                ["create", "--ip", "\(daemon.subnetPrefix).9", "busybox", "true"])
            #expect(ip.status != 0)
            #expect(
                ip.stderr.contains(
                    "user specified IP address is supported on user defined networks only"),
                "\(ip.stderr)")
            let alias = try daemon.client(["create", "--network-alias", "x", "busybox", "true"])
            #expect(alias.status != 0)
            #expect(alias.stderr.contains("network-scoped alias"), "\(alias.stderr)")
            let created = try daemon.client(["create", "--name", "plain", "busybox", "true"])
            #expect(created.status == 0)
            let viaAPI = try Self.post(
                daemon, "/networks/bridge/connect",
                #"{"Container":"plain","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.0.9"}}}"#
            )
            #expect(viaAPI.0 == 400 || viaAPI.0 == 403, "\(viaAPI)")
            let host = try Self.post(daemon, "/networks/host/connect", #"{"Container":"plain"}"#)
            #expect(host.0 == 400, "\(host.1)")
            #expect(try daemon.client(["rm", "plain"]).status == 0)
        }
    }

    @Test("internal network reaches only itself")
    func internalNetwork() throws {
        let closed = try TestNetwork("closed")
        let other = try TestNetwork("other")
        defer {
            closed.cleanUp()
            other.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try closed.create(daemon, ["--internal"])
            try other.create(daemon)
            let inspected = try daemon.client(["network", "inspect", "closed"])
            #expect(inspected.stdout.contains("\"Internal\": true"), "\(inspected.stdout)")
            let rules = try closed.rules()
            #expect(!rules.contains { $0.contains("MASQUERADE") }, "\(rules)")

            let server = try daemon.client(
                ["run", "-d", "--name", "inside", "--network", "closed", "busybox", "sleep", "300"])
            #expect(server.status == 0, "\(server.stderr)")
            let address = try #require(
                Self.networks(daemon, "inside")["closed"]?["IPAddress"] as? String)
            let route = try daemon.client(["exec", "inside", "ip", "route"])
            #expect(!route.stdout.contains("default"), "\(route.stdout)")

            let peer = try daemon.client([
                "run", "--rm", "--network", "closed", "busybox", "ping", "-c", "1", "-W", "2",
                address,
            ])
            #expect(peer.status == 0, "\(peer.stdout)\(peer.stderr)")
            // The host side of another test bridge: reachable from the default bridge, not from
            // the internal network, even with a route to it.
            let control = try daemon.client(
                ["run", "--rm", "busybox", "ping", "-c", "1", "-W", "2", "\(other.prefix).1"])
            #expect(control.status == 0, "\(control.stdout)\(control.stderr)")
            let blocked = try daemon.client([
                "run", "--rm", "--network", "closed", "--cap-add", "NET_ADMIN", "busybox", "sh",
                "-c",
                "ip route add \(other.prefix).0/24 via \(closed.prefix).1 && "
                    + "ping -c 1 -W 2 \(other.prefix).1",
            ])
            #expect(blocked.status != 0, "\(blocked.stdout)\(blocked.stderr)")
            #expect(blocked.stdout.contains("0 packets received"), "\(blocked.stdout)\(blocked.stderr)")

            #expect(try daemon.client(["rm", "-f", "inside"]).status == 0)
            #expect(try daemon.client(["network", "rm", "closed", "other"]).status == 0)
            #expect(try closed.rules().isEmpty)
        }
        // Only this test's rules count: other daemons on the host may have an input chain too.
        let saved = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        let leftover = saved.split(separator: "\n").filter {
            $0.contains("SWIFTD-INPUT") && ($0.contains(closed.bridge) || $0.contains(other.bridge))
        }
        #expect(leftover.isEmpty, "\(leftover)")
    }
}
