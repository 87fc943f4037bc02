import Foundation
import Testing

/// Pushed layers are gzip-compressed, and a second push to the same registry sends no layer
/// bytes.
@Suite(
    "registry push of compressed layers", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"),
    .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
struct RegistryPushCacheTests {
    @Test("second push uploads no layers")
    func secondPushUploadsNoLayers() throws {
        try DaemonHarness.withDaemon { daemon in
            let accessLog = daemon.work + "/registry-access.log"
            let registry = try RegistryHarness(directory: daemon.work, accessLog: accessLog)
            defer { registry.stop() }
            let id = try daemon.client(["images", "-q", "--no-trunc", "busybox"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let first = "\(registry.host)/e2e/first:v1"
            let second = "\(registry.host)/e2e/second:v1"
            #expect(try daemon.client(["tag", "busybox", first]).status == 0)
            #expect(try daemon.client(["tag", "busybox", second]).status == 0)

            let pushed = try daemon.client(["push", first])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            #expect(pushed.stdout.contains("Pushed"))
            let manifest = try Self.manifest(registry, "e2e/first")
            #expect(manifest.contains("application/vnd.docker.image.rootfs.diff.tar.gzip"))
            let layerDigest = try #require(Self.layerDigests(manifest).first)
            let blobURL = "http://\(registry.host)/v2/e2e/first/blobs/\(layerDigest)"
            let blob = try DaemonHarness.capture(
                "/bin/sh", ["-c", "curl -sf \(blobURL) | gzip -t"])
            #expect(blob.status == 0, "the pushed layer is not gzip: \(blob.stderr)")

            let before = try String(contentsOfFile: accessLog, encoding: .utf8).count
            let again = try daemon.client(["push", second])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("Mounted from e2e/first"), "\(again.stdout)")
            #expect(!again.stdout.contains("Pushed"))
            let requests = String(
                try String(contentsOfFile: accessLog, encoding: .utf8).dropFirst(before))
            #expect(!requests.contains("\"PATCH "), "\(requests)")
            let uploads = requests.split(separator: "\n").filter {
                $0.contains("\"PUT /v2/e2e/second/blobs/uploads/")
                    && $0.contains(layerDigest.dropFirst("sha256:".count))
            }
            #expect(uploads.isEmpty, "\(uploads)")
            #expect(try Self.manifest(registry, "e2e/second") == manifest)

            #expect(try daemon.client(["rmi", "busybox", first, second]).status == 0)
            let pulled = try daemon.client(["pull", second])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            let pulledID = try daemon.client(["images", "-q", "--no-trunc", second]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(pulledID == id)
        }
    }

    /// Fetches the schema 2 manifest of `repository:v1` from the registry.
    private static func manifest(_ registry: RegistryHarness, _ repository: String) throws
        -> String
    {
        let fetched = try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-sf", "-H", "Accept: application/vnd.docker.distribution.manifest.v2+json",
                "http://\(registry.host)/v2/\(repository)/manifests/v1",
            ])
        guard fetched.status == 0 else { throw HarnessError("GET manifest failed") }
        return fetched.stdout
    }

    /// Lists the layer digests of a schema 2 manifest.
    private static func layerDigests(_ manifest: String) throws -> [String] {
        struct Manifest: Decodable {
            struct Layer: Decodable { var digest: String }
            var layers: [Layer]
        }
        let decoded = try JSONDecoder().decode(Manifest.self, from: Data(manifest.utf8))
        return decoded.layers.map(\.digest)
    }
}
