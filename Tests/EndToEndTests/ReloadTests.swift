import Foundation
import Testing

/// SIGHUP (`systemctl reload swiftd`): the daemon re-reads its configuration file, applies the
/// log level and keeps serving.
@Suite(
    "reload on SIGHUP", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ReloadTests {
    /// A daemon without networking, configured by `<work>/daemon.json`.
    final class ReloadingDaemon {
        let harness: DaemonHarness
        let process = Process()
        var configFile: String { "\(harness.work)/daemon.json" }
        var logFile: String { "\(harness.work)/daemon.log" }

        init(logLevel: String) throws {
            harness = try DaemonHarness()
            try writeConfig("{\"log-level\": \"\(logLevel)\"}")
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
            process.executableURL = URL(fileURLWithPath: DaemonHarness.binary)
            process.arguments = [
                "-d", "-H", "unix://\(harness.socket)", "-g", harness.root, "-p", harness.pidfile,
                "--exec-root", "\(harness.work)/run", "-b", "none", "--config-file", configFile,
            ]
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if !process.isRunning {
                    throw HarnessError("the daemon exited at start-up:\n\(self.log)")
                }
                if let result = try? harness.client(["version"]), result.status == 0 { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw HarnessError("the daemon did not answer within 20 s:\n\(self.log)")
        }

        var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

        func writeConfig(_ text: String) throws {
            try text.write(toFile: configFile, atomically: true, encoding: .utf8)
        }

        /// Sends SIGHUP and waits until the log has `count` lines containing `marker`.
        func hangUp(waitingFor marker: String, count: Int) throws {
            kill(process.processIdentifier, SIGHUP)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if log.components(separatedBy: marker).count - 1 >= count { return }
                Thread.sleep(forTimeInterval: 0.02)
            }
            throw HarnessError("no \"\(marker)\" line after SIGHUP:\n\(log)")
        }

        /// Runs `swiftd version` and returns the log lines the daemon wrote meanwhile.
        func linesLoggedByVersion() throws -> String {
            let before = log.utf8.count
            let result = try harness.client(["version"])
            #expect(result.status == 0, "\(result.stderr)")
            // The job's log lines are written before the response is sent.
            return String(decoding: Array(log.utf8).dropFirst(before), as: UTF8.self)
        }

        /// Stops the daemon with SIGTERM and returns its exit status (nil if it had to be killed).
        func stop() -> Int32? {
            guard process.isRunning else { return process.terminationStatus }
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        func cleanUp() {
            _ = stop()
            harness.cleanUp()
        }
    }

    @Test("SIGHUP applies the log level")
    func reloadsLogLevel() throws {
        let daemon = try ReloadingDaemon(logLevel: "debug")
        defer { daemon.cleanUp() }
        #expect(try daemon.linesLoggedByVersion().contains("+job version"))

        try daemon.writeConfig("{\"log-level\": \"info\"}")
        try daemon.hangUp(waitingFor: "configuration reloaded", count: 1)
        #expect(daemon.log.contains("log-level=info"))
        let quiet = try daemon.linesLoggedByVersion()
        #expect(!quiet.contains("+job version"), "\(quiet)")

        try daemon.writeConfig("{\"log-level\": \"debug\"}")
        try daemon.hangUp(waitingFor: "configuration reloaded", count: 2)
        #expect(try daemon.linesLoggedByVersion().contains("+job version"))
        #expect(daemon.stop() == 0, "\(daemon.log)")
    }

    @Test("SIGHUP with an invalid file")
    func keepsSettingsOnInvalidFile() throws {
        let daemon = try ReloadingDaemon(logLevel: "debug")
        defer { daemon.cleanUp() }

        try daemon.writeConfig("{\"log-level\": \"loud\"}")
        try daemon.hangUp(waitingFor: "reloading the configuration failed", count: 1)
        #expect(daemon.log.contains("invalid --log-level loud"))
        #expect(try daemon.linesLoggedByVersion().contains("+job version"))
        #expect(daemon.stop() == 0, "\(daemon.log)")
    }

    @Test("SIGHUP with a restart-only setting")
    func warnsAboutRestartSettings() throws {
        let daemon = try ReloadingDaemon(logLevel: "info")
        defer { daemon.cleanUp() }

        try daemon.writeConfig("{\"log-level\": \"info\", \"mtu\": 1400}")
        try daemon.hangUp(waitingFor: "configuration reloaded", count: 1)
        #expect(daemon.log.contains("take effect at the next restart"))
        #expect(try daemon.harness.client(["version"]).status == 0)
    }
}
