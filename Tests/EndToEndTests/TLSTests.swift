import Foundation
import Testing

/// tcp:// listeners with TLS, checked with curl as the client.
@Suite("TLS listener", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct TLSTests {
    /// A CA, a server certificate for 127.0.0.1 and ::1, and a client certificate, made with openssl.
    struct Certificates {
        let directory: String
        var ca: String { "\(directory)/ca.pem" }
        var serverCert: String { "\(directory)/server-cert.pem" }
        var serverKey: String { "\(directory)/server-key.pem" }
        var clientCert: String { "\(directory)/client-cert.pem" }
        var clientKey: String { "\(directory)/client-key.pem" }

        init(in directory: String) throws {
            self.directory = directory
            let script = """
                set -e
                cd \(directory)
                openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=swiftd-test-ca 2>/dev/null
                openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1 2>/dev/null
                printf 'subjectAltName=IP:127.0.0.1,IP:::1\\nextendedKeyUsage=serverAuth\\n' > server.ext
                openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 1 -extfile server.ext 2>/dev/null
                openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj /CN=client 2>/dev/null
                printf 'extendedKeyUsage=clientAuth\\n' > client.ext
                openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client-cert.pem -days 1 -extfile client.ext 2>/dev/null
                """
            let result = try DaemonHarness.capture("/bin/sh", ["-c", script])
            guard result.status == 0 else { throw HarnessError("making certificates failed: \(result.stderr)") }
        }
    }

    /// A loopback port that nothing listens on now.
    func freePort() -> Int {
        // Below the ephemeral range, where the kernel also picks the local ports of outgoing
        // connections, which a listener cannot bind either.
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
        let listening = (try? DaemonHarness.capture("/usr/bin/ss", ["-ltanH"]).stdout) ?? ""
        var port: Int
        repeat { port = Int.random(in: 20000...max(20001, range - 1)) } while listening.contains(":\(port) ")
        return port
    }

    func curl(_ arguments: [String]) throws -> CommandResult {
        try DaemonHarness.capture("/usr/bin/curl", ["-s", "--max-time", "10"] + arguments)
    }

    @Test("tlsverify accepts a client certificate and rejects a client without one")
    func tlsVerify() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try Certificates(in: harness.work)
        let port = freePort()
        try harness.start(extraArguments: [
            "-H", "tcp://127.0.0.1:\(port)", "--tlsverify", "--tlscacert", certificates.ca,
            "--tlscert", certificates.serverCert, "--tlskey", certificates.serverKey,
        ])
        let url = "https://127.0.0.1:\(port)/_ping"
        let withCertificate = try curl(["--cacert", certificates.ca, "--cert", certificates.clientCert, "--key", certificates.clientKey, url])
        #expect(withCertificate.status == 0, "\(withCertificate.stderr)")
        #expect(withCertificate.stdout == "OK")

        let without = try curl(["--cacert", certificates.ca, url])
        #expect(without.status != 0)
        #expect(without.stdout.isEmpty)

        let plain = try curl(["http://127.0.0.1:\(port)/_ping"])
        #expect(plain.stdout != "OK")
        #expect(harness.stop() == 0)
    }

    @Test("tlsverify on an IPv6 address")
    func tlsVerifyIPv6() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try Certificates(in: harness.work)
        let port = freePort()
        try harness.start(extraArguments: [
            "-H", "tcp://[::1]:\(port)", "--tlsverify", "--tlscacert", certificates.ca,
            "--tlscert", certificates.serverCert, "--tlskey", certificates.serverKey,
        ])
        #expect(harness.daemonLog.contains("API listen on tcp://[::1]:\(port)"), "\(harness.daemonLog)")
        let url = "https://[::1]:\(port)/v1.45/containers/json"
        let withCertificate = try curl([
            "-g", "--cacert", certificates.ca, "--cert", certificates.clientCert, "--key", certificates.clientKey, url,
        ])
        #expect(withCertificate.status == 0, "\(withCertificate.stderr)")
        #expect(withCertificate.stdout == "[]")

        let without = try curl(["-g", "--cacert", certificates.ca, url])
        #expect(without.status != 0)
        #expect(without.stdout.isEmpty)

        // A listener on ::1 leaves the IPv4 loopback's port free.
        let ipv4 = try curl(["--cacert", certificates.ca, "https://127.0.0.1:\(port)/_ping"])
        #expect(ipv4.status != 0)
        #expect(harness.stop() == 0)
    }

    @Test("tls without verify serves clients that have no certificate")
    func tlsOnly() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try Certificates(in: harness.work)
        let port = freePort()
        try harness.start(extraArguments: [
            "-H", "tcp://127.0.0.1:\(port)", "--tls", "--tlscert", certificates.serverCert, "--tlskey", certificates.serverKey,
        ])
        let version = try curl(["--cacert", certificates.ca, "https://127.0.0.1:\(port)/v1.45/version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.contains("\"ApiVersion\":\"1.45\""))
        #expect(harness.stop() == 0)
    }

    @Test("plain TCP is served when asked for, with a warning")
    func plainTCP() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let port = freePort()
        try harness.start(extraArguments: ["-H", "tcp://127.0.0.1:\(port)"])
        let ping = try curl(["http://127.0.0.1:\(port)/_ping"])
        #expect(ping.stdout == "OK")
        #expect(harness.daemonLog.contains("without TLS"))
        #expect(harness.stop() == 0)
    }

    @Test("a host name listener binds its IPv4 address")
    func hostNameListener() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let port = freePort()
        // localhost comes from /etc/hosts: no name server is asked.
        try harness.start(extraArguments: ["-H", "tcp://localhost:\(port)"])
        let ping = try curl(["http://127.0.0.1:\(port)/_ping"])
        #expect(ping.stdout == "OK")
        #expect(harness.daemonLog.contains("API listen on tcp://localhost:\(port)"))
        #expect(harness.stop() == 0)
    }
}
