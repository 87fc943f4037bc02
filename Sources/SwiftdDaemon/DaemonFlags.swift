import Foundation
import SwiftdAPI
import SwiftdGraph
import SwiftdSystem

/// The daemon's flags: their spellings, the `daemon.json` key of each, and how each sets the
/// configuration.
struct DaemonFlag: Sendable {
    enum Kind: Sendable {
        /// `map` flags take `KEY=VALUE` and are an object of strings in daemon.json.
        case string, bool, int, list, map
    }

    /// Spellings, the canonical long one first (`--data-root`).
    var names: [String]
    /// The key in daemon.json, as dockerd names it.
    var key: String
    var kind: Kind
    var valueName: String
    var help: String
    var apply: @Sendable (inout DaemonConfiguration, String) throws -> Void

    static let all: [DaemonFlag] = [
        DaemonFlag(names: ["--host", "-H"], key: "hosts", kind: .list, valueName: "ADDRESS",
            help: "Address to serve the API on: unix://PATH, tcp://HOST:PORT or fd://[NAME] (repeatable; default unix:///run/swiftd.sock)") {
                config, value in try validateHost(value); config.hosts.append(value)
            },
        DaemonFlag(names: ["--data-root", "-g", "--graph"], key: "data-root", kind: .string, valueName: "DIR",
            help: "Root of images, containers and other persistent state (default /var/lib/swiftd)") { config, value in config.root = value },
        DaemonFlag(names: ["--exec-root"], key: "exec-root", kind: .string, valueName: "DIR",
            help: "Root of run-time state (default /run/swiftd)") { config, value in config.execRoot = value },
        DaemonFlag(names: ["--pidfile", "-p"], key: "pidfile", kind: .string, valueName: "FILE",
            help: "File the daemon's pid is written to (default /run/swiftd.pid)") { config, value in config.pidfile = value },
        DaemonFlag(names: ["--bridge", "-b"], key: "bridge", kind: .string, valueName: "NAME",
            help: "Bridge that containers attach to (default swiftd0); none disables networking") { config, value in config.bridge = value },
        DaemonFlag(names: ["--bip"], key: "bip", kind: .string, valueName: "CIDR",
            help: "Address and prefix of the bridge, such as 172.17.0.1/16") { config, value in
                guard isCIDR(value) else { throw ConfigurationError("invalid --bip \(value): expected an IPv4 address with a prefix, such as 172.17.0.1/16") }
                config.bridgeIP = value
            },
        DaemonFlag(names: ["--fixed-cidr"], key: "fixed-cidr", kind: .string, valueName: "CIDR",
            help: "Subnet that container addresses come from, inside the bridge's subnet") { config, value in
                guard isCIDR(value, allowHostBits: true) else { throw ConfigurationError("invalid --fixed-cidr \(value): expected an IPv4 subnet, such as 172.17.1.0/24") }
                config.fixedCIDR = value
            },
        DaemonFlag(names: ["--iptables"], key: "iptables", kind: .bool, valueName: "",
            help: "Add iptables rules for the bridge (default true)") { config, value in config.iptables = value == "true" },
        DaemonFlag(names: ["--ip-forward"], key: "ip-forward", kind: .bool, valueName: "",
            help: "Enable net.ipv4.ip_forward (default true)") { config, value in config.ipForward = value == "true" },
        DaemonFlag(names: ["--live-restore"], key: "live-restore", kind: .bool, valueName: "",
            help: "Keep containers running while the daemon is down, and take them back at its next start") { config, value in config.liveRestore = value == "true" },
        DaemonFlag(names: ["--icc"], key: "icc", kind: .bool, valueName: "",
            help: "Allow traffic between containers on the default bridge (default true)") { config, value in config.icc = value == "true" },
        DaemonFlag(names: ["--ip"], key: "ip", kind: .string, valueName: "ADDRESS",
            help: "Default host address of published ports (default 0.0.0.0)") { config, value in
                guard isIPv4(value) else { throw ConfigurationError("invalid --ip \(value): expected an IPv4 address") }
                config.defaultIP = value
            },
        DaemonFlag(names: ["--mtu"], key: "mtu", kind: .int, valueName: "BYTES",
            help: "MTU of container interfaces (default: the default route's, else 1500)") { config, value in
                guard let mtu = Int(value), (68...65535).contains(mtu) else { throw ConfigurationError("invalid --mtu \(value): expected a number from 68 to 65535") }
                config.mtu = mtu
            },
        DaemonFlag(names: ["--dns"], key: "dns", kind: .list, valueName: "ADDRESS",
            help: "DNS server for containers (repeatable)") { config, value in
                guard isIPv4(value) else { throw ConfigurationError("invalid --dns \(value): expected an IPv4 address") }
                config.dns.append(value)
            },
        DaemonFlag(names: ["--dns-search"], key: "dns-search", kind: .list, valueName: "DOMAIN",
            help: "DNS search domain for containers (repeatable)") { config, value in config.dnsSearch.append(value) },
        DaemonFlag(names: ["--storage-driver", "-s"], key: "storage-driver", kind: .string, valueName: "NAME",
            help: "Storage driver: overlay2 (the default where overlay mounts work) or vfs") { config, value in config.storageDriver = value },
        DaemonFlag(names: ["--storage-opt"], key: "storage-opts", kind: .list, valueName: "KEY=VALUE",
            help: "Storage driver option (repeatable): overlay2.size for overlay2 or size for vfs sets the default size limit of each container's writable layer, such as 10G; it needs project quotas") { config, value in config.storageOptions.append(value) },
        DaemonFlag(names: ["--exec-driver", "-e"], key: "exec-driver", kind: .string, valueName: "NAME",
            help: "Exec driver; only native (default)") { config, value in config.execDriver = value },
        DaemonFlag(names: ["--selinux-enabled"], key: "selinux-enabled", kind: .bool, valueName: "",
            help: "Enable SELinux labels (default false)") { config, value in config.selinuxEnabled = value == "true" },
        DaemonFlag(names: ["--group", "-G"], key: "group", kind: .string, valueName: "NAME",
            help: "Group that owns unix sockets (default swiftd)") { config, value in config.group = value },
        DaemonFlag(names: ["--api-enable-cors"], key: "api-enable-cors", kind: .bool, valueName: "",
            help: "Add CORS headers to API responses (default false)") { config, value in config.enableCORS = value == "true" },
        DaemonFlag(names: ["--tls"], key: "tls", kind: .bool, valueName: "",
            help: "Serve tcp:// addresses with TLS (implied by --tlsverify)") { config, value in config.tls = value == "true" },
        DaemonFlag(names: ["--tlsverify"], key: "tlsverify", kind: .bool, valueName: "",
            help: "Serve TLS and require client certificates signed by --tlscacert") { config, value in config.tlsVerify = value == "true" },
        DaemonFlag(names: ["--tlscacert"], key: "tlscacert", kind: .string, valueName: "FILE",
            help: "CA certificate that client certificates must be signed by") { config, value in config.tlsCACert = value },
        DaemonFlag(names: ["--tlscert"], key: "tlscert", kind: .string, valueName: "FILE",
            help: "TLS certificate of the daemon") { config, value in config.tlsCert = value },
        DaemonFlag(names: ["--tlskey"], key: "tlskey", kind: .string, valueName: "FILE",
            help: "TLS private key of the daemon") { config, value in config.tlsKey = value },
        DaemonFlag(names: ["--registry-mirror"], key: "registry-mirrors", kind: .list, valueName: "URL",
            help: "Registry mirror tried first for Docker Hub (repeatable)") { config, value in
                try validateMirror(value)
                config.registryMirrors.append(value)
            },
        DaemonFlag(names: ["--insecure-registry"], key: "insecure-registries", kind: .list, valueName: "HOST[:PORT]",
            help: "Registry reached over plain HTTP or unverified TLS: HOST[:PORT] or an IPv4 CIDR (repeatable)") { config, value in
                config.insecureRegistries.append(try insecureRegistry(value))
            },
        DaemonFlag(names: ["--debug", "-D"], key: "debug", kind: .bool, valueName: "",
            help: "Log at debug level (default false)") { config, value in config.debug = value == "true" },
        DaemonFlag(names: ["--log-level", "-l"], key: "log-level", kind: .string, valueName: "LEVEL",
            help: "Log level: trace, debug, info, warn, error or fatal (default info)") { config, value in
                guard let level = Logger.Level(name: value) else {
                    throw ConfigurationError("invalid --log-level \(value): use trace, debug, info, warn, error or fatal")
                }
                config.logLevel = level
            },
        DaemonFlag(names: ["--log-driver"], key: "log-driver", kind: .string, valueName: "NAME",
            help: "Logging driver of containers that name none: json-file (default) or none") { config, value in
                config.logDriver = value
            },
        DaemonFlag(names: ["--log-opt"], key: "log-opts", kind: .map, valueName: "KEY=VALUE",
            help: "Option of the default logging driver, such as max-size=10m, max-file=3 or compress=true (repeatable)") {
                config, value in
                let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw ConfigurationError("invalid --log-opt \(value): expected KEY=VALUE")
                }
                config.logOptions[String(parts[0])] = String(parts[1])
            },
    ]

    static func named(_ name: String) -> DaemonFlag? {
        all.first { $0.names.contains(name) }
    }

    /// The usage text of `swiftd -d --help`, listing every flag.
    static var usage: String {
        var text = """
            Usage: swiftd -d [OPTIONS]

            Runs the swiftd daemon, which serves the Docker Engine API v1.45.
            Boolean flags take --flag or --flag=false. Every setting can also be given in the
            configuration file, a JSON object keyed by dockerd's daemon.json names (shown in
            brackets); a setting given both ways is an error.

            Options:

            """
        let rows = all.map { flag -> (String, String) in
            let spelling = flag.names.sorted { $0.count < $1.count }.joined(separator: ", ")
            let value = flag.valueName.isEmpty ? "" : " \(flag.valueName)"
            return ("  \(spelling)\(value)", "\(flag.help) [\(flag.key)]")
        } + [
            ("  --config-file FILE", "Configuration file (default \(DaemonConfiguration.defaultConfigFile))"),
            ("  -h, --help", "Print this help"),
        ]
        for (left, right) in rows {
            text += left + "\n" + wrap(right, indent: 8, width: 100) + "\n"
        }
        return text
    }

    private static func wrap(_ text: String, indent: Int, width: Int) -> String {
        var lines: [String] = []
        var line = String(repeating: " ", count: indent)
        for word in text.split(separator: " ") {
            if line.count + word.count + 1 > width && line.count > indent {
                lines.append(line)
                line = String(repeating: " ", count: indent)
            }
            line += (line.count > indent ? " " : "") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}

extension DaemonConfiguration {
    /// Parses the daemon's arguments (everything after `-d`), then reads the configuration file.
    ///
    /// - Throws: `UsageError` for an unknown flag, a missing value or a stray positional
    ///   argument (exit 64); `ConfigurationError` for an invalid value, an unreadable
    ///   configuration file, or a setting given both as a flag and in the file (exit 1).
    public static func parse(_ arguments: [String], readingConfigFile: Bool = true) throws -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        configuration.hosts = []
        var given: [String: String] = [:]
        var index = 0
        var configFileGiven = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-d" || argument == "--daemon" || argument == "-d=true" { continue }
            if argument == "-h" || argument == "--help" { throw UsageError(help: true) }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                throw UsageError("unexpected argument: \(argument)")
            }
            var name = argument
            var inline: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            if name == "--config-file" {
                guard let value = inline ?? (index < arguments.count ? arguments[index] : nil) else {
                    throw UsageError("flag needs an argument: --config-file")
                }
                if inline == nil { index += 1 }
                configuration.configFile = value
                configFileGiven = true
                continue
            }
            guard let flag = DaemonFlag.named(name) else { throw UsageError("unknown flag: \(name)") }
            var value: String
            if flag.kind == .bool {
                value = inline ?? "true"
                guard ["true", "false", "1", "0"].contains(value) else {
                    throw ConfigurationError("invalid boolean value \"\(value)\" for \(name)")
                }
                if value == "1" { value = "true" }
                if value == "0" { value = "false" }
            } else if let inline {
                value = inline
            } else {
                guard index < arguments.count else { throw UsageError("flag needs an argument: \(name)") }
                value = arguments[index]
                index += 1
            }
            try flag.apply(&configuration, value)
            given[flag.key] = given[flag.key].map { "\($0), \(value)" } ?? value
        }

        if readingConfigFile {
            try configuration.applyConfigFile(flagsGiven: given, required: configFileGiven)
        }
        if configuration.hosts.isEmpty { configuration.hosts = ["unix:///run/swiftd.sock"] }
        if configuration.debug && configuration.logLevel > .debug { configuration.logLevel = .debug }
        try configuration.validate()
        return configuration
    }

    /// Reads `configFile` (a JSON object with daemon.json keys) into the configuration.
    mutating func applyConfigFile(flagsGiven: [String: String], required: Bool) throws {
        guard FileManager.default.fileExists(atPath: configFile) else {
            if required { throw ConfigurationError("unable to read the configuration file \(configFile): no such file") }
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(configFile)
        } catch {
            throw ConfigurationError("unable to read the configuration file \(configFile): \(error)")
        }
        // dockerd reads an empty file as no settings.
        if bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ConfigurationError("invalid configuration file \(configFile): expected a JSON object")
        }
        let keys = object.keys.map { $0 == "graph" ? "data-root" : $0 }
        let unknown = keys.filter { key in !DaemonFlag.all.contains { $0.key == key } }.sorted()
        if !unknown.isEmpty {
            throw ConfigurationError("the following directives in \(configFile) don't match any configuration option: \(unknown.joined(separator: ", "))")
        }
        let conflicts = keys.filter { flagsGiven[$0] != nil }.sorted()
        if !conflicts.isEmpty {
            let details = conflicts.map { key -> String in
                let fileValue = Self.describe(object[key] ?? object["graph"] ?? "", key: key)
                return "\(key): (from flag: \(flagsGiven[key] ?? ""), from file: \(fileValue))"
            }
            throw ConfigurationError("the following directives are specified both as a flag and in the configuration file: \(details.joined(separator: ", "))")
        }
        for (rawKey, value) in object {
            let key = rawKey == "graph" ? "data-root" : rawKey
            guard let flag = DaemonFlag.all.first(where: { $0.key == key }) else { continue }
            switch (flag.kind, value) {
            case (.bool, let bool as Bool):
                try flag.apply(&self, bool ? "true" : "false")
            case (.string, let string as String):
                try flag.apply(&self, string)
            case (.int, let number as NSNumber) where !(value is Bool):
                try flag.apply(&self, number.stringValue)
            case (.list, let list as [String]):
                for item in list { try flag.apply(&self, item) }
            case (.map, let map as [String: String]):
                for (key, item) in map.sorted(by: { $0.key < $1.key }) { try flag.apply(&self, "\(key)=\(item)") }
            default:
                let expected = [
                    "bool": "a boolean", "string": "a string", "int": "a number", "list": "a list of strings",
                    "map": "an object of strings",
                ]["\(flag.kind)"] ?? "another type"
                throw ConfigurationError("invalid configuration file \(configFile): \(rawKey) must be \(expected)")
            }
        }
    }

    /// Formats a value of the configuration file as the flag `key` would be given: booleans
    /// as `true` or `false` (JSONSerialization reads them as numbers), lists joined by commas.
    private static func describe(_ value: Any, key: String) -> String {
        let kind = DaemonFlag.all.first { $0.key == key }?.kind
        if kind == .bool, let bool = value as? Bool { return bool ? "true" : "false" }
        if let list = value as? [String] { return list.joined(separator: ", ") }
        if let map = value as? [String: Any] {
            return map.keys.sorted().map { "\($0)=\(map[$0] ?? "")" }.joined(separator: ", ")
        }
        return "\(value)"
    }

    /// Checks values that depend on each other or on the host.
    func validate() throws {
        if let driver = storageDriver, StorageDriver(rawValue: driver) == nil {
            throw ConfigurationError("invalid --storage-driver \(driver): use overlay2 or vfs")
        }
        // Without -s the driver is found at start-up, so the options of either driver pass
        // here. The graph checks them again for the driver it gets.
        let drivers = storageDriver.flatMap(StorageDriver.init(rawValue:)).map { [$0] } ?? [.overlay2, .vfs]
        for option in storageOptions {
            var firstError: SwiftdError?
            for driver in drivers {
                do {
                    _ = try StorageOptions(daemonOptions: [option], driver: driver)
                    firstError = nil
                    break
                } catch let error as SwiftdError {
                    firstError = firstError ?? error
                }
            }
            if let firstError { throw ConfigurationError("invalid --storage-opt \(option): \(firstError.message)") }
        }
        do {
            _ = try LogOptions(driver: logDriver, config: logOptions)
        } catch let error as SwiftdError {
            throw ConfigurationError("invalid --log-driver or --log-opt: \(error.message)")
        }
        if execDriver != "native" {
            throw ConfigurationError("invalid --exec-driver \(execDriver): only native is supported")
        }
        if selinuxEnabled && !FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce") {
            throw ConfigurationError("invalid --selinux-enabled: SELinux is not enabled on this host")
        }
        if bridge == "none" && bridgeIP != nil {
            throw ConfigurationError("invalid --bip \(bridgeIP ?? ""): the bridge is disabled with -b none")
        }
        if !iptables && !icc {
            throw ConfigurationError("invalid --icc=false: it needs --iptables")
        }
        if tlsVerify || tls {
            for (flag, path) in [("--tlscert", tlsCert), ("--tlskey", tlsKey)] {
                guard let path else { throw ConfigurationError("\(flag) is required with --tls") }
                guard FileManager.default.fileExists(atPath: path) else {
                    throw ConfigurationError("invalid \(flag) \(path): no such file")
                }
            }
            if tlsVerify {
                guard let path = tlsCACert else { throw ConfigurationError("--tlscacert is required with --tlsverify") }
                guard FileManager.default.fileExists(atPath: path) else {
                    throw ConfigurationError("invalid --tlscacert \(path): no such file")
                }
            }
        }
        for host in hosts where host.hasPrefix("tcp://") {
            _ = try tcpAddress(host, tls: tls || tlsVerify)
        }
    }
}

/// Checks that an `-H` address has a known scheme.
func validateHost(_ host: String) throws(ConfigurationError) {
    if host.hasPrefix("unix://") {
        guard host.count > "unix://".count, host.dropFirst("unix://".count).hasPrefix("/") else {
            throw ConfigurationError("invalid -H \(host): a unix address needs an absolute path")
        }
        return
    }
    if host.hasPrefix("fd://") || host.hasPrefix("tcp://") { return }
    throw ConfigurationError("invalid -H \(host): use unix://PATH, tcp://HOST:PORT or fd://")
}

/// Reports whether `text` is an IPv4 dotted quad.
func isIPv4(_ text: String) -> Bool {
    let octets = text.split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && Int($0).map { (0...255).contains($0) } ?? false }
}

/// Reports whether `text` is an IPv4 address with a prefix length (`172.17.0.1/16`).
func isCIDR(_ text: String, allowHostBits: Bool = true) -> Bool {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let prefix = Int(parts[1]), (1...30).contains(prefix) else { return false }
    return isIPv4(String(parts[0]))
}

/// Splits `tcp://HOST:PORT` into a host and a port: the host is an IPv4 address, a bracketed
/// IPv6 address or a name (127.0.0.1 when empty, as dockerd reads it), the port 2376 with TLS,
/// else 2375, when missing. Names are resolved when the listener opens.
func tcpAddress(_ host: String, tls: Bool) throws -> (host: String, port: UInt16) {
    let address: TCPAddress
    do {
        address = try TCPAddress(parsing: host, defaultHost: "127.0.0.1", defaultPort: tls ? 2376 : 2375)
    } catch {
        throw ConfigurationError("invalid -H \(host): \(error.reason)")
    }
    return (address.host, address.port)
}

/// Checks a `--registry-mirror` value as dockerd does: an http or https URL with a host, and
/// no user name, password, query, fragment or path other than `/`.
func validateMirror(_ value: String) throws(ConfigurationError) {
    func invalid(_ reason: String) -> ConfigurationError {
        ConfigurationError("invalid --registry-mirror \(value): \(reason)")
    }
    guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(),
        scheme == "http" || scheme == "https"
    else { throw invalid("expected an http or https URL, such as https://mirror.example.com") }
    guard let host = url.host, !host.isEmpty else { throw invalid("the URL has no host") }
    if let port = url.port, !(1...65535).contains(port) {
        throw invalid("the port must be from 1 to 65535")
    }
    guard url.user == nil, url.password == nil else {
        throw invalid("a user name or password is not allowed in the URL")
    }
    guard url.query == nil, url.fragment == nil else {
        throw invalid("a query or fragment is not allowed in the URL")
    }
    guard url.path.isEmpty || url.path == "/" else {
        throw invalid("a path is not allowed in the URL")
    }
}

/// Checks an `--insecure-registry` value as dockerd does and returns it without an `http://`
/// or `https://` prefix, which dockerd also drops: `HOST[:PORT]`, where HOST is a name, an
/// IPv4 address or a bracketed IPv6 address, or a CIDR such as `10.0.0.0/8`.
func insecureRegistry(_ value: String) throws(ConfigurationError) -> String {
    func invalid(_ reason: String) -> ConfigurationError {
        ConfigurationError("invalid --insecure-registry \(value): \(reason)")
    }
    var entry = value
    for scheme in ["http://", "https://"] where entry.lowercased().hasPrefix(scheme) {
        entry = String(entry.dropFirst(scheme.count))
    }
    if entry.contains("://") { throw invalid("the only schemes allowed are http and https") }
    if let slash = entry.firstIndex(of: "/") {
        let address = String(entry[..<slash])
        let bits = Int(entry[entry.index(after: slash)...])
        if isIPv4(address), let bits, (0...32).contains(bits) { return entry }
        if isIPv6(address), let bits, (0...128).contains(bits) { return entry }
        throw invalid("expected HOST[:PORT] or a CIDR such as 10.0.0.0/8")
    }
    var host = entry
    var port: Substring?
    if entry.hasPrefix("[") {
        guard let close = entry.firstIndex(of: "]"),
            isIPv6(String(entry[entry.index(after: entry.startIndex)..<close]))
        else { throw invalid("expected an IPv6 address in brackets, such as [fd00::1]:5000") }
        let rest = entry[entry.index(after: close)...]
        guard rest.isEmpty || rest.hasPrefix(":") else { throw invalid("expected :PORT after ]") }
        if !rest.isEmpty { port = rest.dropFirst() }
        host = "::"
    } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") {
        host = String(entry[..<colon])
        port = entry[entry.index(after: colon)...]
    }
    if let port, !(Int(port).map { (1...65535).contains($0) } ?? false) {
        throw invalid("the port must be a number from 1 to 65535")
    }
    guard isIPv4(host) || isIPv6(host) || isHostName(host) else {
        throw invalid("expected HOST[:PORT] or a CIDR such as 10.0.0.0/8")
    }
    return entry
}

/// Reports whether `text` is a DNS name: dot-separated labels of letters, digits and inner
/// hyphens, each at most 63 characters.
func isHostName(_ text: String) -> Bool {
    let labels = text.split(separator: ".", omittingEmptySubsequences: false)
    return text.utf8.count <= 253 && labels.allSatisfy { label in
        !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
            && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}

/// Reports whether `text` is an IPv6 address: eight hexadecimal groups separated by colons, or
/// fewer with one `::`, the last two groups optionally written as an IPv4 address.
func isIPv6(_ text: String) -> Bool {
    let compressed = text.contains("::")
    guard text.contains(":"), text.components(separatedBy: "::").count <= 2,
        !text.hasPrefix(":") || text.hasPrefix("::"), !text.hasSuffix(":") || text.hasSuffix("::")
    else { return false }
    var groups = text.split(separator: ":").map(String.init)
    var count = groups.count
    if let last = groups.last, last.contains(".") {
        guard isIPv4(last) else { return false }
        groups.removeLast()
        count += 1
    }
    guard compressed ? count < 8 : count == 8 else { return false }
    return groups.allSatisfy { group in group.count <= 4 && group.allSatisfy(\.isHexDigit) }
}
