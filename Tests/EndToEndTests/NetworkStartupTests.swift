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
}
