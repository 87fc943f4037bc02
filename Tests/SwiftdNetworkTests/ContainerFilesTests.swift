import SwiftdNetwork
import Testing

@Suite("container network files")
struct ContainerFilesTests {
    static let hostResolvConf = """
        # written by the host
        domain host.test
        search host.test
        nameserver 127.0.0.53
        nameserver 10.0.0.2
        options edns0

        """

    @Test("resolv.conf keeps non-loopback host servers")
    func resolvConfCopiesHost() {
        let result = ContainerFiles.resolvConf(
            host: Self.hostResolvConf, dns: [], search: [], options: [])
        #expect(result.nameservers == ["10.0.0.2"])
        #expect(
            result.text
                == "# written by the host\ndomain host.test\nsearch host.test\noptions edns0\n"
                + "nameserver 10.0.0.2\n")
    }

    @Test("resolv.conf with --dns, search and options")
    func resolvConfOverrides() {
        let result = ContainerFiles.resolvConf(
            host: Self.hostResolvConf, dns: ["10.9.9.9", "10.8.8.8"], search: ["a.test", "b.test"],
            options: ["ndots:2"])
        #expect(result.nameservers == ["10.9.9.9", "10.8.8.8"])
        #expect(
            result.text
                == "# written by the host\nsearch a.test b.test\nnameserver 10.9.9.9\n"
                + "nameserver 10.8.8.8\noptions ndots:2\n")
    }

    @Test("resolv.conf of a loopback-only host is empty")
    func resolvConfLoopbackOnly() {
        let result = ContainerFiles.resolvConf(
            host: "nameserver 127.0.0.53\nnameserver ::1\n", dns: [], search: [], options: [])
        #expect(result.nameservers.isEmpty)
        #expect(result.text.isEmpty)
    }

    @Test("hosts file with address and extra entries")
    func hostsFile() {
        let text = ContainerFiles.hosts(
            hostname: "box", domainname: "example.test", address: "172.17.0.2",
            extra: [.init(address: "10.1.2.3", names: ["db", "store"])])
        let lines = text.split(separator: "\n")
        #expect(lines.first == "127.0.0.1\tlocalhost")
        #expect(lines.count == 8)
        #expect(lines[6] == "172.17.0.2\tbox.example.test box")
        #expect(lines[7] == "10.1.2.3\tdb store")
    }

    @Test("own host names as dockerd writes them")
    func ownHostNames() {
        #expect(ContainerFiles.hostNames(hostname: "box", domainname: "") == ["box"])
        #expect(ContainerFiles.hostNames(hostname: "a.b", domainname: "") == ["a.b", "a"])
        #expect(ContainerFiles.hostNames(hostname: "a.b", domainname: "c") == ["a.b.c", "a"])
        #expect(ContainerFiles.hostNames(hostname: "box", domainname: "x.y") == ["box.x.y", "box"])
        let text = ContainerFiles.hosts(
            hostname: "web.internal", address: "172.17.0.2", extra: [])
        #expect(text.contains("172.17.0.2\tweb.internal web\n"), "\(text)")
    }

    @Test("hosts file without an address")
    func hostsFileWithoutAddress() {
        let text = ContainerFiles.hosts(hostname: "box", address: nil, extra: [])
        #expect(!text.contains("box"))
    }

    @Test("extra host parsing")
    func extraHosts() {
        #expect(
            ContainerFiles.parseExtraHost("db:10.1.2.3")
                == .init(address: "10.1.2.3", names: ["db"]))
        #expect(ContainerFiles.parseExtraHost("v6:fe80::1")?.address == "fe80::1")
        #expect(ContainerFiles.parseExtraHost("nocolon") == nil)
        #expect(ContainerFiles.parseExtraHost(":10.1.2.3") == nil)
    }

    @Test("link environment as Docker writes it")
    func linkEnvironment() {
        let environment = ContainerFiles.linkEnvironment(
            alias: "my-db", parentName: "web", childIP: "172.17.0.3",
            ports: [ExposedPort(port: 6379), ExposedPort(port: 53, proto: "udp")],
            childEnvironment: ["PATH=/bin", "HOME=/root", "PASSWORD=x=y"])
        #expect(
            environment == [
                "MY_DB_PORT=udp://172.17.0.3:53",
                "MY_DB_PORT_53_UDP=udp://172.17.0.3:53",
                "MY_DB_PORT_53_UDP_ADDR=172.17.0.3",
                "MY_DB_PORT_53_UDP_PORT=53",
                "MY_DB_PORT_53_UDP_PROTO=udp",
                "MY_DB_PORT_6379_TCP=tcp://172.17.0.3:6379",
                "MY_DB_PORT_6379_TCP_ADDR=172.17.0.3",
                "MY_DB_PORT_6379_TCP_PORT=6379",
                "MY_DB_PORT_6379_TCP_PROTO=tcp",
                "MY_DB_NAME=/web/my-db",
                "MY_DB_ENV_PASSWORD=x=y",
            ])
    }

    @Test("port key parsing")
    func portKeys() {
        #expect(ContainerFiles.parsePortKey("80/tcp") == ExposedPort(port: 80))
        #expect(ContainerFiles.parsePortKey("53/UDP") == ExposedPort(port: 53, proto: "udp"))
        #expect(ContainerFiles.parsePortKey("8080") == ExposedPort(port: 8080))
        #expect(ContainerFiles.parsePortKey("0/tcp") == nil)
        #expect(ContainerFiles.parsePortKey("80/sctp") == nil)
        #expect(ContainerFiles.parsePortKey("x") == nil)
    }

    @Test("host network resolv.conf keeps loopback servers")
    func hostNetworkResolvConf() {
        let host = Self.hostResolvConf
        #expect(
            ContainerFiles.hostNetworkResolvConf(host: host, dns: [], search: [], options: [])
                == host)
        let searched = ContainerFiles.hostNetworkResolvConf(
            host: host, dns: [], search: ["x.test"], options: [])
        #expect(ContainerFiles.nameservers(in: searched) == ["127.0.0.53", "10.0.0.2"])
        #expect(searched.contains("search x.test\n"))
        #expect(!searched.contains("search host.test"))
        let replaced = ContainerFiles.hostNetworkResolvConf(
            host: host, dns: ["10.9.9.9"], search: [], options: ["ndots:2"])
        #expect(ContainerFiles.nameservers(in: replaced) == ["10.9.9.9"])
        #expect(replaced.contains("options ndots:2\n"))
    }

    @Test("add-host values checked as dockerd")
    func extraHostChecks() {
        #expect(ContainerFiles.extraHostProblem("db:10.1.2.3") == nil)
        #expect(ContainerFiles.extraHostProblem("six:fd00::1") == nil)
        #expect(ContainerFiles.extraHostProblem("gw:host-gateway") == nil)
        #expect(
            ContainerFiles.extraHostProblem("db:database")
                == "invalid IP address in add-host: \"database\"")
        #expect(ContainerFiles.extraHostProblem("db") == "bad format for add-host: \"db\"")
        #expect(
            ContainerFiles.extraHostProblem(":10.1.2.3")
                == "bad format for add-host: \":10.1.2.3\"")
    }
}
