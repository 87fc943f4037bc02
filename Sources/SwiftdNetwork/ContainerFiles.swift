#if canImport(Glibc)
    import Glibc
#endif

/// The network files of a container (`/etc/resolv.conf`, `/etc/hosts`, `/etc/hostname`) and
/// the environment of its links, as Docker 1.2 wrote them. Pure functions: the caller reads
/// the host's files and writes the results.
public enum ContainerFiles {
    /// A container's `/etc/resolv.conf` made from the host's.
    public struct ResolvConf: Sendable, Equatable {
        /// The file's text.
        public var text: String
        /// The name servers in `text`; empty means the container cannot resolve names.
        public var nameservers: [String]
    }

    /// Builds a container's resolv.conf from the host's text. The host's name servers are
    /// kept, except loopback ones, which mean nothing inside another network namespace.
    /// A non-empty `dns` replaces them. A non-empty `search` replaces the host's `search` and
    /// `domain` lines, and a non-empty `options` its `options` lines. Other lines are kept.
    public static func resolvConf(
        host: String, dns: [String], search: [String], options: [String]
    ) -> ResolvConf {
        var kept: [String] = []
        var hostServers: [String] = []
        for line in host.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let keyword = fields.first.map(String.init) ?? ""
            switch keyword {
            case "nameserver":
                guard fields.count > 1 else { continue }
                let server = String(fields[1])
                if !isLoopback(server) { hostServers.append(server) }
            case "search", "domain":
                if search.isEmpty { kept.append(String(line)) }
            case "options":
                if options.isEmpty { kept.append(String(line)) }
            default:
                if !line.isEmpty { kept.append(String(line)) }
            }
        }
        let servers = dns.isEmpty ? hostServers : dns
        var lines = kept
        if !search.isEmpty { lines.append("search " + search.joined(separator: " ")) }
        lines += servers.map { "nameserver \($0)" }
        if !options.isEmpty { lines.append("options " + options.joined(separator: " ")) }
        return ResolvConf(
            text: lines.map { $0 + "\n" }.joined(), nameservers: servers)
    }

    /// Builds the resolv.conf of a container that uses the embedded DNS server: its only name
    /// server is 127.0.0.11, with `options ndots:0` unless `options` sets ndots. Returns the
    /// file and the servers the embedded server forwards other names to, which `resolvConf`
    /// would have listed.
    public static func embeddedResolvConf(
        host: String, dns: [String], search: [String], options: [String]
    ) -> (file: ResolvConf, upstreams: [String]) {
        let plain = resolvConf(host: host, dns: dns, search: search, options: options)
        let ndots = options.contains { $0.hasPrefix("ndots:") } ? [] : ["ndots:0"]
        let file = resolvConf(
            host: host, dns: [EmbeddedResolver.address], search: search,
            options: ndots + options)
        return (file, plain.nameservers)
    }

    /// Builds the resolv.conf of a container on the host's network, as dockerd does: the host's
    /// text unchanged without DNS settings. Otherwise the host's name servers stay, loopback
    /// ones included because they are reachable in the host's namespace, unless `dns` replaces
    /// them; `search` and `options` replace the host's as in `resolvConf`.
    public static func hostNetworkResolvConf(
        host: String, dns: [String], search: [String], options: [String]
    ) -> String {
        guard !dns.isEmpty || !search.isEmpty || !options.isEmpty else { return host }
        let servers = dns.isEmpty ? nameservers(in: host) : dns
        return resolvConf(host: host, dns: servers, search: search, options: options).text
    }

    /// Returns the addresses of the `nameserver` lines of a resolv.conf text, in order.
    public static func nameservers(in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return fields.count > 1 && fields[0] == "nameserver" ? String(fields[1]) : nil
        }
    }

    /// Returns true for `127.0.0.0/8` and `::1`, which reach only the host's own loopback.
    public static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }

    /// An entry of `/etc/hosts`: an address and its names.
    public struct HostEntry: Sendable, Equatable {
        public var address: String
        public var names: [String]

        public init(address: String, names: [String]) {
            self.address = address
            self.names = names
        }
    }

    /// Builds a container's /etc/hosts as Docker does: the loopback and IPv6 lines, the
    /// container's own address with its host name (when it has an address), then `extra`
    /// (`--add-host` and links) in order.
    public static func hosts(
        hostname: String, domainname: String = "", address: String?, extra: [HostEntry]
    ) -> String {
        var lines = [
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "fe00::0\tip6-localnet",
            "ff00::0\tip6-mcastprefix",
            "ff02::1\tip6-allnodes",
            "ff02::2\tip6-allrouters",
        ]
        if let address {
            let names = hostNames(hostname: hostname, domainname: domainname)
            lines.append("\(address)\t\(names.joined(separator: " "))")
        }
        lines += extra.map { "\($0.address)\t\($0.names.joined(separator: " "))" }
        return lines.map { $0 + "\n" }.joined()
    }

    /// Returns the names of the container's own line in /etc/hosts, as dockerd writes them: the
    /// full name (`hostname.domainname`), then, if it has a dot, the part before the first dot.
    public static func hostNames(hostname: String, domainname: String) -> [String] {
        let full = domainname.isEmpty ? hostname : "\(hostname).\(domainname)"
        guard let dot = full.firstIndex(of: "."), dot != full.startIndex else { return [full] }
        return [full, String(full[..<dot])]
    }

    /// The `--add-host` address that stands for the host, as in dockerd: the default bridge's
    /// address.
    public static let hostGateway = "host-gateway"

    /// Checks an `--add-host` value as dockerd's `ValidateExtraHost` does, and returns its
    /// message for an invalid one: `NAME:ADDRESS` where the address is an IPv4 or IPv6
    /// address or `host-gateway`. Nil if the value is valid.
    public static func extraHostProblem(_ text: String) -> String? {
        guard let entry = parseExtraHost(text) else {
            return "bad format for add-host: \"\(text)\""
        }
        if entry.address == hostGateway || isIPAddress(entry.address) { return nil }
        return "invalid IP address in add-host: \"\(entry.address)\""
    }

    /// Returns true if `text` is an IPv4 or IPv6 address, as `inet_pton` reads them.
    public static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return [AF_INET, AF_INET6].contains { family in inet_pton(family, text, &buffer) == 1 }
    }

    /// Parses an `--add-host` value, `NAME:ADDRESS` (the address may be IPv6 and contain
    /// colons), into an entry; nil if either part is empty.
    public static func parseExtraHost(_ text: String) -> HostEntry? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = String(text[..<colon])
        let address = String(text[text.index(after: colon)...])
        guard !name.isEmpty, !address.isEmpty else { return nil }
        return HostEntry(address: address, names: [name])
    }

    /// Returns the environment a link gives its parent, as Docker 1.2's `links.Link.ToEnv`:
    /// `ALIAS_PORT` (the lowest port), `ALIAS_PORT_80_TCP`, `…_ADDR`, `…_PORT`, `…_PROTO`
    /// for each port, `ALIAS_NAME=/PARENT/ALIAS`, and `ALIAS_ENV_K=V` for each variable of
    /// the child other than HOME and PATH. The alias is upper-cased, `-` becomes `_`.
    public static func linkEnvironment(
        alias: String, parentName: String, childIP: String, ports: [ExposedPort],
        childEnvironment: [String]
    ) -> [String] {
        let prefix = String(alias.uppercased().map { $0 == "-" ? "_" : $0 })
        var environment: [String] = []
        let sorted = ports.sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }
        if let first = sorted.first {
            environment.append("\(prefix)_PORT=\(first.proto)://\(childIP):\(first.port)")
        }
        for port in sorted {
            let key = "\(prefix)_PORT_\(port.port)_\(port.proto.uppercased())"
            environment += [
                "\(key)=\(port.proto)://\(childIP):\(port.port)",
                "\(key)_ADDR=\(childIP)",
                "\(key)_PORT=\(port.port)",
                "\(key)_PROTO=\(port.proto)",
            ]
        }
        environment.append("\(prefix)_NAME=/\(parentName)/\(alias)")
        for variable in childEnvironment {
            let parts = variable.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] != "HOME", parts[0] != "PATH" else { continue }
            environment.append("\(prefix)_ENV_\(parts[0])=\(parts[1])")
        }
        return environment
    }

    /// Parses a container port key such as `80/tcp`, `53/udp` or `8080` (TCP).
    public static func parsePortKey(_ key: String) -> ExposedPort? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let port = Int(parts[0]), (1...65535).contains(port) else {
            return nil
        }
        let proto = parts.count == 2 ? parts[1].lowercased() : "tcp"
        guard proto == "tcp" || proto == "udp" else { return nil }
        return ExposedPort(port: port, proto: proto)
    }
}
