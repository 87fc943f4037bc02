import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// User-defined networks across a live restore: a daemon started with `--live-restore` and
/// stopped with SIGTERM leaves its containers running, and the next daemon takes back their
/// names and endpoints. Every query names a test container, which the embedded DNS server
/// answers itself.
@Suite(
    "network live restore", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkLiveRestoreTests {
    @Test("user network survives live restore")
    func userNetworkKept() throws {
        let daemon = try DaemonHarness()
        let first = try TestNetwork("kept-\(UInt32.random(in: 0...UInt32.max))")
        let second = try TestNetwork("joined-\(UInt32.random(in: 0...UInt32.max))")
        defer {
            daemon.cleanUp()
            for network in [first, second] {
                network.cleanUp()
                DaemonHarness.deleteRules(naming: network.bridge)
            }
        }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        try first.create(daemon)
        try second.create(daemon)
        for name in ["alpha", "beta"] {
            let run = try daemon.client(
                ["run", "-d", "--name", name, "--network", first.name, "busybox", "sleep", "300"])
            try #require(run.status == 0, "\(run.stderr)")
        }
        let gamma = try daemon.client(
            ["run", "-d", "--name", "gamma", "--network", second.name, "busybox", "sleep", "300"])
        try #require(gamma.status == 0, "\(gamma.stderr)")
        let alpha = try NetworkResolverTests.address(daemon, "alpha", first.name)
        let beta = try NetworkResolverTests.address(daemon, "beta", first.name)
        #expect(try NetworkResolverTests.query(daemon, from: "beta", "udp", "alpha") == alpha)
        let alphaPid = try LiveRestoreTests.inspect(daemon, "alpha", "{{.State.Pid}}")

        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
        #expect(kill(try #require(Int32(alphaPid)), 0) == 0, "alpha died with its daemon")
        try daemon.start(extraArguments: ["--live-restore"])
        #expect(try LiveRestoreTests.inspect(daemon, "alpha", "{{.State.Pid}}") == alphaPid)

        // Names resolve again, through the server of the new daemon.
        let resolved = try DaemonHarness.eventually(5) {
            try NetworkResolverTests.query(daemon, from: "beta", "udp", "alpha") == alpha
        }
        #expect(resolved, "\(daemon.daemonLog)")
        #expect(try NetworkResolverTests.query(daemon, from: "alpha", "tcp", "beta") == beta)
        let lookup = try daemon.client(["exec", "beta", "nslookup", "alpha", "127.0.0.11"])
        #expect(lookup.stdout.contains("Address: \(alpha)"), "\(lookup.stdout)")

        // Connect and disconnect work on the restored container.
        let connected = try daemon.client(["network", "connect", second.name, "alpha"])
        #expect(connected.status == 0, "\(connected.stderr)")
        let alphaJoined = try NetworkResolverTests.address(daemon, "alpha", second.name)
        #expect(alphaJoined.hasPrefix(second.prefix + "."), "\(alphaJoined)")
        #expect(try NetworkResolverTests.query(daemon, from: "gamma", "udp", "alpha") == alphaJoined)
        let ping = try daemon.client(["exec", "gamma", "ping", "-c", "1", "-W", "2", "alpha"])
        #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")
        let left = try daemon.client(["network", "disconnect", second.name, "alpha"])
        #expect(left.status == 0, "\(left.stderr)")
        #expect(try NetworkResolverTests.query(daemon, from: "gamma", "udp", "alpha") == "rcode 3")

        // Disconnected from the network it kept across the restart, and connected again.
        let away = try daemon.client(["network", "disconnect", first.name, "alpha"])
        #expect(away.status == 0, "\(away.stderr)")
        #expect(try NetworkResolverTests.query(daemon, from: "beta", "udp", "alpha") == "rcode 3")
        let back = try daemon.client(["network", "connect", first.name, "alpha"])
        #expect(back.status == 0, "\(back.stderr)")
        let alphaBack = try NetworkResolverTests.address(daemon, "alpha", first.name)
        #expect(try NetworkResolverTests.query(daemon, from: "beta", "udp", "alpha") == alphaBack)
        #expect(try NetworkResolverTests.query(daemon, from: "alpha", "udp", "beta") == beta)

        #expect(try daemon.client(["rm", "-f", "alpha", "beta", "gamma"]).status == 0)
        #expect(try daemon.client(["network", "rm", first.name, second.name]).status == 0)
        #expect(try first.rules().isEmpty)
        #expect(try second.rules().isEmpty)
    }
}
