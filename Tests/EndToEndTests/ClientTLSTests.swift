import Foundation
import Testing

/// The client's TLS flags and environment against a daemon that serves TLS on tcp://.
@Suite("client TLS", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ClientTLSTests {
    /// Starts a daemon on `host` (with `{PORT}` replaced by a free port) that requires client
    /// certificates signed by `certificates.ca`, serving `serverCertificates`' server
    /// certificate. Returns the address with the port.
    func startDaemon(
        _ harness: DaemonHarness, host: String, certificates: TLSTests.Certificates,
        serverCertificates: TLSTests.Certificates? = nil
    ) throws -> String {
        let server = serverCertificates ?? certificates
        let address = host.replacingOccurrences(of: "{PORT}", with: "\(TLSTests().freePort())")
        try harness.start(extraArguments: [
            "-H", address, "--tlsverify", "--tlscacert", certificates.ca,
            "--tlscert", server.serverCert, "--tlskey", server.serverKey,
        ])
        return address
    }

    /// Runs the client with `arguments`, and with `environment` added to the test's own.
    func client(_ arguments: [String], environment: [String] = []) throws -> CommandResult {
        try DaemonHarness.capture("/usr/bin/env", environment + [DaemonHarness.binary] + arguments)
    }

    @Test("client certificate lists containers", arguments: ["tcp://127.0.0.1:{PORT}", "tcp://[::1]:{PORT}"])
    func clientCertificate(_ host: String) throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try TLSTests.Certificates(in: harness.work)
        let address = try startDaemon(harness, host: host, certificates: certificates)
        let ps = try client([
            "-H", address, "--tlsverify", "--tlscacert", certificates.ca,
            "--tlscert", certificates.clientCert, "--tlskey", certificates.clientKey, "ps",
        ])
        #expect(ps.status == 0, "\(ps.stderr)")
        #expect(ps.stdout.hasPrefix("CONTAINER ID"), "\(ps.stdout)")
        #expect(ps.stderr.isEmpty, "\(ps.stderr)")
        #expect(harness.stop() == 0)
    }

    @Test("DOCKER_TLS_VERIFY and DOCKER_CERT_PATH")
    func environmentSettings() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try TLSTests.Certificates(in: harness.work)
        let address = try startDaemon(harness, host: "tcp://127.0.0.1:{PORT}", certificates: certificates)
        let certificatePath = "\(harness.work)/client-certs"
        try FileManager.default.createDirectory(atPath: certificatePath, withIntermediateDirectories: true)
        for (source, name) in [
            (certificates.ca, "ca.pem"), (certificates.clientCert, "cert.pem"), (certificates.clientKey, "key.pem"),
        ] {
            try FileManager.default.copyItem(atPath: source, toPath: "\(certificatePath)/\(name)")
        }
        let environment = ["DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=\(certificatePath)"]
        let version = try client(["-H", address, "version"], environment: environment)
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.contains("API version:      1.45"), "\(version.stdout)")

        // Without the variables the client speaks plain HTTP, which the TLS listener rejects.
        let plain = try client(["-H", address, "version"])
        #expect(plain.status != 0)

        // Without cert.pem and key.pem the client has no certificate to present.
        try FileManager.default.removeItem(atPath: "\(certificatePath)/cert.pem")
        try FileManager.default.removeItem(atPath: "\(certificatePath)/key.pem")
        let withoutCertificate = try client(["-H", address, "ps"], environment: environment)
        #expect(withoutCertificate.status != 0)
        #expect(withoutCertificate.stderr.split(separator: "\n").count == 1, "\(withoutCertificate.stderr)")
        #expect(harness.stop() == 0)
    }

    @Test("client without a certificate fails")
    func withoutCertificate() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try TLSTests.Certificates(in: harness.work)
        let address = try startDaemon(harness, host: "tcp://127.0.0.1:{PORT}", certificates: certificates)
        let ps = try client(["-H", address, "--tlsverify", "--tlscacert", certificates.ca, "ps"])
        #expect(ps.status != 0)
        #expect(ps.stdout.isEmpty, "\(ps.stdout)")
        #expect(ps.stderr.split(separator: "\n").count == 1, "\(ps.stderr)")
        #expect(ps.stderr.contains("certificate"), "\(ps.stderr)")
        #expect(harness.stop() == 0)
    }

    @Test("server certificate from another CA fails")
    func untrustedServer() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try TLSTests.Certificates(in: harness.work)
        let otherDirectory = "\(harness.work)/other-ca"
        try FileManager.default.createDirectory(atPath: otherDirectory, withIntermediateDirectories: true)
        let other = try TLSTests.Certificates(in: otherDirectory)
        let address = try startDaemon(
            harness, host: "tcp://127.0.0.1:{PORT}", certificates: certificates, serverCertificates: other)
        let ps = try client([
            "-H", address, "--tlsverify", "--tlscacert", certificates.ca,
            "--tlscert", certificates.clientCert, "--tlskey", certificates.clientKey, "ps",
        ])
        #expect(ps.status == 125)
        #expect(ps.stdout.isEmpty, "\(ps.stdout)")
        #expect(ps.stderr.split(separator: "\n").count == 1, "\(ps.stderr)")
        #expect(ps.stderr.contains("certificate verification failed"), "\(ps.stderr)")

        // --tls without --tlsverify does not check the server's certificate.
        let unverified = try client([
            "-H", address, "--tls", "--tlscert", certificates.clientCert, "--tlskey", certificates.clientKey, "ps",
        ])
        #expect(unverified.status == 0, "\(unverified.stderr)")
        #expect(harness.stop() == 0)
    }

    @Test("missing TLS files exit 125", arguments: [
        (["--tlsverify", "--tlscacert", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
        (["--tls", "--tlscert", "/nonexistent/cert.pem", "--tlskey", "/nonexistent/key.pem"], "/nonexistent/cert.pem"),
        (["--tls", "--tlscert", "/etc/hostname"], "--tlskey"),
        (["--tlscacert=/nonexistent/ca.pem", "--tlsverify=true"], "/nonexistent/ca.pem"),
    ])
    func missingFiles(_ flags: [String], _ named: String) throws {
        // Port 9 (discard) on loopback: the client stops before connecting.
        let result = try client(["-H", "tcp://127.0.0.1:9"] + flags + ["ps"])
        #expect(result.status == 125)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(named), "\(result.stderr)")
    }
}
