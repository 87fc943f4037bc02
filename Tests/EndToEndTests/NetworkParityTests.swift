import Foundation
import Testing

/// Network behaviour that matches dockerd's in detail: driver options, IPAM errors, removal
/// of networks, endpoint IDs, MAC addresses, links on user networks and the embedded DNS
/// server of internal networks. Name servers the tests use are listeners on the test's own
/// bridge address, so no query leaves the host.
@Suite(
    "network parity", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkParityTests {
    /// A program on the host that binds `ADDRESS:PORT` (`tcp` or `udp`) for `seconds`, prints
    /// `ready` once bound, answers each DNS query with an empty NOERROR reply, and prints the
    /// number of datagrams it got when it ends.
    static let holderScript = """
        import socket, sys, time
        kind, address, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        if kind == "tcp": s.listen(1)
        print("ready", flush=True)
        count, end = 0, time.time() + seconds
        while kind == "udp" and time.time() < end:
            s.settimeout(max(0.1, end - time.time()))
            try: query, peer = s.recvfrom(512)
            except socket.timeout: break
            count += 1
            s.sendto(query[:2] + bytes([0x81, 0x80]) + query[4:6] + b"\\0\\0\\0\\0\\0\\0" + query[12:], peer)
        if kind == "tcp": time.sleep(seconds)
        print("got %d" % count, flush=True)
        """

    /// Starts `holderScript` and waits until it is bound.
    static func hold(_ kind: String, _ address: String, _ port: Int, seconds: Double) throws
        -> (process: Process, output: Pipe)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", holderScript, kind, address, "\(port)", "\(seconds)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ready = output.fileHandleForReading.availableData
        guard String(decoding: ready, as: UTF8.self).hasPrefix("ready") else {
            process.terminate()
            throw HarnessError("the holder of \(kind) \(address):\(port) did not start")
        }
        return (process, output)
    }

    /// Sends `DELETE PATH` and returns the status and body.
    static func delete(_ daemon: DaemonHarness, _ path: String) throws -> (Int, String) {
        let result = try DaemonHarness.capture(
            "/usr/bin/curl",
            ["-s", "-w", "\n%{http_code}", "--unix-socket", daemon.socket, "-X", "DELETE",
             "http://x/v1.45\(path)"])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test("driver options and IPAM errors as dockerd")
    func optionsAndIPAM() throws {
        let plain = try TestNetwork("plain")
        let quiet = try TestNetwork("quiet", avoiding: [plain])
        defer {
            plain.cleanUp()
            quiet.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try plain.create(daemon)
            try quiet.create(daemon, ["-o", "com.docker.network.bridge.enable_ip_masquerade=false"])
            let plainRules = try plain.rules()
            let quietRules = try quiet.rules()
            #expect(plainRules.filter { $0.contains("MASQUERADE") }.count == 1, "\(plainRules)")
            #expect(!quietRules.contains { $0.contains("MASQUERADE") }, "\(quietRules)")
            // The other rules of the bridge stay.
            #expect(
                quietRules.contains { $0.contains("-i \(quiet.bridge) -o \(quiet.bridge) -j ACCEPT") },
                "\(quietRules)")

            let badOption = try NetworkCreateTests.createThroughAPI(
                daemon,
                #"{"Name": "badopt", "Options": "#
                    + #"{"com.docker.network.bridge.enable_ip_masquerade": "nope"}}"#)
            #expect(badOption.hasSuffix(" 400"), "\(badOption)")
            #expect(
                badOption.contains(
                    "failed to parse com.docker.network.bridge.enable_ip_masquerade value: nope"),
                "\(badOption)")

            let ipam = try daemon.client(["network", "create", "--ipam-driver", "foo", "ipamfoo"])
            #expect(ipam.status == 1)
            #expect(
                ipam.stderr == "Error response from daemon: plugin \"foo\" not found\n",
                "\(ipam.stderr)")
            let ipamAPI = try NetworkCreateTests.createThroughAPI(
                daemon, #"{"Name": "ipamfoo", "IPAM": {"Driver": "foo"}}"#)
            #expect(ipamAPI.hasSuffix(" 404"), "\(ipamAPI)")

            let third = Int.random(in: 1...254)
            let prefix = "10.234.\(third)"
            let conflicts = [
                (
                    #"{"Subnet": "\#(prefix).0/24", "AuxiliaryAddresses": {"gw": "\#(prefix).1"}}"#,
                    "failed to allocate secondary ip address (gw:\(prefix).1): Address already in use"
                ),
                (
                    #"{"Subnet": "\#(prefix).0/24", "AuxiliaryAddresses": {"net": "\#(prefix).0"}}"#,
                    "failed to allocate secondary ip address (net:\(prefix).0): Address already in use"
                ),
                (
                    #"{"Subnet": "\#(prefix).0/24", "Gateway": "\#(prefix).255"}"#,
                    "failed to allocate gateway (\(prefix).255): Address already in use"
                ),
            ]
            for (config, message) in conflicts {
                let reply = try NetworkCreateTests.createThroughAPI(
                    daemon, #"{"Name": "auxconflict", "IPAM": {"Config": [\#(config)]}}"#)
                #expect(reply.hasSuffix(" 500"), "\(config): \(reply)")
                #expect(reply.contains(message), "\(config): \(reply)")
            }
            let gatewayAux = try daemon.client(
                [
                    "network", "create", "--subnet", "\(prefix).0/24", "--aux-address",
                    "router=\(prefix).1", "auxconflict",
                ])
            #expect(gatewayAux.status == 1)
            #expect(gatewayAux.stderr.contains("(router:\(prefix).1): Address already in use"))
            #expect(try daemon.client(["network", "inspect", "auxconflict"]).status != 0)

            // Several subnets all reach the daemon, whose bridge driver takes one.
            let twice = try daemon.client(
                [
                    "network", "create", "--subnet", "\(prefix).0/25", "--subnet",
                    "\(prefix).128/25", "--gateway", "\(prefix).129", "twice",
                ])
            #expect(twice.stderr.contains("bridge driver doesn't support multiple subnets"))
            let overlapping = try daemon.client(
                [
                    "network", "create", "--subnet", "\(prefix).0/24", "--subnet",
                    "\(prefix).128/25", "twice",
                ])
            #expect(
                overlapping.stderr
                    == "multiple overlapping subnet configuration is not supported\n")

            #expect(try daemon.client(["network", "rm", plain.name, quiet.name]).status == 0)
            #expect(try quiet.rules().isEmpty)
        }
    }

    @Test("network ls and inspect formats, natural name order")
    func listFormats() throws {
        try DaemonHarness.withDaemon { daemon in
            for name in ["net10", "net2"] {
                let third = Int.random(in: 1...254)
                let created = try daemon.client(
                    ["network", "create", "--subnet", "10.235.\(third).0/24", "--label", "k=v", name])
                #expect(created.status == 0, "\(created.stderr)")
            }
            let names = try daemon.client(["network", "ls", "--format", "{{.Name}}"])
            #expect(names.stdout == "bridge\nhost\nnet2\nnet10\nnone\n", "\(names.stdout)")
            let table = try daemon.client(
                ["network", "ls", "--filter", "label=k", "--format", "table {{.Name}}\t{{.Labels}}"])
            let lines = table.stdout.split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            }
            #expect(lines == ["NAME LABELS", "net2 k=v", "net10 k=v"], "\(table.stdout)")
            let ids = try daemon.client(["network", "ls", "--format", "{{.ID}} {{.Internal}}"])
            #expect(ids.stdout.split(separator: "\n").allSatisfy { $0.hasSuffix(" false") })
            #expect(ids.stdout.split(separator: "\n").first?.split(separator: " ").first?.count == 12)

            let inspected = try daemon.client(
                ["network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.k}}", "net2", "bridge"])
            #expect(inspected.stdout == "net2 bridge v\nbridge bridge <no value>\n", "\(inspected.stdout)\(inspected.stderr)")
            let missing = try daemon.client(["network", "inspect", "-f", "{{.Name}}", "nothere"])
            #expect(missing.status != 0)
            #expect(try daemon.client(["network", "rm", "net2", "net10"]).status == 0)
        }
    }

    @Test("network rm: only running containers hold a network")
    func removal() throws {
        let idle = try TestNetwork("idle")
        let busy = try TestNetwork("busy", avoiding: [idle])
        defer {
            idle.cleanUp()
            busy.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try idle.create(daemon)
            let created = try daemon.client(
                ["create", "--name", "waiting", "--network", idle.name, "busybox", "true"])
            #expect(created.status == 0, "\(created.stderr)")
            let removed = try daemon.client(["network", "rm", idle.name])
            #expect(removed.status == 0, "\(removed.stderr)")
            let started = try daemon.client(["start", "waiting"])
            #expect(started.status != 0)
            #expect(started.stderr.contains("network \(idle.name) not found"), "\(started.stderr)")
            let disconnected = try daemon.client(["network", "disconnect", idle.name, "waiting"])
            #expect(disconnected.status == 0, "\(disconnected.stderr)")
            #expect(try NetworkConnectTests.networks(daemon, "waiting").isEmpty)

            try busy.create(daemon)
            let running = try daemon.client(
                ["run", "-d", "--name", "holder", "--network", busy.name, "busybox", "sleep", "60"])
            #expect(running.status == 0, "\(running.stderr)")
            let id = try daemon.client(["network", "inspect", "-f", "{{.Id}}", busy.name]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let refused = try Self.delete(daemon, "/networks/\(busy.name)")
            #expect(refused.0 == 403, "\(refused)")
            #expect(
                refused.1.contains(
                    "error while removing network: network \(busy.name) id \(id) has active endpoints"),
                "\(refused.1)")
            let prune = try daemon.client(["network", "prune", "-f"])
            #expect(!prune.stdout.contains(busy.name), "\(prune.stdout)")
            let builtin = try Self.delete(daemon, "/networks/bridge")
            #expect(builtin.0 == 403, "\(builtin)")
            #expect(builtin.1.contains("bridge is a pre-defined network and cannot be removed"))

            #expect(try daemon.client(["stop", "-t", "0", "holder"]).status == 0)
            #expect(try daemon.client(["network", "rm", busy.name]).status == 0)
            #expect(try daemon.client(["rm", "holder", "waiting"]).status == 0)
        }
    }

    @Test("container-wide MAC address moves to the endpoint")
    func containerWideMAC() throws {
        try DaemonHarness.withDaemon { daemon in
            let mac = "02:42:0a:ee:00:98"
            let body = #"{"Image": "busybox", "Cmd": ["sleep", "60"], "MacAddress": "\#(mac)"}"#
            let created = try NetworkConnectTests.post(daemon, "/containers/create?name=wide", body)
            #expect(created.0 == 201, "\(created)")
            #expect(created.1.contains("The container-wide MacAddress field is now deprecated"))
            #expect(try daemon.client(["start", "wide"]).status == 0)
            let settings = try #require(try NetworkConnectTests.networks(daemon, "wide")["bridge"])
            #expect(settings["MacAddress"] as? String == mac, "\(settings)")
            let link = try daemon.client(["exec", "wide", "cat", "/sys/class/net/eth0/address"])
            #expect(link.stdout == mac + "\n", "\(link.stdout)\(link.stderr)")
            #expect(try daemon.client(["rm", "-f", "wide"]).status == 0)

            let cases = [
                (#"{"bridge": {"MacAddress": "02:42:0a:ee:00:97"}}"#, "must match the endpoint-specific"),
                (#"{"other": {}}"#, "HostConfig.NetworkMode must match the identity of a network"),
            ]
            for (endpoints, message) in cases {
                let conflicting =
                    #"{"Image": "busybox", "Cmd": ["true"], "MacAddress": "\#(mac)", "#
                    + #""NetworkingConfig": {"EndpointsConfig": \#(endpoints)}}"#
                let rejected = try NetworkConnectTests.post(daemon, "/containers/create", conflicting)
                #expect(rejected.0 == 400, "\(endpoints): \(rejected)")
                #expect(rejected.1.contains(message), "\(rejected.1)")
            }
        }
    }

    @Test("endpoint IDs, MAC addresses and the userland proxy's bind error")
    func endpoints() throws {
        let network = try TestNetwork("macs")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try network.create(daemon)
            let mac = "02:42:0a:ee:00:99"
            let run = try daemon.client(
                [
                    "run", "-d", "--name", "fixed", "--network", network.name, "--mac-address",
                    mac.uppercased(), "busybox", "sleep", "60",
                ])
            #expect(run.status == 0, "\(run.stderr)")
            let settings = try #require(try NetworkConnectTests.networks(daemon, "fixed")[network.name])
            #expect(settings["MacAddress"] as? String == mac, "\(settings)")
            let endpointID = try #require(settings["EndpointID"] as? String)
            #expect(endpointID.count == 64, "\(endpointID)")
            #expect(endpointID.allSatisfy { $0.isHexDigit }, "\(endpointID)")
            let link = try daemon.client(["exec", "fixed", "cat", "/sys/class/net/eth0/address"])
            #expect(link.stdout == mac + "\n", "\(link.stdout)\(link.stderr)")
            let listed = try daemon.client(
                ["network", "inspect", "-f", "{{range .Containers}}{{.EndpointID}}{{end}}", network.name])
            #expect(listed.stdout == endpointID + "\n", "\(listed.stdout)")

            for (bad, reason) in [("zz:00:00:00:00:01", ""), ("01:00:5e:00:00:01", ": a multicast")] {
                let body =
                    #"{"Image": "busybox", "Cmd": ["true"], "NetworkingConfig": {"EndpointsConfig": "#
                    + #"{"bridge": {"MacAddress": "\#(bad)"}}}}"#
                let created = try NetworkConnectTests.post(daemon, "/containers/create", body)
                #expect(created.0 == 400, "\(bad): \(created)")
                #expect(created.1.contains("invalid MAC address \(bad)\(reason)"), "\(created.1)")
            }

            // A port that another program has bound: dockerd's words around its proxy's error.
            let port = Int.random(in: 29000...29999)
            let holder = try Self.hold("tcp", "0.0.0.0", port, seconds: 20)
            defer { holder.process.terminate() }
            let blocked = try daemon.client(
                ["run", "-d", "--name", "blocked", "-p", "\(port):80", "busybox", "sleep", "60"])
            #expect(blocked.status != 0)
            let expected = try #/on endpoint blocked \(([0-9a-f]{64})\): Error starting userland proxy: /#
                .firstMatch(in: blocked.stderr)
            #expect(expected != nil, "\(blocked.stderr)")
            #expect(
                blocked.stderr.contains(
                    "listen tcp4 0.0.0.0:\(port): bind: address already in use"),
                "\(blocked.stderr)")
            #expect(blocked.stderr.hasPrefix(
                "Error response from daemon: driver failed programming external connectivity"))
            #expect(try daemon.client(["rm", "-f", "fixed", "blocked"]).status == 0)
        }
    }

    @Test("add-host takes NAME=IP and bracketed IPv6")
    func extraHostForms() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client(
                [
                    "run", "--rm", "--add-host", "equals=10.1.2.3", "--add-host",
                    "six=[fd00::2]", "--add-host", "gw=host-gateway", "busybox", "cat",
                    "/etc/hosts",
                ])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("10.1.2.3\tequals\n"), "\(run.stdout)")
            #expect(run.stdout.contains("fd00::2\tsix\n"), "\(run.stdout)")
            #expect(run.stdout.contains("\(daemon.gateway)\tgw\n"), "\(run.stdout)")
            let bad = try daemon.client(["run", "--rm", "--add-host", "x=notanip", "busybox", "true"])
            #expect(bad.status == 125)
            #expect(bad.stderr.contains("invalid IP address in add-host: \"notanip\""), "\(bad.stderr)")
        }
    }

    @Test("links on a user network are DNS aliases for the linking container")
    func userNetworkLinks() throws {
        let network = try TestNetwork("linked")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try network.create(daemon)
            let target = try daemon.client(
                ["run", "-d", "--name", "target", "--network", network.name, "busybox", "sleep", "60"])
            #expect(target.status == 0, "\(target.stderr)")
            // A link to a container that does not exist is accepted, as dockerd accepts it.
            let asker = try daemon.client(
                [
                    "run", "-d", "--name", "asker", "--network", network.name, "--link",
                    "target:db", "--link", "ghost:phantom", "-e", "KEEP=1", "busybox", "sleep", "60",
                ])
            #expect(asker.status == 0, "\(asker.stderr)")
            let other = try daemon.client(
                ["run", "-d", "--name", "other", "--network", network.name, "busybox", "sleep", "60"])
            #expect(other.status == 0, "\(other.stderr)")
            let address = try NetworkResolverTests.address(daemon, "target", network.name)

            #expect(try NetworkResolverTests.query(daemon, from: "asker", "udp", "db") == address)
            #expect(
                try NetworkResolverTests.query(daemon, from: "asker", "udp", "db.\(network.name)")
                    == address)
            #expect(try NetworkResolverTests.query(daemon, from: "asker", "udp", "phantom") == "rcode 3")
            #expect(try NetworkResolverTests.query(daemon, from: "other", "udp", "db") == "rcode 3")

            let environment = try daemon.client(["exec", "asker", "env"]).stdout
            #expect(!environment.contains("DB_"), "\(environment)")
            let hosts = try daemon.client(["exec", "asker", "cat", "/etc/hosts"]).stdout
            #expect(!hosts.contains("\tdb"), "\(hosts)")

            // network connect --link gives an alias on the joined network only.
            let second = try TestNetwork("linked2", avoiding: [network])
            defer { second.cleanUp() }
            try second.create(daemon)
            #expect(try daemon.client(["network", "connect", second.name, "target"]).status == 0)
            let connected = try daemon.client(
                ["network", "connect", "--link", "target:store", second.name, "other"])
            #expect(connected.status == 0, "\(connected.stderr)")
            let secondAddress = try NetworkResolverTests.address(daemon, "target", second.name)
            #expect(try NetworkResolverTests.query(daemon, from: "other", "udp", "store") == secondAddress)
            #expect(try NetworkResolverTests.query(daemon, from: "asker", "udp", "store") == "rcode 3")

            let bad = try daemon.client(
                ["run", "--rm", "--network", network.name, "--link", "a:b:c", "busybox", "true"])
            #expect(bad.stderr.contains("bad format for links: a:b:c"), "\(bad.stderr)")
            #expect(try daemon.client(["rm", "-f", "target", "asker", "other"]).status == 0)
            #expect(try daemon.client(["network", "rm", network.name, second.name]).status == 0)
        }
    }

    @Test("internal-only containers get SERVFAIL for outside names")
    func internalDNS() throws {
        let closed = try TestNetwork("closed")
        let open = try TestNetwork("open", avoiding: [closed])
        defer {
            closed.cleanUp()
            open.cleanUp()
        }
        try DaemonHarness.withDaemon { daemon in
            try closed.create(daemon, ["--internal"])
            try open.create(daemon)
            // The name server is a listener on the default bridge's own address.
            for (name, network) in [("inside", closed), ("outside", open)] {
                let run = try daemon.client(
                    [
                        "run", "-d", "--name", name, "--network", network.name, "--dns",
                        daemon.gateway, "busybox", "sleep", "60",
                    ])
                #expect(run.status == 0, "\(run.stderr)")
            }
            let server = try Self.hold("udp", daemon.gateway, 53, seconds: 8)
            defer { server.process.terminate() }
            let inside = try NetworkResolverTests.query(daemon, from: "inside", "udp", "example.test")
            #expect(inside == "rcode 2", "\(inside)")
            let outside = try NetworkResolverTests.query(daemon, from: "outside", "udp", "example.test")
            #expect(outside == "rcode 0", "the control query was not forwarded: \(outside)")
            server.process.waitUntilExit()
            let report = String(
                decoding: server.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Only the control query reached the name server.
            #expect(report.trimmingCharacters(in: .whitespacesAndNewlines) == "got 1", "\(report)")
            #expect(try daemon.client(["rm", "-f", "inside", "outside"]).status == 0)
            #expect(try daemon.client(["network", "rm", closed.name, open.name]).status == 0)
        }
    }
}

extension TestNetwork {
    /// Picks a network whose subnet differs from those of `others`, which need not exist yet.
    init(_ name: String, avoiding others: [TestNetwork]) throws {
        var candidate = try TestNetwork(name)
        while others.contains(where: { $0.prefix == candidate.prefix }) {
            candidate = try TestNetwork(name)
        }
        self = candidate
    }
}
