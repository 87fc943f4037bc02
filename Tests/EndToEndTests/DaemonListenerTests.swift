import Foundation
import Testing

/// Listening sockets passed as systemd passes them (`fd://`), through scripts/socket-activate.py.
@Suite("socket activation", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct SocketActivationTests {
    /// A daemon started by the activator script, detached from the test process as systemd is
    /// not its parent either.
    struct Activation {
        let harness: DaemonHarness
        let activator: Int32
        /// The file the activator writes the daemon's exit status to.
        let statusFile: String
        /// The daemon's standard output and error.
        let logFile: String

        /// Starts the daemon with `-H host` and the unix sockets `sockets` (`PATH` or
        /// `PATH=NAME`, as socket-activate.py takes them).
        init(_ harness: DaemonHarness, sockets: [String], host: String) throws {
            self.harness = harness
            statusFile = "\(harness.work)/activated.status"
            logFile = "\(harness.work)/activated.log"
            let command = [
                "/usr/bin/python3", "\(DaemonHarness.repository)/scripts/socket-activate.py",
                sockets.joined(separator: ","), statusFile,
                DaemonHarness.binary, "-d", "-H", host, "-g", harness.root, "-p", harness.pidfile,
                "--exec-root", "\(harness.work)/run", "-b", "none",
            ].map { "'\($0)'" }.joined(separator: " ")
            // NOTE: system(3), not Foundation.Process: Process.waitUntilExit never returned for
            // a shell that left a background child (swift-corelibs-foundation in Swift 6.3.1).
            let pidFile = "\(harness.work)/activator.pid"
            guard system("\(command) >'\(logFile)' 2>&1 </dev/null & echo $! > '\(pidFile)'") == 0 else {
                throw HarnessError("starting socket-activate.py failed")
            }
            let text = try String(contentsOfFile: pidFile, encoding: .utf8)
            guard let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw HarnessError("socket-activate.py wrote no pid: \(text)")
            }
            activator = pid
        }

        /// Waits up to 10 s for the daemon to exit and returns the status the activator wrote.
        func exitStatus() -> String? {
            var status: String?
            for _ in 0..<200 where status == nil {
                Thread.sleep(forTimeInterval: 0.05)
                status = try? String(contentsOfFile: statusFile, encoding: .utf8)
            }
            return status
        }

        var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

        /// Stops the daemon (it may still run as the activator's child after a failure) and the
        /// activator.
        func stop() {
            if let text = try? String(contentsOfFile: harness.pidfile, encoding: .utf8),
                let daemon = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(daemon, SIGTERM)
                for _ in 0..<100 where kill(daemon, 0) == 0 { Thread.sleep(forTimeInterval: 0.05) }
                kill(daemon, SIGKILL)
            }
            kill(activator, SIGKILL)
        }
    }

    /// Runs `swiftd version` against `socket` until it succeeds, for at most 5 s.
    func waitForVersion(_ harness: DaemonHarness, socket: String) throws -> CommandResult {
        var version = CommandResult(status: -1, stdout: "", stderr: "")
        for _ in 0..<100 where version.status != 0 {
            Thread.sleep(forTimeInterval: 0.05)
            version = try DaemonHarness.capture(DaemonHarness.binary, ["-H", "unix://\(socket)", "version"])
        }
        return version
    }

    @Test("fd:// serves a socket passed in LISTEN_FDS")
    func passedSocket() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let activation = try Activation(harness, sockets: [harness.socket], host: "fd://")
        defer { activation.stop() }
        let version = try waitForVersion(harness, socket: harness.socket)
        #expect(version.status == 0, "\(version.stderr)\n\(activation.log)")
        #expect(version.stdout.contains("API version:      1.45"))
        kill(activation.activator, SIGTERM)
        #expect(activation.exitStatus() == "0\n")
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
    }

    @Test("fd://NAME serves only the named socket")
    func namedSocket() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let other = "\(harness.work)/other.sock"
        let activation = try Activation(
            harness, sockets: ["\(other)=other", "\(harness.socket)=api"], host: "fd://api")
        defer { activation.stop() }
        let version = try waitForVersion(harness, socket: harness.socket)
        #expect(version.status == 0, "\(version.stderr)\n\(activation.log)")
        #expect(activation.log.contains("API listen on fd://4 (api)"), "\(activation.log)")
        #expect(!activation.log.contains("(other)"), "\(activation.log)")

        // The other socket still accepts into its backlog, but no request on it gets a response.
        let ping = try DaemonHarness.capture("/usr/bin/curl", [
            "-s", "--max-time", "2", "--unix-socket", other, "http://x/_ping",
        ])
        #expect(ping.status != 0)
        #expect(ping.stdout.isEmpty)
        kill(activation.activator, SIGTERM)
        #expect(activation.exitStatus() == "0\n")
    }

    @Test("fd://NAME without a match exits 1", arguments: ["fd://nosuch", "fd://7"])
    func unmatchedName(_ host: String) throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let activation = try Activation(harness, sockets: ["\(harness.socket)=api"], host: host)
        defer { activation.stop() }
        #expect(activation.exitStatus() == "1\n")
        let lines = activation.log.split(separator: "\n")
        #expect(lines.count == 1, "\(activation.log)")
        #expect(activation.log.contains("invalid -H \(host)"), "\(activation.log)")
        #expect(activation.log.contains("passed: api"), "\(activation.log)")
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
    }
}
