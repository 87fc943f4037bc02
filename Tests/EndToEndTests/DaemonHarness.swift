import Foundation
import Testing

/// A real daemon on a temporary root, socket, pidfile and bridge, driven through the client.
final class DaemonHarness: @unchecked Sendable {
    // Safe because: a harness belongs to one test, which uses it from one task at a time.

    /// The swiftd binary under test: `SWIFTD_BINARY`, or the one next to the test bundle.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SWIFTD_BINARY"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("swiftd").path
    }

    /// The repository root, for the scripts.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static var isRoot: Bool { geteuid() == 0 }

    let work: String
    let bridge: String
    let subnetPrefix: String
    let socket: String
    let pidfile: String
    let root: String
    private(set) var process: Process?
    private var logHandle: FileHandle?

    /// Creates the harness's directory and picks a bridge name and a /24 that the host does not use.
    init() throws {
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        work = "/tmp/swiftd-e2e-\(token)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        bridge = "swdt\(token.prefix(8))"
        // A /24 that no route and no iptables rule names: the rules of another test's daemon
        // would count as this daemon's.
        let routes = (try? Self.capture("/usr/sbin/ip", ["-4", "route"]).stdout) ?? ""
        let rules = (try? Self.capture("/usr/sbin/iptables-legacy-save", []).stdout) ?? ""
        var prefix: String
        repeat {
            prefix = "10.231.\(Int.random(in: 1...254))"
        } while routes.contains(prefix + ".") || rules.contains(prefix + ".")
        subnetPrefix = prefix
        socket = "\(work)/swiftd.sock"
        pidfile = "\(work)/swiftd.pid"
        root = "\(work)/root"
    }

    var gateway: String { "\(subnetPrefix).1" }

    /// Starts the daemon and waits until its API responds.
    /// `wrapper` is a command that ends by executing its arguments (the daemon's command line),
    /// such as `unshare`: the daemon then keeps the wrapper's pid.
    func start(
        extraArguments: [String] = [], environment: [String: String] = [:], wrapper: [String] = []
    ) throws {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let arguments = [
            "-d", "-H", "unix://\(socket)", "-g", root, "-p", pidfile, "--exec-root", "\(work)/run",
            "-b", bridge, "--bip", "\(gateway)/24", "--log-level", "debug",
        ] + extraArguments
        let command = wrapper + [Self.binary] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        _ = FileManager.default.createFile(atPath: "\(work)/daemon.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(work)/daemon.log"))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        logHandle = log
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !process.isRunning {
                throw HarnessError("the daemon exited with \(process.terminationStatus) at start-up:\n\(daemonLog)")
            }
            if let result = try? client(["version"]), result.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("the daemon did not answer within 20 s:\n\(daemonLog)")
    }

    /// Stops the daemon with SIGTERM and returns its exit status.
    @discardableResult
    func stop() -> Int32? {
        guard let process, process.isRunning else { return process?.terminationStatus }
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

    var daemonLog: String { (try? String(contentsOfFile: "\(work)/daemon.log", encoding: .utf8)) ?? "" }

    /// Kills the daemon with SIGKILL and waits until it is gone.
    func killDaemon() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops the daemon if it still runs, removes what a failed test may have left, and the directory.
    func cleanUp() {
        stop()
        try? logHandle?.close()
        endContainers()
        for point in mountPoints(under: work) { _ = try? Self.capture("/usr/bin/umount", ["-l", point]) }
        _ = try? Self.capture("/usr/sbin/ip", ["link", "delete", bridge])
        Self.deleteRules(naming: bridge)
        try? FileManager.default.removeItem(atPath: work)
    }

    /// Finds the pids of the container monitors in this harness's directory (a monitor's
    /// working directory is its container's).
    func monitorPids() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
            let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            return cwd.hasPrefix(work + "/") && command.hasPrefix("swiftd-monitor")
        }
    }

    /// The name of the cgroup the daemon makes for its containers in each hierarchy:
    /// `swiftd-` and the first 12 hexadecimal digits of the root's engine ID.
    var cgroupName: String? {
        let engine = ((try? String(contentsOfFile: "\(root)/engine-id", encoding: .utf8)) ?? "")
            .filter { $0.isHexDigit }.prefix(12)
        return engine.isEmpty ? nil : "swiftd-\(engine)"
    }

    /// Ends the containers and monitors that a live-restore daemon left running: the processes
    /// in the cgroups named after this root's engine ID, then the monitors.
    func endContainers() {
        if let cgroupName {
            let own = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
            for line in own.split(separator: "\n") {
                let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3 else { continue }
                var hierarchy = fields[1].replacingOccurrences(of: "name=", with: "")
                if hierarchy.isEmpty { hierarchy = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified") ? "unified" : "" }
                let base = "/sys/fs/cgroup/\(hierarchy)\(fields[2])/\(cgroupName)"
                for child in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                    let procs = (try? String(contentsOfFile: "\(base)/\(child)/cgroup.procs", encoding: .utf8)) ?? ""
                    for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
                    for _ in 0..<100 where rmdir("\(base)/\(child)") != 0 { usleep(10_000) }
                }
                rmdir(base)
            }
        }
        for pid in monitorPids() { kill(pid, SIGKILL) }
    }

    /// Deletes the iptables rules that name `bridge`, which a daemon that crashed or was
    /// killed leaves behind. Every rule swiftd writes for a bridge names it.
    static func deleteRules(naming bridge: String) {
        guard let saved = try? capture("/usr/sbin/iptables-legacy-save", []).stdout else { return }
        var table = "filter"
        for line in saved.split(separator: "\n") {
            if line.hasPrefix("*") {
                table = String(line.dropFirst())
            } else if line.hasPrefix("-A "), line.split(separator: " ").contains(Substring(bridge)) {
                let rule = line.dropFirst(3).split(separator: " ").map(String.init)
                _ = try? capture("/usr/sbin/iptables-legacy", ["-w", "-t", table, "-D"] + rule)
            }
        }
    }

    /// Runs the client against this daemon.
    func client(_ arguments: [String], stdin: Data? = nil) throws -> CommandResult {
        try Self.capture(Self.binary, ["-H", "unix://\(socket)"] + arguments, stdin: stdin)
    }

    /// Starts `swiftd events` against this daemon: a job that runs until the client goes away.
    /// The caller terminates the returned process.
    func followEvents() throws -> Process {
        let events = Process()
        events.executableURL = URL(fileURLWithPath: Self.binary)
        events.arguments = ["-H", "unix://\(socket)", "events"]
        events.standardOutput = FileHandle.nullDevice
        events.standardError = FileHandle.nullDevice
        try events.run()
        // Give the subscription time to reach the daemon.
        Thread.sleep(forTimeInterval: 0.5)
        return events
    }

    /// Runs `body` against a started daemon with busybox imported, stops the daemon and checks
    /// that it exited 0; cleans up whatever happens.
    static func withDaemon(_ body: (DaemonHarness) throws -> Void) throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        try harness.importBusybox()
        try body(harness)
        #expect(harness.stop() == 0, "daemon log:\n\(harness.daemonLog)")
    }

    /// Imports the busybox image built from Debian's busybox-static as `busybox:latest`.
    func importBusybox() throws {
        let tar = "\(work)/busybox.tar"
        if !FileManager.default.fileExists(atPath: tar) {
            let built = try Self.capture("\(Self.repository)/scripts/busybox-image.sh", [tar])
            guard built.status == 0 else { throw HarnessError("busybox-image.sh failed: \(built.stderr)") }
        }
        let result = try client(["import", tar, "busybox"])
        guard result.status == 0 else { throw HarnessError("import failed: \(result.stderr)") }
    }

    /// Mount points at or under `prefix`, from /proc/self/mountinfo.
    func mountPoints(under prefix: String) -> [String] {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4])
            return point.hasPrefix(prefix) ? point : nil
        }.sorted { $0.count > $1.count }
    }

    /// Polls `condition` every 50 ms for up to `seconds`; returns whether it came true.
    static func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Runs a program to completion and captures its output.
    static func capture(_ path: String, _ arguments: [String], stdin: Data? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
        // Read both pipes concurrently so a full stderr pipe cannot block the child.
        let errorData = LockedData()
        let reader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { Thread.sleep(forTimeInterval: 0.001) }
        return CommandResult(
            status: process.terminationStatus,
            stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData.value, as: UTF8.self))
    }
}

/// What a command printed and how it exited.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Data handed from a reader thread to the test.
final class LockedData: @unchecked Sendable {
    // Safe because: every access takes `lock`.
    private let lock = NSLock()
    private var data = Data()
    private var done = false

    func set(_ value: Data) {
        lock.lock()
        data = value
        done = true
        lock.unlock()
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    var value: Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}
