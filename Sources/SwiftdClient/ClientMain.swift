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
            if let topic = arguments.first, let text = CommandHelp.texts[topic] {
                print(text)
            } else {
                print(usage)
            }
            return 0
        }
        if let text = CommandHelp.texts[command], CommandHelp.isRequested(command: command, arguments: Array(arguments)) {
            print(text)
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
            switch command {
            case "run": return try client.run(Array(arguments))
            case "create": return try client.create(Array(arguments))
            case "start": return try client.start(Array(arguments))
            case "ps": return try client.ps(Array(arguments))
            case "logs": return try client.logs(Array(arguments))
            case "stop": return try client.stop(Array(arguments))
            case "kill": return try client.kill(Array(arguments))
            case "wait": return try client.wait(Array(arguments))
            case "rm": return try client.rm(Array(arguments))
            case "inspect": return try client.inspect(Array(arguments))
            case "images": return try client.images(Array(arguments))
            case "import": return try client.importImage(Array(arguments))
            case "version": return try client.version(Array(arguments))
            case "info": return try client.info(Array(arguments))
            case "events": return try client.events(Array(arguments))
            case "rmi": return try client.rmi(Array(arguments))
            case "tag": return try client.tag(Array(arguments))
            case "restart": return try client.restart(Array(arguments))
            case "rename": return try client.rename(Array(arguments))
            case "update": return try client.update(Array(arguments))
            case "port": return try client.port(Array(arguments))
            case "network": return try client.network(Array(arguments))
            case "pause", "unpause": return try client.pause(Array(arguments), action: command)
            case "exec": return try client.exec(Array(arguments))
            case "attach": return try client.attach(Array(arguments))
            case "volume": return try client.volume(Array(arguments))
            case "top": return try client.top(Array(arguments))
            case "stats": return try client.stats(Array(arguments))
            case "save": return try client.save(Array(arguments))
            case "load": return try client.load(Array(arguments))
            case "pull": return try client.pull(Array(arguments))
            case "push": return try client.push(Array(arguments))
            case "login": return try client.login(Array(arguments))
            case "logout": return try client.logout(Array(arguments))
            case "search": return try client.search(Array(arguments))
            case "export": return try client.export(Array(arguments))
            case "cp": return try client.copy(Array(arguments))
            case "diff": return try client.diff(Array(arguments))
            case "commit": return try client.commit(Array(arguments))
            case "history": return try client.history(Array(arguments))
            default: return usageError("unknown command: \(command)")
            }
        } catch let error as UsageFailure {
            return usageError(error.message)
        } catch let error as DaemonFailure {
            return fail("Error response from daemon: \(error.message)", status: error.exitStatus)
        } catch let error as APIClient.ConnectError {
            return fail("\(error)", status: error.isTLSFailure ? 125 : 1)
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
          run       Create and start a container, and show its output
          create    Create a container
          start     Start a stopped container
          exec      Run a command in a running container
          ps        List containers
          port      List a container's published ports
          network   Create, list, inspect and remove networks
          logs      Show a container's output
          stop      Stop running containers
          kill      Send a signal to running containers
          wait      Wait for containers to stop and print their exit codes
          restart   Restart containers
          rename    Rename a container
          update    Change the limits and restart policy of containers
          pause     Freeze the processes of containers
          unpause   Thaw paused containers
          rm        Remove containers
          inspect   Show low-level information on containers or images
          images    List images
          import    Create an image from a tar archive
          tag       Add a name to an image
          save      Write images to a tar archive
          load      Read images from a tar archive
          history   Show how an image was made
          commit    Create an image from a container's changes
          diff      List a container's changed files
          export    Write a container's file system to a tar archive
          cp        Copy files between a container and the local file system
          rmi       Remove images
          version   Show the client and daemon versions
          info      Show daemon-wide information
          events    Show events from the daemon as they happen
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

/// A wrong command line: exit 125 with the message.
struct UsageFailure: Error {
    var message: String
}

/// An error response from the daemon. `exitStatus` follows the docker CLI: 1, 125, 126 or 127.
struct DaemonFailure: Error {
    var message: String
    var exitStatus: Int32 = 125
}
