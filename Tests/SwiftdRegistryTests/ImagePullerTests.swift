import Foundation
import Synchronization
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem
import Testing

/// Collects progress messages from the puller's threads.
final class ProgressLog: Sendable {
    private let messages = Mutex<[PullProgress]>([])

    var all: [PullProgress] { messages.withLock { $0 } }
    var statuses: [String] { all.map(\.status) }

    func record(_ message: PullProgress) { messages.withLock { $0.append(message) } }
}

@Suite(
    "Pulling from a real registry", .serialized,
    .enabled(if: isRoot, "extracts layers with their owners"),
    .enabled(if: hasRegistry, "needs docker-registry and skopeo (apt-get install)"))
struct ImagePullerTests {
    let options = RegistryOptions(certificatesDirectory: "/nonexistent")

    @Test("pulls by tag, then by digest, and a second pull skips the stored layers")
    func pullsByTagAndDigest() throws {
        let work = try TemporaryDirectory("pull")
        defer { work.remove() }
        let registry = try RegistryFixture(directory: work.path)
        defer { registry.stop() }
        let (archive, source) = try makeBusyboxArchive(in: work.path)
        try registry.push(archive: archive, as: "tests/busybox:v1")

        let graph = try Graph(root: work.path + "/root")
        let puller = ImagePuller(graph: graph)
        let client = RegistryClient(host: registry.host, credentials: nil, options: options)
        let first = ProgressLog()
        let reference = try Reference(parsing: "\(registry.host)/tests/busybox:v1")
        let pulled = try puller.pull(reference, from: client, progress: first.record)
        #expect(pulled.image.id == source.id)
        #expect(pulled.image.diffIDs == source.diffIDs)
        #expect(pulled.downloadedNewer)
        #expect(first.statuses.filter { $0 == "Pull complete" }.count == 2)
        #expect(first.all.contains { $0.status == "Downloading" && $0.total != nil })
        #expect(first.statuses.contains("Digest: \(pulled.digest)"))
        #expect(try graph.image("\(registry.host)/tests/busybox:v1").id == source.id)

        let byDigest = try Reference(parsing: "\(registry.host)/tests/busybox@\(pulled.digest)")
        let second = ProgressLog()
        let again = try puller.pull(byDigest, from: client, progress: second.record)
        #expect(again.image.id == source.id)
        #expect(second.statuses.filter { $0 == "Already exists" }.count == 2)
        #expect(!second.statuses.contains("Pulling fs layer"))
        #expect(try graph.image(byDigest.familiarString).id == source.id)
    }

    @Test("corrupted blob rejected, nothing stored")
    func rejectsCorruptedBlob() throws {
        let work = try TemporaryDirectory("pull-corrupt")
        defer { work.remove() }
        let registry = try RegistryFixture(directory: work.path)
        defer { registry.stop() }
        let (archive, _) = try makeBusyboxArchive(in: work.path)
        try registry.push(archive: archive, as: "tests/corrupt:v1")
        let client = RegistryClient(host: registry.host, credentials: nil, options: options)
        let manifest = try client.manifest("tests/corrupt", reference: "v1")
        let layers = try JSONDecoder().decode(ImageManifest.self, from: Data(manifest.bytes))
            .layers
        // Flip one byte in the middle of the larger layer.
        let target = try #require(layers.max { $0.size < $1.size })
        var bytes = try FileSystem.read(registry.blobPath(target.digest))
        bytes[bytes.count / 2] ^= 0xff
        try FileSystem.writeAtomically(registry.blobPath(target.digest), bytes)

        let graph = try Graph(root: work.path + "/root")
        let reference = try Reference(parsing: "\(registry.host)/tests/corrupt:v1")
        let error = #expect(throws: RegistryError.self) {
            try ImagePuller(graph: graph).pull(reference, from: client) { _ in }
        }
        #expect(error?.message.contains(target.digest) == true)
        #expect(error?.message.contains("rejected") == true)
        #expect(graph.images().isEmpty)
        #expect(graph.layers().isEmpty)
        #expect(try FileSystem.list(work.path + "/root/image").allSatisfy { !$0.hasPrefix("tmp-") })
    }

    @Test("an unreachable registry gives an error naming it")
    func unreachableRegistry() throws {
        let work = try TemporaryDirectory("pull-unreachable")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root")
        let client = RegistryClient(host: "127.0.0.1:9", credentials: nil, options: options)
        let reference = try Reference(parsing: "127.0.0.1:9/no/such:image")
        let error = #expect(throws: RegistryError.self) {
            try ImagePuller(graph: graph).pull(reference, from: client) { _ in }
        }
        #expect(error?.message.contains("127.0.0.1:9") == true)
        #expect(error?.message.contains("Connection refused") == true)
        #expect(error?.kind == .unavailable)
    }

    @Test("an unknown tag is a not-found error")
    func unknownTag() throws {
        let work = try TemporaryDirectory("pull-unknown")
        defer { work.remove() }
        let registry = try RegistryFixture(directory: work.path)
        defer { registry.stop() }
        let graph = try Graph(root: work.path + "/root")
        let client = RegistryClient(host: registry.host, credentials: nil, options: options)
        let reference = try Reference(parsing: "\(registry.host)/no/such:image")
        let error = #expect(throws: RegistryError.self) {
            try ImagePuller(graph: graph).pull(reference, from: client) { _ in }
        }
        #expect(error?.kind == .notFound)
        #expect(error?.message.contains("MANIFEST_UNKNOWN") == true)
    }

    @Test("basic auth with an htpasswd file: right, missing and wrong credentials")
    func basicAuthentication() throws {
        let work = try TemporaryDirectory("pull-auth")
        defer { work.remove() }
        let salt = "abcdefghijklmnopqrstuv"
        let hash = try run(
            "/usr/bin/python3",
            ["-c", "import crypt; print(crypt.crypt('s3cret', '$2b$05$\(salt)'))"])
        try FileSystem.writeAtomically(
            work.path + "/htpasswd",
            Array("tester:\(hash.trimmingCharacters(in: .whitespacesAndNewlines))\n".utf8))
        let registry = try RegistryFixture(directory: work.path, htpasswd: work.path + "/htpasswd")
        defer { registry.stop() }
        let (archive, source) = try makeBusyboxArchive(in: work.path)
        try registry.push(archive: archive, as: "private/busybox:v1", credentials: "tester:s3cret")

        let graph = try Graph(root: work.path + "/root")
        let reference = try Reference(parsing: "\(registry.host)/private/busybox:v1")
        let good = RegistryClient(
            host: registry.host,
            credentials: RegistryCredentials(username: "tester", password: "s3cret"),
            options: options)
        #expect(
            try ImagePuller(graph: graph).pull(reference, from: good) { _ in }.image.id == source.id
        )

        let anonymous = RegistryClient(host: registry.host, credentials: nil, options: options)
        let missing = #expect(throws: RegistryError.self) {
            try anonymous.manifest("private/busybox", reference: "v1")
        }
        #expect(missing?.message.contains("requires authentication") == true)
        let wrong = RegistryClient(
            host: registry.host,
            credentials: RegistryCredentials(username: "tester", password: "nope"),
            options: options)
        let rejected = #expect(throws: RegistryError.self) {
            try wrong.manifest("private/busybox", reference: "v1")
        }
        #expect(rejected?.message.contains("401") == true)
        #expect(rejected?.message.contains("nope") == false)
    }

    @Test("a manifest list: the host's platform is chosen, a missing platform is an error")
    func manifestList() throws {
        let work = try TemporaryDirectory("pull-index")
        defer { work.remove() }
        let registry = try RegistryFixture(directory: work.path)
        defer { registry.stop() }
        let (archive, source) = try makeBusyboxArchive(in: work.path)
        try registry.push(archive: archive, as: "multi/busybox:amd64")
        let client = RegistryClient(host: registry.host, credentials: nil, options: options)
        let single = try client.manifest("multi/busybox", reference: "amd64")
        let index = """
            {"schemaVersion":2,"mediaType":"\(ManifestMediaType.dockerManifestList)",\
            "manifests":[{"mediaType":"\(single.mediaType)","digest":"\(single.digest)",\
            "size":\(single.bytes.count),"platform":{"architecture":"arm64","os":"linux",\
            "variant":"v8"}},{"mediaType":"\(single.mediaType)","digest":"\(single.digest)",\
            "size":\(single.bytes.count),"platform":{"architecture":"amd64","os":"linux"}}]}
            """
        let indexDigest = try client.putManifest(
            "multi/busybox", reference: "latest", bytes: Array(index.utf8),
            mediaType: ManifestMediaType.dockerManifestList)

        let graph = try Graph(root: work.path + "/root")
        let reference = try Reference(parsing: "\(registry.host)/multi/busybox:latest")
        let pulled = try ImagePuller(graph: graph).pull(
            reference, from: client, platform: Platform(os: "linux", architecture: "amd64")
        ) { _ in }
        #expect(pulled.digest == indexDigest)
        #expect(pulled.image.id == source.id)

        let error = #expect(throws: RegistryError.self) {
            try ImagePuller(graph: graph).pull(
                reference, from: client, platform: try Platform(parsing: "linux/s390x")
            ) { _ in }
        }
        #expect(error?.message.contains("linux/s390x") == true)
        #expect(error?.message.contains("linux/arm64/v8") == true)
    }
}
