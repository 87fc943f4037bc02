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

/// Requests that arrive while the daemon still loads its containers.
@Suite("early requests", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct EarlyRequestTests {
    /// Starts `curl` on the daemon's socket for `path`, printing the body and then the status.
    func startCurl(_ harness: DaemonHarness, _ path: String, output: Pipe) throws -> Process {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = [
            "-s", "--max-time", "30", "-w", " %{http_code}", "--unix-socket", harness.socket, "http://x\(path)",
        ]
        curl.standardOutput = output
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        return curl
    }

    /// Waits up to `seconds` for `process` to exit, and reports whether it did.
    func waitForExit(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }

    @Test("requests wait for the daemon to load")
    func requestsWaitForLoad() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        try harness.importBusybox()
        let created = try harness.client(["create", "--name", "early", "busybox", "true"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(harness.stop() == 0)

        // The load reads each container's config.v2.json. Made a FIFO, the record blocks the
        // load (as a slow disk would) until the test writes it, so the requests below are sent
        // while the daemon is certainly still loading.
        let record = "\(harness.root)/containers/\(id)/config.v2.json"
        let recordBytes = try Data(contentsOf: URL(fileURLWithPath: record))
        try FileManager.default.removeItem(atPath: record)
        #expect(mkfifo(record, 0o600) == 0)
        var recordWritten = false
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: DaemonHarness.binary)
        daemon.arguments = [
            "-d", "-H", "unix://\(harness.socket)", "-g", harness.root, "-p", harness.pidfile,
            "--exec-root", "\(harness.work)/run", "-b", harness.bridge, "--bip", "\(harness.gateway)/24",
        ]
        let logPath = "\(harness.work)/early.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? log.close() }
        daemon.standardOutput = log
        daemon.standardError = log
        daemon.standardInput = FileHandle.nullDevice
        try daemon.run()
        defer {
            // After a failure the daemon may still wait on the FIFO, so release it, then stop.
            if !recordWritten {
                let fd = open(record, O_WRONLY | O_NONBLOCK)
                if fd >= 0 { close(fd) }
            }
            if daemon.isRunning {
                kill(daemon.processIdentifier, SIGTERM)
                if !waitForExit(daemon, seconds: 20) { kill(daemon.processIdentifier, SIGKILL) }
            }
        }
        func daemonLog() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        // /_ping does not wait for the load, so its response shows the API is up.
        var ping = CommandResult(status: -1, stdout: "", stderr: "")
        for _ in 0..<200 where ping.stdout != "OK 200" {
            Thread.sleep(forTimeInterval: 0.05)
            ping = try DaemonHarness.capture("/usr/bin/curl", [
                "-s", "--max-time", "5", "-w", " %{http_code}", "--unix-socket", harness.socket, "http://x/_ping",
            ])
        }
        #expect(ping.stdout == "OK 200", "\(daemonLog())")

        let listOutput = Pipe()
        let pingOutput = Pipe()
        let list = try startCurl(harness, "/v1.45/containers/json?all=1", output: listOutput)
        defer { if list.isRunning { list.terminate() } }
        let earlyPing = try startCurl(harness, "/v1.45/_ping", output: pingOutput)
        #expect(waitForExit(earlyPing, seconds: 10))
        let pingBody = String(decoding: pingOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(pingBody == "OK 200")

        // The list waits at the gate as long as the load does.
        Thread.sleep(forTimeInterval: 1)
        #expect(list.isRunning)
        #expect(!daemonLog().contains("daemon ready"), "\(daemonLog())")

        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: record))
        writer.write(recordBytes)
        try writer.close()
        recordWritten = true
        #expect(waitForExit(list, seconds: 20))
        let listBody = String(decoding: listOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(listBody.hasSuffix(" 200"), "\(listBody)")
        #expect(listBody.contains("\"Id\":\"\(id)\""), "\(listBody)")
        #expect(daemonLog().contains("daemon ready"), "\(daemonLog())")

        kill(daemon.processIdentifier, SIGTERM)
        #expect(waitForExit(daemon, seconds: 30))
        #expect(daemon.terminationStatus == 0, "\(daemonLog())")
    }
}
