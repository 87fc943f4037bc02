import Foundation
import Testing

/// `/etc/resolv.conf` and `/etc/hosts` of containers, through the real daemon. No container
/// sends traffic.
@Suite(
    "network files", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkFilesTests {
    @Test("host network applies DNS flags")
    func hostNetworkDNS() throws {
        try DaemonHarness.withDaemon { daemon in
            let hostFile = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
            let plain = try daemon.client(
                ["run", "--rm", "--network", "host", "busybox", "cat", "/etc/resolv.conf"])
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(plain.stdout == hostFile, "without DNS flags the host's file is copied")

            let custom = try daemon.client(
                [
                    "run", "--rm", "--network", "host", "--dns", "10.9.8.7", "--dns-search",
                    "example.test", "--dns-option", "ndots:3", "busybox", "cat",
                    "/etc/resolv.conf",
                ])
            #expect(custom.status == 0, "\(custom.stderr)")
            let lines = custom.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("nameserver 10.9.8.7"), "\(custom.stdout)")
            #expect(lines.filter { $0.hasPrefix("nameserver") }.count == 1, "\(custom.stdout)")
            #expect(lines.contains("search example.test"), "\(custom.stdout)")
            #expect(lines.contains("options ndots:3"), "\(custom.stdout)")

            // With only a search domain, the host's name servers stay, loopback ones included.
            let search = try daemon.client(
                [
                    "run", "--rm", "--network", "host", "--dns-search", "example.test",
                    "busybox", "cat", "/etc/resolv.conf",
                ])
            let hostServers = hostFile.split(separator: "\n").filter {
                $0.hasPrefix("nameserver")
            }
            let servers = search.stdout.split(separator: "\n").filter { $0.hasPrefix("nameserver") }
            #expect(servers == hostServers, "\(search.stdout)")
        }
    }

    @Test("add-host resolves host-gateway, rejects non-IPs")
    func extraHosts() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client(
                [
                    "run", "--rm", "--add-host", "host.docker.internal:host-gateway",
                    "--add-host", "six:fd00::1", "busybox", "cat", "/etc/hosts",
                ])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(
                run.stdout.contains("\(daemon.gateway)\thost.docker.internal"), "\(run.stdout)")
            #expect(run.stdout.contains("fd00::1\tsix"), "\(run.stdout)")

            let cases = [
                ("name:not-an-ip", "invalid IP address in add-host: \\\"not-an-ip\\\""),
                ("noaddress", "bad format for add-host: \\\"noaddress\\\""),
                (":10.1.2.3", "bad format for add-host: \\\":10.1.2.3\\\""),
            ]
            for (entry, message) in cases {
                let body =
                    #"{"Image":"busybox","Cmd":["true"],"#
                    + #""HostConfig":{"ExtraHosts":["\#(entry)"]}}"#
                let created = try NetworkConnectTests.post(daemon, "/containers/create", body)
                #expect(created.0 == 400, "\(entry): \(created)")
                #expect(created.1.contains(message), "\(entry): \(created.1)")
            }
        }
    }

    @Test("line breaks in file entries rejected")
    func controlCharactersRejected() throws {
        let network = try TestNetwork("lines")
        defer { network.cleanUp() }
        try DaemonHarness.withDaemon { daemon in
            try network.create(daemon)
            let cases: [(flags: [String], message: String)] = [
                (["--dns-search", "example.com\nnameserver 10.9.9.9"], "control characters"),
                (["--dns-option", "ndots:1\rattempts:9"], "control characters"),
                (["--add-host", "evil\n10.9.9.9 other:10.1.2.3"], "control characters"),
                (["--hostname", "box\tname"], "control characters"),
                (["--hostname", "box name"], "whitespace"),
                (
                    ["--network", network.name, "--network-alias", "one\n10.9.9.9 two"],
                    "control characters"
                ),
                (["--link", "a:b:c"], "bad format for links"),
                (["--mac-address", "00:00:00:00:00:00"], "invalid MAC address"),
            ]
            for (flags, message) in cases {
                let created = try daemon.client(["create"] + flags + ["busybox", "true"])
                #expect(created.status == 125, "\(flags)")
                #expect(created.stderr.contains(message), "\(flags): \(created.stderr)")
            }
            let listed = try daemon.client(["ps", "-aq"])
            #expect(listed.stdout.isEmpty, "\(listed.stdout)")
            let direct = try NetworkConnectTests.post(
                daemon, "/containers/create",
                #"{"Image": "busybox", "Cmd": ["true"], "HostConfig": {"DnsSearch": ["a\nb"]}}"#)
            #expect(direct.0 == 400, "\(direct.1)")
            #expect(try daemon.client(["network", "rm", network.name]).status == 0)
        }
    }
}
