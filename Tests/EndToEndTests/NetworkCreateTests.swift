import Foundation
import Testing

/// `network create` checks on subnets, and the IDs of the built-in networks, through the real
/// daemon. No container sends traffic.
@Suite(
    "network create", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for bridges and iptables"))
struct NetworkCreateTests {
    /// Sends `POST /networks/create` with `body` and returns the reply and its status.
    static func createThroughAPI(_ daemon: DaemonHarness, _ body: String) throws -> String {
        try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-s", "-w", " %{http_code}", "--unix-socket", daemon.socket, "-X", "POST",
                "-H", "Content-Type: application/json", "-d", body,
                "http://x/v1.45/networks/create",
            ]
        ).stdout
    }

    @Test("overlapping subnets rejected with 403")
    func overlapRejected() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let first = try TestNetwork("first")
        defer { first.cleanUp() }
        try daemon.start()
        try first.create(daemon)

        let same = try daemon.client([
            "network", "create", "--subnet", "\(first.prefix).128/25", "second",
        ])
        #expect(same.status == 1)
        #expect(
            same.stderr.contains(
                "invalid pool request: Pool overlaps with other one on this address space"),
            "\(same.stderr)")
        // The /23 that contains the network's /24: an odd third octet is a host bit of a /23.
        let third = try #require(Int(first.prefix.split(separator: ".")[2]))
        let widerSubnet = "10.233.\(third & ~1).0/23"
        let wider = try Self.createThroughAPI(
            daemon,
            #"{"Name": "wider", "IPAM": {"Config": [{"Subnet": "\#(widerSubnet)"}]}}"#)
        #expect(wider.hasSuffix(" 403"), "\(wider)")
        #expect(wider.contains("Pool overlaps"), "\(wider)")
        let onBridge = try Self.createThroughAPI(
            daemon,
            #"{"Name": "onbridge", "IPAM": {"Config": [{"Subnet": "\#(daemon.subnetPrefix).0/28"}]}}"#)
        #expect(onBridge.hasSuffix(" 403"), "\(onBridge)")
        let names = try daemon.client(["network", "ls"]).stdout.split(separator: "\n")
            .dropFirst().compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
        #expect(names.sorted() == ["bridge", "first", "host", "none"])
        #expect(try daemon.client(["network", "rm", "first"]).status == 0)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("malformed subnet named as CIDR")
    func malformedSubnet() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        let bad = try daemon.client(["network", "create", "--subnet", "999.1.1.0/24", "bad"])
        #expect(bad.status == 1)
        #expect(
            bad.stderr.contains("invalid subnet 999.1.1.0/24: invalid CIDR block notation"),
            "\(bad.stderr)")
        let api = try Self.createThroughAPI(
            daemon, #"{"Name": "bad", "IPAM": {"Config": [{"Subnet": "10.1.2.0"}]}}"#)
        #expect(api.contains("invalid subnet 10.1.2.0: invalid CIDR block notation"), "\(api)")
        #expect(api.hasSuffix(" 400"), "\(api)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("IPAM settings checked as dockerd")
    func ipamChecked() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        let third = Int.random(in: 1...254)
        let prefix = "10.232.\(third)"
        // The /23 that contains the prefix's /24, for the ip-range with host bits below.
        let wider = "10.232.\(third & ~1).0/23"
        // Each case: the IPAM config and the message dockerd 26 gives, after its first line
        // "invalid network config:".
        let cases: [(config: String, message: String)] = [
            (#"{"IPRange": "\#(prefix).0/25"}"#, "invalid subnet : invalid CIDR block notation"),
            (#"{"Gateway": "\#(prefix).1"}"#, "invalid subnet : invalid CIDR block notation"),
            (
                #"{"Subnet": "\#(prefix).3/24"}"#,
                "invalid subnet \(prefix).3/24: it should be \(prefix).0/24"
            ),
            (
                #"{"Subnet": "\#(prefix).0/24", "IPRange": "\#(prefix).5/25"}"#,
                "invalid ip-range \(prefix).5/25: it should be \(prefix).0/25"
            ),
            (
                #"{"Subnet": "\#(prefix).0/24", "IPRange": "10.9.9.0/25"}"#,
                "invalid ip-range 10.9.9.0/25: parent subnet \(prefix).0/24 doesn't contain "
                    + "ip-range"
            ),
            (
                #"{"Subnet": "\#(prefix).0/24", "IPRange": "\#(prefix).128/23"}"#,
                "* invalid ip-range \(prefix).128/23: CIDR block is bigger than its parent subnet "
                    + "\(prefix).0/24\\n* invalid ip-range \(prefix).128/23: it should be \(wider)"
            ),
            (
                #"{"Subnet": "\#(prefix).0/24", "Gateway": "10.9.9.1"}"#,
                "invalid gateway 10.9.9.1: parent subnet \(prefix).0/24 doesn't contain this "
                    + "address"
            ),
            (
                #"{"Subnet": "\#(prefix).0/24", "AuxiliaryAddresses": {"a": "10.9.9.2"}}"#,
                "invalid auxiliary address a: parent subnet \(prefix).0/24 doesn't contain this "
                    + "address"
            ),
        ]
        for (config, message) in cases {
            let reply = try Self.createThroughAPI(
                daemon, #"{"Name": "checked", "IPAM": {"Config": [\#(config)]}}"#)
            #expect(reply.hasSuffix(" 400"), "\(config): \(reply)")
            #expect(reply.contains("invalid network config:\\n"), "\(config): \(reply)")
            #expect(reply.contains(message), "\(config): \(reply)")
        }
        let ipv6 = try Self.createThroughAPI(daemon, #"{"Name": "six", "EnableIPv6": true}"#)
        #expect(ipv6.hasSuffix(" 400"), "\(ipv6)")
        #expect(ipv6.contains("IPv6 networks are not supported"), "\(ipv6)")
        let hostBits = try daemon.client(
            ["network", "create", "--subnet", "\(prefix).3/24", "checked"])
        #expect(hostBits.status == 1)
        #expect(hostBits.stderr.contains("it should be \(prefix).0/24"), "\(hostBits.stderr)")
        let names = try daemon.client(["network", "ls", "--format", "{{.Name}}"]).stdout
        #expect(!names.contains("checked"), "\(names)")
        #expect(!names.contains("six"), "\(names)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("client IPAM flags reach daemon")
    func clientIPAMFlags() throws {
        let network = try TestNetwork("aux-\(UInt32.random(in: 0...UInt32.max))")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            let prefix = network.prefix
            // Without --subnet, the client rejects a range or a gateway as the docker CLI does.
            let rangeOnly = try daemon.client(
                ["network", "create", "--ip-range", "\(prefix).0/25", "norange"])
            #expect(rangeOnly.status == 1)
            #expect(
                rangeOnly.stderr
                    == "every ip-range or gateway must have a corresponding subnet\n",
                "\(rangeOnly.stderr)")
            let gatewayOnly = try daemon.client(
                ["network", "create", "--gateway", "\(prefix).1", "nogateway"])
            #expect(gatewayOnly.status == 1)
            #expect(
                gatewayOnly.stderr
                    == "every ip-range or gateway must have a corresponding subnet\n",
                "\(gatewayOnly.stderr)")
            let ipv6 = try daemon.client(["network", "create", "--ipv6", "six"])
            #expect(ipv6.status == 1)
            #expect(ipv6.stderr.contains("IPv6 networks are not supported"), "\(ipv6.stderr)")
            let outside = try daemon.client(
                [
                    "network", "create", "--subnet", "\(prefix).0/24", "--aux-address",
                    "router=10.9.9.9", "outside",
                ])
            #expect(outside.status == 1)
            #expect(
                outside.stderr == "no matching subnet for aux-address 10.9.9.9\n",
                "\(outside.stderr)")
            let malformed = try daemon.client(
                ["network", "create", "--aux-address", "router", "malformed"])
            #expect(malformed.status != 0)
            #expect(
                malformed.stderr.hasPrefix(
                    "swiftd: invalid argument \"router\" for \"--aux-address\" flag"),
                "\(malformed.stderr)")

            try network.create(
                daemon,
                [
                    "--ip-range", "\(prefix).0/30", "--aux-address", "router=\(prefix).2",
                    "--aux-address", "dns=\(prefix).3",
                ])
            let inspect = try daemon.client(["network", "inspect", network.name])
            #expect(inspect.status == 0, "\(inspect.stderr)")
            let document = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8))
            let ipam = ((document as? [[String: Any]])?.first?["IPAM"] as? [String: Any])
            let config = (ipam?["Config"] as? [[String: Any]])?.first
            #expect(config?["IPRange"] as? String == "\(prefix).0/30")
            #expect(
                config?["AuxiliaryAddresses"] as? [String: String]
                    == ["router": "\(prefix).2", "dns": "\(prefix).3"],
                "\(inspect.stdout)")
            // The range contains .1 (the gateway) to .3, and the auxiliary addresses take .2 and
            // .3: no address is left for a container.
            let run = try daemon.client(
                ["run", "-d", "--name", "crowded", "--network", network.name, "busybox", "true"])
            #expect(run.status != 0, "\(run.stdout)")
            #expect(run.stderr.contains("no free address left in"), "\(run.stderr)")
            _ = try daemon.client(["rm", "-f", "crowded"])
            let names = try daemon.client(["network", "ls", "--format", "{{.Name}}"]).stdout
            for rejected in ["norange", "nogateway", "six", "outside", "malformed"] {
                #expect(!names.contains(rejected), "\(names)")
            }
            #expect(try daemon.client(["network", "rm", network.name]).status == 0)
        }
    }

    @Test("driver options and auxiliary addresses apply")
    func driverOptions() throws {
        let network = try TestNetwork("options-\(UInt32.random(in: 0...UInt32.max))")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            let prefix = network.prefix
            let options = [
                "com.docker.network.bridge.name": network.bridge,
                "com.docker.network.driver.mtu": "1400",
                "com.docker.network.bridge.enable_icc": "false",
                "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1",
            ]
            let optionsJSON = String(
                decoding: try JSONSerialization.data(withJSONObject: options), as: UTF8.self)
            let created = try Self.createThroughAPI(
                daemon,
                #"{"Name": "\#(network.name)", "Options": \#(optionsJSON), "IPAM": {"Config": "#
                    + #"[{"Subnet": "\#(prefix).0/24", "AuxiliaryAddresses": "#
                    + #"{"printer": "\#(prefix).2"}}]}}"#)
            #expect(created.hasSuffix(" 201"), "\(created)")
            let inspected = try daemon.client(["network", "inspect", network.name])
            #expect(
                inspected.stdout.contains(#""com.docker.network.driver.mtu": "1400""#),
                "\(inspected.stdout)")

            let hostPort = Int.random(in: 27000...27999)
            let server = try daemon.client(
                [
                    "run", "-d", "--name", "server", "--network", network.name, "-p",
                    "\(hostPort):80", "busybox",
                ] + NetworkTests.tcpServer(80))
            #expect(server.status == 0, "\(server.stderr)")
            let address = try NetworkConnectTests.interfaceAddress(daemon, "server", "eth0")
            #expect(address == "\(prefix).3", "the auxiliary address was handed out: \(address)")
            let link = try daemon.client(["exec", "server", "ip", "link", "show", "eth0"])
            #expect(link.stdout.contains("mtu 1400"), "\(link.stdout)")
            let port = try daemon.client(["port", "server", "80"])
            #expect(port.stdout == "127.0.0.1:\(hostPort)\n", "\(port.stdout)")

            let peer = try daemon.client(
                [
                    "run", "--rm", "--network", network.name, "busybox", "ping", "-c", "1", "-W",
                    "2", address,
                ])
            #expect(peer.status != 0, "icc=false let a ping through: \(peer.stdout)")
            let auxiliary = try daemon.client(
                [
                    "run", "--rm", "--network", network.name, "--ip", "\(prefix).2", "busybox",
                    "true",
                ])
            #expect(auxiliary.status != 0)
            #expect(auxiliary.stderr.contains("Address already in use"), "\(auxiliary.stderr)")

            let bad = try Self.createThroughAPI(
                daemon,
                #"{"Name": "badopt", "Options": "#
                    + #"{"com.docker.network.bridge.enable_icc": "maybe"}}"#)
            #expect(bad.hasSuffix(" 400"), "\(bad)")
            #expect(bad.contains("enable_icc"), "\(bad)")
            #expect(try daemon.client(["rm", "-f", "server"]).status == 0)
            #expect(try daemon.client(["network", "rm", network.name]).status == 0)
        }
    }

    @Test("built-in networks have stable hex IDs")
    func builtinIDs() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        try daemon.importBusybox()
        func ids() throws -> [String: String] {
            let lines = try daemon.client(["network", "ls", "--no-trunc"]).stdout
                .split(separator: "\n").dropFirst()
            var result: [String: String] = [:]
            for line in lines {
                let parts = line.split(separator: " ").map(String.init)
                if parts.count >= 2 { result[parts[1]] = parts[0] }
            }
            return result
        }
        let before = try ids()
        for name in ["bridge", "host", "none"] {
            let id = try #require(before[name], "\(before)")
            #expect(id.count == 64 && id.allSatisfy(\.isHexDigit), "\(name): \(id)")
        }
        let bridgeID = try #require(before["bridge"])
        let byID = try daemon.client(["network", "inspect", bridgeID])
        #expect(byID.stdout.contains(#""Name": "bridge""#), "\(byID.stdout)\(byID.stderr)")
        let byPrefix = try daemon.client(["network", "inspect", String(bridgeID.prefix(12))])
        #expect(byPrefix.stdout.contains(#""Id": "\#(bridgeID)""#), "\(byPrefix.stderr)")

        let run = try daemon.client(["run", "-d", "--name", "idcheck", "busybox", "sleep", "60"])
        #expect(run.status == 0, "\(run.stderr)")
        let networkID = try daemon.client([
            "inspect", "-f", "{{.NetworkSettings.Networks.bridge.NetworkID}}", "idcheck",
        ])
        #expect(networkID.stdout == bridgeID + "\n", "\(networkID.stderr)")
        #expect(try daemon.client(["rm", "-f", "idcheck"]).status == 0)
        let until = String(Date().timeIntervalSince1970 + 1)
        let events = try daemon.client([
            "events", "--since", "0", "--until", until, "--filter", "type=network",
            "--filter", "event=connect",
        ]).stdout
        #expect(
            events.contains("network connect \(bridgeID) (container="), "\(events)")
        #expect(events.contains("name=bridge, type=bridge"), "\(events)")

        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try ids() == before)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("second IPv4 subnet rejected with 403")
    func secondSubnetRejected() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        let third = Int.random(in: 1...127) * 2
        let reply = try Self.createThroughAPI(
            daemon,
            #"{"Name": "twice", "IPAM": {"Config": [{"Subnet": "10.233.\#(third).0/24"}, "#
                + #"{"Subnet": "10.233.\#(third + 1).0/24"}]}}"#)
        #expect(reply.hasSuffix(" 403"), "\(reply)")
        #expect(reply.contains("bridge driver doesn't support multiple subnets"), "\(reply)")
        #expect(try daemon.client(["network", "inspect", "twice"]).status != 0)
    }

    @Test("bridge in use rejected with 403")
    func bridgeInUseRejected() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let first = try TestNetwork("first")
        defer { first.cleanUp() }
        try daemon.start()
        try first.create(daemon)

        let second = try daemon.client([
            "network", "create", "-o", "com.docker.network.bridge.name=\(first.bridge)", "second",
        ])
        #expect(second.status == 1)
        #expect(second.stderr.contains("networks have same bridge name"), "\(second.stderr)")
        let onDefault = try Self.createThroughAPI(
            daemon,
            #"{"Name": "ondefault", "Options": {"com.docker.network.bridge.name": "\#(daemon.bridge)"}}"#)
        #expect(onDefault.hasSuffix(" 403"), "\(onDefault)")
        #expect(onDefault.contains("networks have same bridge name"), "\(onDefault)")
        #expect(try daemon.client(["network", "inspect", "second"]).status != 0)
        #expect(try daemon.client(["network", "inspect", "ondefault"]).status != 0)

        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(links.contains("\(first.bridge):"), "\(links)")
        #expect(links.contains("\(daemon.bridge):"), "\(links)")
        #expect(try daemon.client(["network", "rm", "first"]).status == 0)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("existing bridge not deleted at rm")
    func existingBridgeKept() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let borrowed = try TestNetwork("borrowed")
        defer { borrowed.cleanUp() }
        try daemon.start()
        // A bridge made outside swiftd, whose name a crashed run recorded as its own.
        let made = try DaemonHarness.capture(
            "/usr/sbin/ip", ["link", "add", borrowed.bridge, "type", "bridge"])
        #expect(made.status == 0, "\(made.stderr)")
        try Data("\(borrowed.bridge)\n".utf8).write(
            to: URL(fileURLWithPath: "\(daemon.root)/network/\(borrowed.bridge)-created"))

        try borrowed.create(daemon)
        #expect(try daemon.client(["network", "rm", "borrowed"]).status == 0)
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(links.contains("\(borrowed.bridge):"), "network rm deleted \(borrowed.bridge)")
        let rules = try borrowed.rules()
        #expect(rules.isEmpty, "\(rules)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }
}
