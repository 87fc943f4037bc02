import Foundation
import SwiftdIPTables
import SwiftdNetlink

@testable import SwiftdNetwork

/// Helpers for the privileged tests: commands, namespaces and cleanup.
enum TestSupport {
    static var isRoot: Bool { getuid() == 0 }

    /// Runs `arguments` (the first is an absolute path or a name on PATH) and returns its exit
    /// status and standard output.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `count` random lowercase hex digits.
    static func hex(_ count: Int) -> String {
        String((0..<count).map { _ in "0123456789abcdef".randomElement() ?? "0" })
    }

    /// Returns the lines of `iptables-legacy-save` that mention `word`.
    static func savedRules(mentioning word: String) throws -> [String] {
        try run(["iptables-legacy-save"]).output.split(separator: "\n").map(String.init)
            .filter { $0.contains(word) }
    }

    /// Deletes the bridge and its rules, whatever state a failed test left them in.
    static func removeBridge(_ name: String) {
        _ = try? NetlinkSocket().deleteLink(named: name)
        _ = try? BridgeRules.remove(bridge: name)
    }
}

/// A process in a new network namespace (`unshare -n sleep 60`), killed by `stop()`.
final class NetworkNamespaceProcess {
    let process = Process()
    var pid: Int32 { process.processIdentifier }

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-n", "sleep", "60"]
        try process.run()
        // unshare enters the namespace after it starts: wait until the link differs.
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        for _ in 0..<500 {
            let theirs = try? FileManager.default.destinationOfSymbolicLink(
                atPath: "/proc/\(pid)/ns/net")
            if let theirs, theirs != own { return }
            usleep(2000)
        }
        stop()
        throw SwiftdTestError("process \(pid) did not enter a new network namespace")
    }

    /// Runs a command inside the namespace with nsenter.
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try TestSupport.run(["nsenter", "-t", "\(pid)", "-n"] + arguments)
    }

    func stop() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct SwiftdTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
