import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Tests of the host network after a daemon is killed with SIGKILL: the next start and its
/// clean stop remove what the killed daemon left. Traffic stays on the test's bridges.
@Suite(
    "network recovery", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, bridges and iptables"))
struct NetworkRecoveryTests {
    @Test("SIGKILL leftovers removed by next start")
    func killedDaemonCleanedUp() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let network = try TestNetwork("recovery-\(UInt32.random(in: 0...UInt32.max))")
        defer {
            network.cleanUp()
            DaemonHarness.deleteRules(naming: network.bridge)
        }
        try daemon.start()
        try daemon.importBusybox()
        try network.create(daemon)
        let onBridge = try daemon.client(
            ["run", "-d", "-p", "127.0.0.1::80", "busybox", "sleep", "60"])
        #expect(onBridge.status == 0, "\(onBridge.stderr)")
        let onNetwork = try daemon.client(
            ["run", "-d", "--network", network.name, "-p", "127.0.0.1::81", "busybox", "sleep", "60"])
        #expect(onNetwork.status == 0, "\(onNetwork.stderr)")
        let veths = try Self.links(on: daemon.bridge) + Self.links(on: network.bridge)
        #expect(veths.count == 2, "\(veths)")
        let id = onNetwork.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let settings = try daemon.client(["inspect", "-f", "{{json .NetworkSettings.Networks}}", id])
        let networks = try JSONSerialization.jsonObject(with: Data(settings.stdout.utf8))
        let address =
            ((networks as? [String: Any])?[network.name] as? [String: Any])?["IPAddress"]
            as? String ?? ""
        #expect(address.hasPrefix(network.prefix + "."), "\(address)")

        let pid = try #require(daemon.process?.processIdentifier)
        kill(pid, SIGKILL)
        daemon.process?.waitUntilExit()
        #expect(!(try Self.rules(naming: daemon.bridge)).isEmpty, "the killed daemon left no rules")

        try daemon.start()
        // The killed container's lease on the user-defined network was released.
        let reuse = try daemon.client(
            ["run", "--rm", "--network", network.name, "--ip", address, "busybox", "true"])
        #expect(reuse.status == 0, "\(reuse.stderr)")
        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
        let names = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        for veth in veths {
            #expect(!names.contains("\(veth)@"), "\(veth) left")
            #expect(!names.contains("\(veth):"), "\(veth) left")
        }
        #expect(!names.contains(daemon.bridge), "\(daemon.daemonLog)")
        #expect(try Self.rules(naming: daemon.bridge).isEmpty)
        #expect(try Self.rules(naming: network.bridge).isEmpty)
        let nat = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", ["-t", "nat"]).stdout
        #expect(!nat.contains("\(network.prefix)."), "\(nat)")
    }

    /// Returns the names of the links attached to `bridge`.
    static func links(on bridge: String) throws -> [String] {
        try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", "master", bridge]).stdout
            .split(separator: "\n").compactMap { line in
                line.split(separator: ":").dropFirst().first.map {
                    String($0.trimmingCharacters(in: .whitespaces).split(separator: "@")[0])
                }
            }
    }

    /// Returns the iptables rules, of every table, that name `bridge`.
    static func rules(naming bridge: String) throws -> [String] {
        try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
            .split(separator: "\n").map(String.init).filter { $0.contains(bridge) }
    }
}
