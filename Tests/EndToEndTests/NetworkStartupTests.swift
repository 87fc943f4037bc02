import Foundation
import Testing

/// The default bridge flags at daemon start-up, against the real daemon. No container runs.
@Suite(
    "network start-up", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for bridges and iptables"))
struct NetworkStartupTests {
    @Test("missing -b bridge fails start-up")
    func missingBridgeRejected() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let missing = "swdm" + String(UInt32.random(in: 0...UInt32.max), radix: 16).prefix(8)
        defer { _ = try? DaemonHarness.capture("/usr/sbin/ip", ["link", "delete", missing]) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonHarness.binary)
        process.arguments = [
            "-d", "-H", "unix://\(daemon.socket)", "-g", daemon.root, "-p", daemon.pidfile,
            "--exec-root", "\(daemon.work)/run", "-b", missing,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)

        #expect(process.terminationStatus != 0, "\(log)")
        #expect(
            log.contains("bridge device with non default name \(missing) must be created manually"),
            "\(log)")
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!links.contains(missing), "the daemon created \(missing)")
        let rules = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        #expect(!rules.contains(missing), "\(rules)")
    }

    @Test("killed daemon's bridge replaced at next start")
    func previousBridgeReplaced() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        // Only its bridge name and free /24 are used: it is the next run's -b and --bip.
        let next = try TestNetwork("next")
        defer {
            next.cleanUp()
            DaemonHarness.deleteRules(naming: next.bridge)
        }
        func rules(naming bridge: String) throws -> [String] {
            try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
                .split(separator: "\n").map(String.init).filter { $0.contains(bridge) }
        }
        func addresses(of bridge: String) throws -> String {
            try DaemonHarness.capture("/usr/sbin/ip", ["-4", "-o", "address", "show", bridge])
                .stdout
        }
        try daemon.start()
        try daemon.importBusybox()
        let hostPort = Int.random(in: 25000...25999)
        let run = try daemon.client([
            "run", "-d", "--name", "old", "-p", "\(hostPort):80", "busybox", "sleep", "300",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try rules(naming: daemon.bridge).contains { $0.contains("DNAT") })
        daemon.killDaemon()

        // swiftd made the bridge, so another --bip gives it the new address.
        try daemon.start(extraArguments: ["--bip", "\(next.prefix).1/24"])
        let moved = try addresses(of: daemon.bridge)
        #expect(moved.contains("\(next.prefix).1/24"), "\(moved)")
        #expect(!moved.contains("\(daemon.gateway)/"), "\(moved)")
        daemon.killDaemon()

        try daemon.start(extraArguments: ["-b", next.bridge, "--bip", "\(next.prefix).1/24"])
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!links.contains("\(daemon.bridge):"), "the old bridge is still there")
        #expect(links.contains("\(next.bridge):"), "\(links)")
        let left = try rules(naming: daemon.bridge)
        #expect(left.isEmpty, "\(left)")
        #expect(try daemon.client(["rm", "-f", "old"]).status == 0)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
        let after = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!after.contains("\(next.bridge):"), "\(after)")
    }
}
