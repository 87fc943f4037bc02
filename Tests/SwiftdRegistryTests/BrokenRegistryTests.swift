import Foundation
import Synchronization
import SwiftdCrypto
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem
import Testing

/// Registries that misbehave, played by a small server of the test's own.
@Suite("Misbehaving registries")
struct BrokenRegistryTests {
    let options = RegistryOptions(certificatesDirectory: "/nonexistent")

    @Test("truncated blob rejected and removed")
    func truncatedBlob() throws {
        let work = try TemporaryDirectory("blob-cut")
        defer { work.remove() }
        let blob = [UInt8](repeating: 7, count: 100_000)
        let digest = "sha256:" + SHA256.hash(blob)
        let blobRequests = Shared(0)
        let server = try LoopbackServer { request in
            if request.hasPrefix("GET /v2/ ") {
                return Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8)
            }
            blobRequests.value.withLock { $0 += 1 }
            // Promises the whole blob and sends half of it.
            return Array("HTTP/1.1 200 OK\r\nContent-Length: \(blob.count)\r\n\r\n".utf8)
                + blob.prefix(blob.count / 2)
        }
        defer { server.stop() }
        let client = RegistryClient(
            host: "127.0.0.1:\(server.port)", credentials: nil, options: options)
        let descriptor = Descriptor(
            mediaType: "application/octet-stream", digest: digest, size: Int64(blob.count))
        let error = #expect(throws: RegistryError.self) {
            try client.download("cut/blob", descriptor, to: work.path + "/blob")
        }
        #expect(error?.message.contains("50000 bytes of the response body missing") == true)
        #expect(!FileSystem.exists(work.path + "/blob"))
        #expect(blobRequests.value.withLock { $0 } == 1)
    }

    @Test("manifest digest mismatch rejected")
    func manifestDigestMismatch() throws {
        let manifest = #"{"schemaVersion":2,"mediaType":"\#(ManifestMediaType.ociManifest)"}"#
        let server = try LoopbackServer { request in
            if request.hasPrefix("GET /v2/ ") {
                return Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8)
            }
            return Array(
                ("HTTP/1.1 200 OK\r\nContent-Type: \(ManifestMediaType.ociManifest)\r\n"
                    + "Content-Length: \(manifest.utf8.count)\r\n\r\n" + manifest).utf8)
        }
        defer { server.stop() }
        let client = RegistryClient(
            host: "127.0.0.1:\(server.port)", credentials: nil, options: options)
        let expected = "sha256:" + String(repeating: "ab", count: 32)
        let error = #expect(throws: RegistryError.self) {
            try client.manifest("bad/manifest", reference: expected)
        }
        #expect(error?.message.contains("rejected") == true)
    }

    @Test("unknown manifest media type rejected")
    func unknownMediaType() throws {
        let body = #"{"schemaVersion":1,"name":"old/schema"}"#
        let server = try LoopbackServer { request in
            if request.hasPrefix("GET /v2/ ") {
                return Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".utf8)
            }
            return Array(
                ("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution"
                    + ".manifest.v1+prettyjws\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                    + body).utf8)
        }
        defer { server.stop() }
        let client = RegistryClient(
            host: "127.0.0.1:\(server.port)", credentials: nil, options: options)
        let error = #expect(throws: RegistryError.self) {
            try client.manifest("old/schema", reference: "latest")
        }
        #expect(error?.message.contains("manifest.v1+prettyjws") == true)
    }
}
