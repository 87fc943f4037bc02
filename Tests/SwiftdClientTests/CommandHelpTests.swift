import Foundation
import Testing

@testable import SwiftdClient

/// `--help` of every command and subcommand, run through the built binary against a socket
/// path that does not exist, so any request to a daemon would fail the command.
@Suite("CommandHelp")
struct CommandHelpTests {
    /// The swiftd binary under test: `SWIFTD_BINARY`, or the one next to the test bundle.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SWIFTD_BINARY"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("swiftd").path
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func swiftd(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-H", "unix:///nonexistent/swiftd-help-test.sock"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Help texts are far below a pipe's capacity, so reading one pipe after the other is safe.
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Every command name and every `group subcommand` pair, with each alias.
    static var topics: [[String]] {
        var topics: [[String]] = []
        for command in ClientMain.commands {
            topics.append([command.name])
            for names in command.subcommands {
                for name in names { topics.append([command.name, name]) }
            }
        }
        return topics
    }

    @Test("every command prints its help")
    func everyCommandHelp() throws {
        for topic in Self.topics {
            let result = try swiftd(topic + ["--help"])
            let label = topic.joined(separator: " ")
            #expect(result.status == 0, "\(label) --help: \(result.stderr)")
            #expect(result.stderr.isEmpty, "\(label) --help: \(result.stderr)")
            // An alias (`network list`) prints the help of its first spelling (`network ls`).
            let command = ClientMain.commands.first { $0.name == topic[0] }
            let canonical =
                topic.count == 1
                ? topic
                : [topic[0], command?.subcommands.first { $0.contains(topic[1]) }?[0] ?? ""]
            let usage = "Usage: swiftd \(canonical.joined(separator: " "))"
            #expect(
                result.stdout.hasPrefix(usage),
                "\(label) --help printed: \(result.stdout.prefix(80))")
        }
    }

    @Test("help flag after arguments")
    func helpAfterArguments() throws {
        let cases: [[String]] = [
            ["stats", "--no-stream", "--help"], ["attach", "box", "--help"],
            ["volume", "ls", "-q", "--help"],
            ["network", "create", "--subnet", "10.9.0.0/24", "--help"], ["top", "--help", "box"],
            ["run", "--name", "box", "--help", "busybox"], ["ps", "-h"], ["volume", "--help"],
        ]
        for arguments in cases {
            let result = try swiftd(arguments)
            let label = arguments.joined(separator: " ")
            #expect(result.status == 0, "\(label): \(result.stderr)")
            #expect(
                result.stdout.hasPrefix("Usage: swiftd "),
                "\(label) printed: \(result.stdout.prefix(80))")
        }
    }

    @Test("help flag inside container command")
    func helpInsideCommand() throws {
        // After the image or container, --help and -h belong to the container's command, so the
        // client goes on to the daemon and fails to reach it.
        for arguments in [
            ["run", "busybox", "ls", "--help"], ["exec", "box", "ls", "-h"],
            ["top", "box", "--help"],
        ] {
            let result = try swiftd(arguments)
            #expect(result.status != 0, "\(arguments.joined(separator: " ")) printed help")
        }
    }

    @Test("top-level help lists commands")
    func topLevelHelpLists() throws {
        let result = try swiftd(["--help"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map {
            $0.split(separator: " ").first.map(String.init) ?? ""
        }
        for command in ClientMain.commands {
            #expect(lines.contains(command.name), "swiftd --help does not list \(command.name)")
        }
    }

    @Test("help topic after help")
    func helpCommandTopic() throws {
        let result = try swiftd(["help", "network", "create"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("Usage: swiftd network create"))
    }
}
