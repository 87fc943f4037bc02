import Foundation
import SwiftdGraph
import SwiftdRegistry
import SwiftdSystem
import Testing

@Suite(
    "Pushing to a real registry", .serialized,
    .enabled(if: isRoot, "extracts layers with their owners"),
    .enabled(if: hasRegistry, "needs docker-registry and skopeo (apt-get install)"))
struct ImagePusherTests {
    let options = RegistryOptions(certificatesDirectory: "/nonexistent")

    @Test("push then pull gives the same image ID and digest, monolithic and chunked")
    func roundTrip() throws {
        let work = try TemporaryDirectory("push")
        defer { work.remove() }
        let (_, source) = try makeBusyboxArchive(in: work.path)
        let store = try Graph(root: work.path + "/source-root")

        for (label, chunkSize) in [("mono", Int64(16 << 20)), ("chunked", Int64(256 << 10))] {
            try FileSystem.createDirectory(work.path + "/" + label, mode: 0o700)
            let registry = try RegistryFixture(directory: work.path + "/" + label)
            defer { registry.stop() }
            let client = RegistryClient(host: registry.host, credentials: nil, options: options)
            let target = try Reference(parsing: "\(registry.host)/\(label)/busybox:v1")
            let log = ProgressLog()
            let pushed = try ImagePusher(graph: store, chunkSize: chunkSize).push(
                "busybox:latest", to: target, client: client, progress: log.record)
            #expect(log.statuses.filter { $0 == "Pushed" }.count == 2, Comment(rawValue: label))
            #expect(log.statuses.last == "v1: digest: \(pushed.digest) size: \(pushed.size)")
            if chunkSize < 1 << 20 {
                // The busybox layer is about 2 MB: several PATCH requests reported progress.
                #expect(log.all.filter { $0.status == "Pushing" }.count > 2)
            }

            let graph = try Graph(root: work.path + "/" + label + "/root")
            let pulled = try ImagePuller(graph: graph).pull(target, from: client) { _ in }
            #expect(pulled.image.id == source.id, Comment(rawValue: label))
            #expect(pulled.digest == pushed.digest, Comment(rawValue: label))

            let again = ProgressLog()
            let second = try ImagePusher(graph: store, chunkSize: chunkSize).push(
                "busybox:latest", to: target, client: client, progress: again.record)
            #expect(second.digest == pushed.digest)
            #expect(again.statuses.filter { $0 == "Layer already exists" }.count == 2)
            #expect(!again.statuses.contains("Pushed"))
        }
    }

    @Test("layers pulled from one repository are mounted into another, not uploaded")
    func crossRepositoryMount() throws {
        let work = try TemporaryDirectory("push-mount")
        defer { work.remove() }
        let registry = try RegistryFixture(directory: work.path)
        defer { registry.stop() }
        let (archive, source) = try makeBusyboxArchive(in: work.path)
        try registry.push(archive: archive, as: "origin/busybox:v1")
        let client = RegistryClient(host: registry.host, credentials: nil, options: options)
        let graph = try Graph(root: work.path + "/root")
        let origin = try Reference(parsing: "\(registry.host)/origin/busybox:v1")
        _ = try ImagePuller(graph: graph).pull(origin, from: client) { _ in }

        let copy = try Reference(parsing: "\(registry.host)/copy/busybox:v2")
        let log = ProgressLog()
        _ = try ImagePusher(graph: graph).push(
            origin.familiarString, to: copy, client: client, progress: log.record)
        #expect(log.statuses.filter { $0 == "Mounted from origin/busybox" }.count == 2)
        #expect(!log.statuses.contains("Pushed"))

        let other = try Graph(root: work.path + "/other")
        #expect(
            try ImagePuller(graph: other).pull(copy, from: client) { _ in }.image.id == source.id)
    }

    @Test("pushing an unknown image is a not-found error")
    func unknownImage() throws {
        let work = try TemporaryDirectory("push-unknown")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root")
        let client = RegistryClient(host: "127.0.0.1:9", credentials: nil, options: options)
        let error = #expect(throws: SwiftdError.self) {
            try ImagePusher(graph: graph).push(
                "nothing:here", to: try Reference(parsing: "127.0.0.1:9/nothing:here"),
                client: client
            ) { _ in }
        }
        #expect(error?.kind == .notFound)
    }
}
