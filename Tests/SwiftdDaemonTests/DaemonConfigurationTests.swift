import Foundation
import Testing

@testable import SwiftdDaemon

@Suite("DaemonConfiguration")
struct DaemonConfigurationTests {
    func parse(_ arguments: [String]) throws -> DaemonConfiguration {
        // A config file that does not exist is fine unless --config-file names it.
        try DaemonConfiguration.parse(["--config-file=/nonexistent/daemon.json"] + arguments, readingConfigFile: false)
    }

    @Test("defaults")
    func defaults() throws {
        let configuration = try parse([])
        #expect(configuration.hosts == ["unix:///run/swiftd.sock"])
        #expect(configuration.root == "/var/lib/swiftd")
        #expect(configuration.pidfile == "/run/swiftd.pid")
        #expect(configuration.bridge == "swiftd0")
        #expect(configuration.iptables)
        #expect(configuration.ipForward)
        #expect(configuration.icc)
        #expect(configuration.execDriver == "native")
        #expect(configuration.group == "swiftd")
        #expect(configuration.logLevel == .info)
    }

    @Test("short and long spellings", arguments: [
        (["-p", "/x.pid"], "pidfile", "/x.pid"),
        (["--pidfile=/y.pid"], "pidfile", "/y.pid"),
        (["-g", "/r"], "root", "/r"),
        (["--graph", "/r2"], "root", "/r2"),
        (["--data-root=/r3"], "root", "/r3"),
        (["-b", "br0"], "bridge", "br0"),
        (["--bridge=none"], "bridge", "none"),
        (["-G", "staff"], "group", "staff"),
        (["--exec-root", "/e"], "execRoot", "/e"),
        (["-e", "native"], "execDriver", "native"),
        (["--ip", "127.0.0.1"], "defaultIP", "127.0.0.1"),
    ])
    func spellings(_ arguments: [String], _ field: String, _ expected: String) throws {
        let configuration = try parse(arguments)
        let values = [
            "pidfile": configuration.pidfile, "root": configuration.root, "bridge": configuration.bridge,
            "group": configuration.group, "execRoot": configuration.execRoot,
            "execDriver": configuration.execDriver, "defaultIP": configuration.defaultIP,
        ]
        #expect(values[field] == expected)
    }

    @Test("boolean flags take =false")
    func booleans() throws {
        let configuration = try parse(["--iptables=false", "--ip-forward=false", "--icc=false"].dropLast())
        #expect(!configuration.iptables)
        #expect(!configuration.ipForward)
        let icc = try parse(["--icc=false"])
        #expect(!icc.icc)
        #expect(try parse(["--icc=true"]).icc)
        #expect(try parse(["-D"]).logLevel == .debug)
        #expect(throws: ConfigurationError.self) { try parse(["--iptables=maybe"]) }
    }

    @Test("repeatable flags collect values")
    func repeatable() throws {
        let configuration = try parse([
            "-H", "unix:///a.sock", "--host=unix:///b.sock", "--dns", "10.0.0.1", "--dns=10.0.0.2",
            "--dns-search", "example.test", "--registry-mirror", "http://127.0.0.1:5000",
            "--insecure-registry", "127.0.0.1:5000",
        ])
        #expect(configuration.hosts == ["unix:///a.sock", "unix:///b.sock"])
        #expect(configuration.socketPaths == ["/a.sock", "/b.sock"])
        #expect(configuration.dns == ["10.0.0.1", "10.0.0.2"])
        #expect(configuration.dnsSearch == ["example.test"])
        #expect(configuration.registryMirrors == ["http://127.0.0.1:5000"])
        #expect(configuration.insecureRegistries == ["127.0.0.1:5000"])
    }

    @Test("numeric and address values")
    func values() throws {
        let configuration = try parse(["--bip", "10.1.2.1/24", "--fixed-cidr", "10.1.2.128/25", "--mtu", "1400", "--log-level", "warn"])
        #expect(configuration.bridgeIP == "10.1.2.1/24")
        #expect(configuration.fixedCIDR == "10.1.2.128/25")
        #expect(configuration.mtu == 1400)
        #expect(configuration.logLevel == .warning)
    }

    @Test("invalid values name the flag and the value", arguments: [
        (["--bip", "nonsense"], "--bip nonsense"),
        (["--bip", "10.0.0.1"], "--bip 10.0.0.1"),
        (["--fixed-cidr", "10.0.0.0/33"], "--fixed-cidr 10.0.0.0/33"),
        (["--mtu", "12"], "--mtu 12"),
        (["--log-level", "loud"], "--log-level loud"),
        (["-H", "ftp://x"], "-H ftp://x"),
        (["-H", "unix://relative"], "-H unix://relative"),
        (["-H", "tcp://127.0.0.1:99999"], "-H tcp://127.0.0.1:99999"),
        (["-s", "btrfs"], "--storage-driver btrfs"),
        (["-e", "lxc"], "--exec-driver lxc"),
        (["--dns", "resolver"], "--dns resolver"),
        (["--selinux-enabled"], "--selinux-enabled"),
        (["--iptables=false", "--icc=false"], "--icc=false"),
        (["--tls", "--tlscert", "/nonexistent/cert.pem", "--tlskey", "/nonexistent/key.pem"], "--tlscert /nonexistent/cert.pem"),
        (["--registry-mirror", "notaurl"], "--registry-mirror notaurl"),
        (["--registry-mirror", "ftp://mirror.example"], "--registry-mirror ftp://mirror.example"),
        (["--registry-mirror", "https://"], "--registry-mirror https://"),
        (["--registry-mirror", "https://mirror.example/v2/"], "--registry-mirror https://mirror.example/v2/"),
        (["--registry-mirror", "https://u:p@mirror.example"], "--registry-mirror https://u:p@mirror.example"),
        (["--registry-mirror", "https://mirror.example?x=1"], "--registry-mirror https://mirror.example?x=1"),
        (["--insecure-registry", "http://x y"], "--insecure-registry http://x y"),
        (["--insecure-registry", "ftp://x"], "--insecure-registry ftp://x"),
        (["--insecure-registry", "x:http"], "--insecure-registry x:http"),
        (["--insecure-registry", "x:70000"], "--insecure-registry x:70000"),
        (["--insecure-registry", "10.0.0.0/33"], "--insecure-registry 10.0.0.0/33"),
        (["--insecure-registry", "-x.example"], "--insecure-registry -x.example"),
        (["--insecure-registry", "[fe80::1:5000"], "--insecure-registry [fe80::1:5000"),
    ])
    func invalidValues(_ arguments: [String], _ named: String) {
        do {
            _ = try parse(arguments)
            Issue.record("expected an error for \(arguments)")
        } catch let error as ConfigurationError {
            #expect(error.message.contains(named), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("registry mirrors and insecure registries")
    func registries() throws {
        let configuration = try parse([
            "--registry-mirror", "https://mirror.example", "--registry-mirror", "http://127.0.0.1:5000/",
            "--insecure-registry", "registry.example:5000", "--insecure-registry", "http://10.1.2.3",
            "--insecure-registry", "10.0.0.0/8", "--insecure-registry", "[fd00::1]:5000",
            "--insecure-registry", "fd00::/8", "--insecure-registry", "localhost",
        ])
        #expect(configuration.registryMirrors == ["https://mirror.example", "http://127.0.0.1:5000/"])
        #expect(configuration.insecureRegistries == [
            "registry.example:5000", "10.1.2.3", "10.0.0.0/8", "[fd00::1]:5000", "fd00::/8", "localhost",
        ])
    }

    @Test("IPv6 address shapes")
    func ipv6Shapes() {
        for valid in ["::", "::1", "fe80::1", "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1", "fd00:0:0:0:0:0:0:1"] {
            #expect(isIPv6(valid), "\(valid)")
        }
        for invalid in ["1:2:3", ":1::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::1", "g::1", "x"] {
            #expect(!isIPv6(invalid), "\(invalid)")
        }
    }

    @Test("tcp addresses and their default ports")
    func tcpAddresses() throws {
        #expect(try tcpAddress("tcp://127.0.0.1:4243", tls: false) == ("127.0.0.1", 4243))
        #expect(try tcpAddress("tcp://", tls: false) == ("127.0.0.1", 2375))
        #expect(try tcpAddress("tcp://:2376", tls: true) == ("127.0.0.1", 2376))
        #expect(try tcpAddress("tcp://127.0.0.1", tls: true) == ("127.0.0.1", 2376))
        #expect(try tcpAddress("tcp://[::1]:4243", tls: false) == ("::1", 4243))
        #expect(try tcpAddress("tcp://[::]/", tls: true) == ("::", 2376))
        #expect(try tcpAddress("tcp://[fe80::1]", tls: false) == ("fe80::1", 2375))
        #expect(try tcpAddress("tcp://localhost:2376", tls: true) == ("localhost", 2376))
    }

    @Test("tcp addresses that are not well formed", arguments: [
        ("tcp://::1:2376", "needs brackets"),
        ("tcp://[::1:2376", "no closing bracket"),
        ("tcp://[::1]2376", "expected :PORT"),
        ("tcp://[::1]:0", "from 1 to 65535"),
        ("tcp://127.0.0.1:http", "from 1 to 65535"),
    ])
    func invalidTCPAddresses(_ host: String, _ reason: String) {
        do {
            _ = try tcpAddress(host, tls: false)
            Issue.record("expected an error for \(host)")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("invalid -H \(host)"), "\(error.message)")
            #expect(error.message.contains(reason), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("usage errors", arguments: [["stray"], ["--nosuchflag"], ["-p"], ["-d", "extra"]])
    func usageErrors(_ arguments: [String]) {
        #expect(throws: UsageError.self) { try parse(arguments) }
    }

    @Test("help documents every flag")
    func help() {
        do {
            _ = try parse(["--help"])
            Issue.record("expected help")
        } catch let error as UsageError {
            #expect(error.isHelp)
        } catch {
            Issue.record("unexpected error \(error)")
        }
        let usage = DaemonFlag.usage
        for flag in DaemonFlag.all {
            for name in flag.names { #expect(usage.contains(name), "\(name) missing from the usage") }
            #expect(usage.contains("[\(flag.key)]"))
        }
        #expect(usage.contains("--config-file"))
    }
}

@Suite("daemon.json")
struct ConfigFileTests {
    /// Writes `json` to a temporary file and parses `arguments` with it.
    func parse(_ json: String, _ arguments: [String] = []) throws -> DaemonConfiguration {
        let path = "/tmp/swiftd-config-\(UInt32.random(in: 0...UInt32.max)).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try DaemonConfiguration.parse(["--config-file", path] + arguments)
    }

    @Test("keys set the same settings as flags")
    func keys() throws {
        let configuration = try parse("""
            {"data-root": "/d", "pidfile": "/p.pid", "bridge": "br1", "bip": "10.9.0.1/16",
             "iptables": false, "icc": true, "mtu": 1450, "dns": ["10.0.0.53"], "hosts": ["unix:///c.sock"],
             "log-level": "debug", "insecure-registries": ["127.0.0.1:5000"]}
            """)
        #expect(configuration.root == "/d")
        #expect(configuration.pidfile == "/p.pid")
        #expect(configuration.bridge == "br1")
        #expect(configuration.bridgeIP == "10.9.0.1/16")
        #expect(!configuration.iptables)
        #expect(configuration.mtu == 1450)
        #expect(configuration.dns == ["10.0.0.53"])
        #expect(configuration.hosts == ["unix:///c.sock"])
        #expect(configuration.logLevel == .debug)
        #expect(configuration.insecureRegistries == ["127.0.0.1:5000"])
    }

    @Test("flag and file conflict")
    func conflict() {
        do {
            _ = try parse(#"{"bip": "10.9.0.1/16"}"#, ["--bip", "10.8.0.1/16"])
            Issue.record("expected a conflict")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("specified both as a flag and in the configuration file"))
            #expect(error.message.contains("10.8.0.1/16"))
            #expect(error.message.contains("10.9.0.1/16"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("boolean conflict prints true")
    func booleanConflict() {
        do {
            _ = try parse(#"{"debug": true}"#, ["--debug"])
            Issue.record("expected a conflict")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("debug: (from flag: true, from file: true)"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("empty file means no settings", arguments: ["", "  \n\t\n"])
    func emptyFile(_ text: String) throws {
        let configuration = try parse(text, ["--bip", "10.8.0.1/16"])
        #expect(configuration.bridgeIP == "10.8.0.1/16")
        #expect(configuration.root == DaemonConfiguration().root)
    }

    @Test("unknown keys, wrong types and bad JSON are errors", arguments: [
        #"{"no-such-key": 1}"#, #"{"mtu": "big"}"#, #"{"iptables": "yes"}"#, #"{"dns": "10.0.0.1"}"#, "not json", "[1]",
    ])
    func invalidFiles(_ json: String) {
        #expect(throws: ConfigurationError.self) { try parse(json) }
    }

    @Test("a named config file that does not exist is an error")
    func missingFile() {
        #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse(["--config-file", "/nonexistent/swiftd.json"])
        }
    }
}
