import Foundation
import Testing

/// pull, and run of a missing image, against Debian's docker-registry on loopback.
@Suite(
    "registry pull", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"),
    .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
struct RegistryPullTests {
    @Test("pull streams progress and registers the image; run pulls a missing image")
    func pullAndRun() throws {
        try DaemonHarness.withDaemon { daemon in
            let registry = try RegistryHarness(directory: daemon.work)
            defer { registry.stop() }
            let archive = "\(daemon.work)/busybox-saved.tar"
            #expect(try daemon.client(["save", "-o", archive, "busybox"]).status == 0)
            let id = try daemon.client(["images", "-q", "--no-trunc"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try registry.push(archive: archive, as: "e2e/busybox:v1")
            #expect(try daemon.client(["rmi", "busybox"]).status == 0)

            let name = "\(registry.host)/e2e/busybox:v1"
            let pulled = try daemon.client(["pull", name])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            #expect(pulled.stdout.contains("Pull complete"))
            #expect(pulled.stdout.contains("Digest: sha256:"))
            #expect(pulled.stdout.contains("Status: Downloaded newer image for \(name)"))
            let inspect = try daemon.client(["inspect", name])
            #expect(
                inspect.stdout.contains("\"Id\": \"\(id)\"")
                    || inspect.stdout.contains("\"Id\":\"\(id)\""))

            let again = try daemon.client(["pull", name])
            #expect(again.status == 0)
            #expect(again.stdout.contains("Status: Image is up to date for \(name)"))

            try registry.push(archive: archive, as: "e2e/other:v2")
            let other = "\(registry.host)/e2e/other:v2"
            let run = try daemon.client(["run", "--rm", other, "echo", "ran-after-pull"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("Unable to find image '\(other)' locally"))
            #expect(run.stdout.contains("ran-after-pull"))
        }
    }

    @Test("an unreachable registry fails the pull with a clear message and status 1")
    func unreachable() throws {
        try DaemonHarness.withDaemon { daemon in
            let failed = try daemon.client(["pull", "127.0.0.1:9/no/such:image"])
            #expect(failed.status == 1)
            #expect(failed.stderr.contains("127.0.0.1:9"))
            #expect(failed.stderr.contains("Connection refused"))
            let run = try daemon.client(["run", "--rm", "127.0.0.1:9/no/such:image", "true"])
            #expect(run.status == 125)
        }
    }
}
