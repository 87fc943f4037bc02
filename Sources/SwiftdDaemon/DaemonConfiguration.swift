import Foundation
import SwiftdSystem

/// The daemon's settings, from its command-line flags and its configuration file.
public struct DaemonConfiguration: Sendable, Equatable {
    /// API addresses (`-H`): `unix://PATH`, `tcp://HOST:PORT` or `fd://[NAME]`.
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
    /// The subnet that container addresses come from (`--fixed-cidr`), inside the bridge's.
    public var fixedCIDR: String?
    public var iptables = true
    public var ipForward = true
    /// Inter-container communication on the default bridge (`--icc`).
    public var icc = true
    /// `--live-restore`: a stopping daemon leaves its containers running (their monitors keep
    /// them), and the next daemon takes them back. Without it, containers stop with the daemon.
    public var liveRestore = false
    /// The MTU of container interfaces (`--mtu`); nil means the default route's, else 1500.
    public var mtu: Int?
    /// The default host address of published ports (`--ip`).
    public var defaultIP = "0.0.0.0"
    public var dns: [String] = []
    public var dnsSearch: [String] = []
    public var storageDriver: String?
    /// The `--storage-opt` options as given, `KEY=VALUE` each; `StorageOptions` parses them.
    public var storageOptions: [String] = []
    public var execDriver = "native"
    public var selinuxEnabled = false
    /// The socket's group (`-G`); root when the group does not exist.
    public var group = "swiftd"
    public var enableCORS = false
    public var tls = false
    public var tlsVerify = false
    public var tlsCACert: String?
    public var tlsCert: String?
    public var tlsKey: String?
    public var registryMirrors: [String] = []
    public var insecureRegistries: [String] = []
    public var debug = false
    public var logLevel = Logger.Level.info
    /// The logging driver of containers that name none (`--log-driver`).
    public var logDriver = "json-file"
    /// Options of the default logging driver (`--log-opt`); a container that uses that
    /// driver gets those it does not set itself.
    public var logOptions: [String: String] = [:]
    /// The configuration file (`--config-file`); a missing default file is fine.
    public var configFile = DaemonConfiguration.defaultConfigFile

    public static let defaultConfigFile = "/etc/swiftd/daemon.json"

    public init() {}

    /// The unix socket paths among `hosts`.
    public var socketPaths: [String] {
        hosts.filter { $0.hasPrefix("unix://") }.map { String($0.dropFirst("unix://".count)) }
    }
}

/// A command-line usage error: printed with the usage, exit status 64.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// Help was requested: print the usage to stdout and exit 0.
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

/// A flag or configuration value that is well-formed but wrong: one line, exit status 1.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
