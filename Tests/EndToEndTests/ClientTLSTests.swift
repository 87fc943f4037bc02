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
        #expect(ps.status == 125)
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

    @Test("plain HTTP to TLS daemon")
    func plainHTTPToDaemon() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try TLSTests.Certificates(in: harness.work)
        let address = try startDaemon(harness, host: "tcp://127.0.0.1:{PORT}", certificates: certificates)
        let ps = try client(["-H", address, "ps"])
        #expect(ps.status == 1)
        #expect(ps.stdout.isEmpty, "\(ps.stdout)")
        #expect(ps.stderr == "Error response from daemon: Client sent an HTTP request to an HTTPS server.\n")
        let url = address.replacingOccurrences(of: "tcp://", with: "http://") + "/_ping"
        let curl = try DaemonHarness.capture("/usr/bin/curl", ["-s", "-w", " %{http_code}", url])
        #expect(curl.stdout == "Client sent an HTTP request to an HTTPS server.\n 400")
        // The listener still serves TLS clients afterwards.
        let tls = try client([
            "-H", address, "--tlsverify", "--tlscacert", certificates.ca,
            "--tlscert", certificates.clientCert, "--tlskey", certificates.clientKey, "ps",
        ])
        #expect(tls.status == 0, "\(tls.stderr)")
        #expect(harness.stop() == 0)
    }

    /// Runs `program` until `body` returns, on a free loopback port that it listens on.
    func withServer(_ program: [String], port: Int, _ body: () throws -> Void) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = program
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = Pipe()
        try process.run()
        defer {
            // SIGKILL, because the test runner's children may inherit an ignored SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // Wait until the port accepts connections.
        for _ in 0..<100 {
            let probe = try DaemonHarness.capture("/usr/bin/env", ["python3", "-c",
                "import socket; socket.create_connection(('127.0.0.1', \(port)), 1).close()"])
            if probe.status == 0 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try body()
    }

    @Test("plain client to TLS server")
    func plainClientToTLSServer() throws {
        let port = TLSTests().freePort()
        // The TLS alert record (protocol version, fatal) that a TLS server sends for plain bytes.
        let program = ["python3", "-c", """
            import socket
            listener = socket.create_server(('127.0.0.1', \(port)))
            while True:
                connection, _ = listener.accept()
                connection.recv(4096)
                connection.sendall(bytes([0x15, 3, 3, 0, 2, 2, 70]))
                connection.close()
            """]
        try withServer(program, port: port) {
            let ps = try client(["-H", "tcp://127.0.0.1:\(port)", "ps"])
            #expect(ps.status == 125)
            #expect(ps.stderr.split(separator: "\n").count == 1, "\(ps.stderr)")
            #expect(ps.stderr.contains("use --tls or --tlsverify"), "\(ps.stderr)")
        }
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
