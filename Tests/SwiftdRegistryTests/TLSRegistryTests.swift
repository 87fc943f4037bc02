import Foundation
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem
import Testing

/// A CA and a server certificate for 127.0.0.1 made with the openssl command.
struct TestCertificates {
    let ca: String
    let certificate: String
    let key: String

    init(in directory: String) throws {
        ca = directory + "/ca.crt"
        certificate = directory + "/server.crt"
        key = directory + "/server.key"
        let caKey = directory + "/ca.key"
        let request = directory + "/server.csr"
        let extensions = directory + "/san.cnf"
        try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca,
                "-days", "2", "-subj", "/CN=swiftd test CA",
            ])
        try run(
            "/usr/bin/openssl",
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
                "-subj", "/CN=127.0.0.1",
            ])
        try FileSystem.writeAtomically(extensions, Array("subjectAltName=IP:127.0.0.1\n".utf8))
        try run(
            "/usr/bin/openssl",
            [
                "x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
                "-out", certificate, "-days", "2", "-extfile", extensions,
            ])
    }
}

@Suite(
    "A registry behind TLS", .serialized,
    .enabled(if: isRoot, "extracts layers with their owners"),
    .enabled(if: hasRegistry, "needs docker-registry and skopeo (apt-get install)"))
struct TLSRegistryTests {
    @Test("certs.d CA trusted, else rejected")
    func verifiesCertificate() throws {
        let work = try TemporaryDirectory("pull-tls")
        defer { work.remove() }
        let certificates = try TestCertificates(in: work.path)
        let registry = try RegistryFixture(
            directory: work.path, tls: (certificates.certificate, certificates.key))
        defer { registry.stop() }
        let (archive, source) = try makeBusyboxArchive(in: work.path)
        try registry.push(archive: archive, as: "secure/busybox:v1")
        let reference = try Reference(parsing: "\(registry.host)/secure/busybox:v1")

        let certsD = work.path + "/certs.d"
        try FileSystem.createDirectory(certsD + "/" + registry.host, mode: 0o755)
        try FileSystem.writeAtomically(
            certsD + "/" + registry.host + "/ca.crt", try FileSystem.read(certificates.ca))
        let trusted = RegistryClient(
            host: registry.host, credentials: nil,
            options: RegistryOptions(certificatesDirectory: certsD, loopbackIsInsecure: false))
        let graph = try Graph(root: work.path + "/root")
        #expect(
            try ImagePuller(graph: graph).pull(reference, from: trusted) { _ in }.image.id
                == source.id)

        let untrusted = RegistryClient(
            host: registry.host, credentials: nil,
            options: RegistryOptions(
                certificatesDirectory: work.path + "/empty", loopbackIsInsecure: false))
        let error = #expect(throws: RegistryError.self) {
            try untrusted.manifest("secure/busybox", reference: "v1")
        }
        #expect(error?.message.contains("certificate verification failed") == true)
    }
}

@Suite(
    "A registry behind a token server", .serialized,
    .enabled(if: isRoot, "extracts layers with their owners"),
    .enabled(if: hasRegistry, "needs docker-registry and skopeo (apt-get install)"))
struct TokenRegistryTests {
    @Test("the bearer flow: a token per scope, fetched with the credentials")
    func bearerFlow() throws {
        let work = try TemporaryDirectory("pull-token")
        defer { work.remove() }
        let tokens = try TokenServer(
            directory: work.path, service: "swiftd-test", issuer: "swiftd-test-issuer",
            repository: "tok/busybox", user: "tester", password: "t0ken")
        defer { tokens.stop() }
        let registry = try RegistryFixture(
            directory: work.path,
            extra: """
                auth:
                  token:
                    realm: http://127.0.0.1:\(tokens.port)/token
                    service: swiftd-test
                    issuer: swiftd-test-issuer
                    rootcertbundle: \(tokens.certificate)

                """)
        defer { registry.stop() }
        let options = RegistryOptions(certificatesDirectory: "/nonexistent")
        let client = RegistryClient(
            host: registry.host,
            credentials: RegistryCredentials(username: "tester", password: "t0ken"),
            options: options)
        let (_, source) = try makeBusyboxArchive(in: work.path)
        let store = try Graph(root: work.path + "/source-root")
        let reference = try Reference(parsing: "\(registry.host)/tok/busybox:v1")
        _ = try ImagePusher(graph: store).push("busybox:latest", to: reference, client: client) {
            _ in
        }
        #expect(tokens.queries.contains { $0.contains("scope=repository:tok/busybox:pull,push") })
        #expect(tokens.queries.allSatisfy { $0.contains("service=swiftd-test") })

        let graph = try Graph(root: work.path + "/root")
        #expect(
            try ImagePuller(graph: graph).pull(reference, from: client) { _ in }.image.id
                == source.id)
        #expect(tokens.queries.contains { $0.contains("scope=repository:tok/busybox:pull") })

        let wrong = RegistryClient(
            host: registry.host,
            credentials: RegistryCredentials(username: "tester", password: "x"),
            options: options)
        let error = #expect(throws: RegistryError.self) {
            try wrong.manifest("tok/busybox", reference: "v1")
        }
        #expect(error?.message.contains("token server responded 401") == true)
    }
}
