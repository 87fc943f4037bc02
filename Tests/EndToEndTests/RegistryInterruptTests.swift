import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A daemon killed with SIGKILL while a layer downloads leaves nothing half-registered, and the
/// next daemon on the same root pulls the image cleanly.
@Suite(
    "interrupted pull", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct RegistryInterruptTests {
    @Test("SIGKILL during layer download")
    func killDuringDownload() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()

        // One layer of 4 MiB of random bytes, so that half of it is well under way.
        let content = "\(daemon.work)/content"
        let layer = "\(daemon.work)/layer.tar"
        try FileManager.default.createDirectory(atPath: content, withIntermediateDirectories: true)
        let script =
            "head -c 4194304 /dev/urandom > \(content)/payload"
            + " && tar -C \(content) -cf \(layer) payload"
        let created = try DaemonHarness.capture("/bin/sh", ["-c", script])
        #expect(created.status == 0, "\(created.stderr)")
        let stub = try RegistryStub(repository: "e2e/stall", tag: "v1", layerPath: layer)
        defer { stub.stop() }
        stub.stalling = true
        let name = "\(stub.host)/e2e/stall:v1"

        let puller = Process()
        puller.executableURL = URL(fileURLWithPath: DaemonHarness.binary)
        puller.arguments = ["-H", "unix://\(daemon.socket)", "pull", name]
        puller.standardOutput = FileHandle.nullDevice
        puller.standardError = FileHandle.nullDevice
        try puller.run()
        try waitUntil("the stub sent half the layer") { stub.stalledRequests > 0 }
        // The daemon wrote that half into its pull directory.
        let hex = String(stub.layerDigest.dropFirst("sha256:".count))
        try waitUntil("a partial blob appeared") {
            Self.files(under: daemon.root).contains { $0.hasSuffix("/" + hex) }
        }

        let pid = try #require(daemon.process?.processIdentifier)
        kill(pid, SIGKILL)
        daemon.process?.waitUntilExit()
        puller.waitUntilExit()
        #expect(puller.terminationStatus != 0)

        try daemon.start()
        let left = Self.files(under: daemon.root).filter {
            let base = $0.split(separator: "/").last ?? ""
            return base.hasPrefix("tmp-") || base.hasPrefix(".tmp-") || base == hex
                || $0.contains("/tmp-") || $0.contains("/.tmp-")
        }
        #expect(left.isEmpty, "left after the restart: \(left)")
        let tmp = "\(daemon.root)/tmp"
        let spool = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
        #expect(spool.isEmpty, "left in tmp/: \(spool)")
        let inspect = try daemon.client(["image", "inspect", name])
        #expect(inspect.status != 0, "the interrupted image is registered: \(inspect.stdout)")
        let listed = try daemon.client(["images", "-q", "--no-trunc"]).stdout
        #expect(!listed.contains(stub.configDigest))

        stub.stalling = false
        let pulled = try daemon.client(["pull", name])
        #expect(pulled.status == 0, "\(pulled.stderr)\n\(daemon.daemonLog)")
        #expect(pulled.stdout.contains("Pull complete"))
        let id = try daemon.client(["images", "-q", "--no-trunc", name]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id == stub.configDigest)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    /// Polls `condition` every 10 ms for up to 30 s.
    private func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw HarnessError("timed out waiting until \(what)")
    }

    /// Lists the paths of every file and directory under `root`.
    private static func files(under root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        return walker.compactMap { ($0 as? String).map { root + "/" + $0 } }
    }
}
