import Foundation
import SwiftdAPI
import SwiftdSystem

/// `swiftd COMMAND`: the client side, talking to the daemon over its socket.
public enum ClientMain {
    /// Runs a client command and returns the process's exit status.
    public static func run(_ arguments: [String]) -> Int32 {
        var arguments = arguments[...]
        let environment = ProcessInfo.processInfo.environment
        var options = GlobalOptions(environment: environment)
        while let first = arguments.first, first.hasPrefix("-") {
            arguments.removeFirst()
            switch first {
            case "-h", "--help":
                print(usage)
                return 0
            case "-v", "--version":
                print("swiftd version \(clientVersion)")
                return 0
            default:
                do {
                    guard try options.apply(first, &arguments) else { return usageError("unknown flag: \(first)") }
                } catch {
                    return usageError(error.message)
                }
            }
        }
        guard let command = arguments.popFirst() else {
            print(usage)
            return 0
        }
        if command == "help" {
            let topic = arguments.prefix(2).joined(separator: " ")
            print(CommandHelp.text(for: topic) ?? arguments.first.flatMap { CommandHelp.text(for: $0) } ?? usage)
            return 0
        }
        guard let entry = commands.first(where: { $0.name == command }) else {
            return usageError("unknown command: \(command)")
        }
        let help = entry.helpRequest(Array(arguments))
        if help.requested {
            print(CommandHelp.text(for: help.topic) ?? usage)
            return 0
        }
        let endpoint: APIClient.Endpoint
        do {
            endpoint = try options.endpoint(environment: environment)
        } catch {
            return fail("swiftd: \(error)", status: 125)
        }
        let client = Commands(client: APIClient(endpoint: endpoint))
        do {
            return try entry.handler(client, Array(arguments))
        } catch is HelpRequest {
            print(CommandHelp.text(for: help.topic) ?? usage)
            return 0
        } catch let error as UsageFailure {
            return usageError(error.message)
        } catch let error as LocalFailure {
            return fail("swiftd: \(error.message)", status: 125)
        } catch let error as DaemonFailure {
            return fail("Error response from daemon: \(error.message)", status: error.exitStatus)
        } catch let error as APIClient.ConnectError {
            return fail("\(error)", status: error.exitStatus)
        } catch {
            return fail("\(error)", status: 1)
        }
    }

    static let clientVersion = "0.1.0"

    static let usage = """
        Usage: swiftd [OPTIONS] COMMAND
               swiftd -d [DAEMON OPTIONS]    (run the daemon; see swiftd -d --help)

        A container engine that serves the Docker Engine API.

        Options:
          -H, --host ADDRESS   Daemon socket (default unix:///run/swiftd.sock, or $SWIFTD_HOST,
                               or $DOCKER_HOST): unix://PATH or tcp://HOST:PORT
              --tls            Use TLS for a tcp:// address (implied by --tlsverify)
              --tlsverify      Use TLS and verify the daemon's certificate (or $DOCKER_TLS_VERIFY)
              --tlscacert FILE CA certificate to verify the daemon with
                               (default $DOCKER_CERT_PATH/ca.pem)
              --tlscert FILE   Client certificate (default $DOCKER_CERT_PATH/cert.pem)
              --tlskey FILE    Client certificate's key (default $DOCKER_CERT_PATH/key.pem)
          -h, --help           Print this help
          -v, --version        Print the client version

        Commands:
        \(commandList)

        Run 'swiftd COMMAND --help' for more information on a command.
        """

    static func usageError(_ message: String) -> Int32 {
        writeStderr("swiftd: \(message)\nSee 'swiftd --help'.\n")
        return 125
    }

    static func fail(_ message: String, status: Int32) -> Int32 {
        writeStderr("\(message)\n")
        return status
    }
}

/// Writes text to standard error.
func writeStderr(_ text: String) {
    try? FileSystem.writeAll(2, Array(text.utf8))
}

/// Writes bytes to standard output unbuffered, so they interleave with stderr as produced.
func writeStdout(_ bytes: some Collection<UInt8>) {
    try? FileSystem.writeAll(1, Array(bytes))
}

/// A `--help` or `-h` that a command's flag parser met among its options.
struct HelpRequest: Error {}

/// A wrong command line: exit 125 with the message.
struct UsageFailure: Error {
    var message: String
}

/// A failure on the client's side before any request, such as an unreadable `--env-file`:
/// one line and exit 125, without the usage hint.
struct LocalFailure: Error {
    var message: String

    init(_ message: String) { self.message = message }
}

/// An error response from the daemon. `exitStatus` follows the docker CLI: 1, 125, 126 or 127.
struct DaemonFailure: Error {
    var message: String
    var exitStatus: Int32 = 125
}
