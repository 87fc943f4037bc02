import SwiftdSystem

/// The daemon's settings, from its command-line flags.
public struct DaemonConfiguration: Sendable, Equatable {
    /// API addresses (`-H`); only `unix://` is served so far.
    public var hosts: [String] = ["unix:///run/swiftd.sock"]
    /// The data root (`-g`, `--graph`, `--data-root`).
    public var root = "/var/lib/swiftd"
    /// Run-time state such as the container init's files (`--exec-root`).
    public var execRoot = "/run/swiftd"
    public var pidfile = "/run/swiftd.pid"
    /// The default bridge (`-b`); `none` disables networking.
    public var bridge = "swiftd0"
    /// The bridge's address and prefix (`--bip`), such as `172.17.0.1/16`.
    public var bridgeIP: String?
    public var iptables = true
    public var ipForward = true
    public var logLevel = Logger.Level.info
    /// The socket's group (`-G`); root when the group does not exist.
    public var group = "swiftd"

    public init() {}

    /// The usage text of `swiftd -d --help`.
    public static let usage = """
        Usage: swiftd -d [OPTIONS]

        Runs the swiftd daemon, which serves the Docker Engine API v1.45.

        Options:
          -H, --host ADDRESS        Address to serve the API on (default unix:///run/swiftd.sock);
                                    repeatable
          -g, --graph, --data-root DIR
                                    Root of images, containers and other state (default /var/lib/swiftd)
              --exec-root DIR       Root of run-time state (default /run/swiftd)
          -p, --pidfile FILE        File the daemon's pid is written to (default /run/swiftd.pid)
          -b, --bridge NAME         Bridge that containers attach to (default swiftd0); none
                                    disables networking
              --bip CIDR            Address and prefix of the bridge, such as 172.17.0.1/16
              --iptables[=false]    Add iptables rules for the bridge (default true)
              --ip-forward[=false]  Enable IPv4 forwarding (default true)
          -G, --group NAME          Group that owns the unix socket (default swiftd)
          -D, --debug               Log at debug level
              --log-level LEVEL     trace, debug, info, warn, error or fatal (default info)
          -h, --help                Print this help
        """

    /// Parses the daemon's arguments (everything after `-d`).
    ///
    /// - Throws: `UsageError` for an unknown flag, a missing or invalid value, or a stray
    ///   positional argument.
    public static func parse(_ arguments: [String]) throws(UsageError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        var explicitHosts: [String] = []
        var index = 0
        func value(_ flag: String, inline: String?) throws(UsageError) -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.count else { throw UsageError("flag needs an argument: \(flag)") }
            return arguments[index]
        }
        func boolean(_ flag: String, inline: String?) throws(UsageError) -> Bool {
            guard let inline else { return true }
            switch inline {
            case "true", "1": return true
            case "false", "0": return false
            default: throw UsageError("invalid boolean value \"\(inline)\" for \(flag)")
            }
        }
        while index < arguments.count {
            let argument = arguments[index]
            var flag = argument
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            switch flag {
            case "-d", "--daemon": break
            case "-H", "--host": explicitHosts.append(try value(flag, inline: inline))
            case "-g", "--graph", "--data-root": configuration.root = try value(flag, inline: inline)
            case "--exec-root": configuration.execRoot = try value(flag, inline: inline)
            case "-p", "--pidfile": configuration.pidfile = try value(flag, inline: inline)
            case "-b", "--bridge": configuration.bridge = try value(flag, inline: inline)
            case "--bip": configuration.bridgeIP = try value(flag, inline: inline)
            case "--iptables": configuration.iptables = try boolean(flag, inline: inline)
            case "--ip-forward": configuration.ipForward = try boolean(flag, inline: inline)
            case "-G", "--group": configuration.group = try value(flag, inline: inline)
            case "-D", "--debug":
                if try boolean(flag, inline: inline) { configuration.logLevel = .debug }
            case "--log-level":
                let name = try value(flag, inline: inline)
                guard let level = Logger.Level(name: name) else {
                    throw UsageError("invalid --log-level \"\(name)\": use trace, debug, info, warn, error or fatal")
                }
                configuration.logLevel = level
            case "-h", "--help": throw UsageError(help: true)
            default:
                if argument.hasPrefix("-") { throw UsageError("unknown flag: \(argument)") }
                throw UsageError("unexpected argument: \(argument)")
            }
            index += 1
        }
        if !explicitHosts.isEmpty { configuration.hosts = explicitHosts }
        for host in configuration.hosts where !host.hasPrefix("unix://") {
            throw UsageError("invalid -H \(host): only unix:// addresses are supported so far")
        }
        if let bip = configuration.bridgeIP, !isCIDR(bip) {
            throw UsageError("invalid --bip \(bip): expected an IPv4 address with a prefix, such as 172.17.0.1/16")
        }
        return configuration
    }

    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let prefix = Int(parts[1]), (1...30).contains(prefix) else { return false }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { Int($0).map { (0...255).contains($0) } ?? false }
    }

    /// The unix socket paths of `hosts`.
    public var socketPaths: [String] { hosts.map { String($0.dropFirst("unix://".count)) } }
}

/// A command-line usage error: printed with the usage, exit status 64.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Help was asked for: print the usage to stdout and exit 0.
    public var isHelp: Bool

    public init(_ message: String) {
        self.message = message
        isHelp = false
    }

    public init(help: Bool) {
        message = ""
        isHelp = help
    }

    public var description: String { message }
}
