import Foundation
import Testing

/// `diff` and `commit` of a container leave out the mount points of the network files, as
/// dockerd's init layer does. `export` has them as empty files.
@Suite(
    "container diff", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ContainerDiffTests {
    /// Returns the entry names of the top layer of `image`, read from a `save` archive.
    static func topLayerEntries(_ daemon: DaemonHarness, _ image: String) throws -> [String] {
        let archive = "\(daemon.work)/top-layer.tar"
        let saved = try daemon.client(["save", "-o", archive, image])
        guard saved.status == 0 else { throw HarnessError("save failed: \(saved.stderr)") }
        let script = """
            import json, sys, tarfile
            outer = tarfile.open(sys.argv[1])
            manifest = json.load(outer.extractfile("manifest.json"))
            layer = tarfile.open(fileobj=outer.extractfile(manifest[0]["Layers"][-1]))
            print("\\n".join(layer.getnames()))
            """
        let listed = try DaemonHarness.capture("/usr/bin/python3", ["-c", script, archive])
        guard listed.status == 0 else { throw HarnessError("listing failed: \(listed.stderr)") }
        return listed.stdout.split(separator: "\n").map(String.init)
    }

    @Test("network files hidden from diff")
    func networkFilesHidden() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client([
                "run", "--name", "differ", "busybox", "sh", "-c", "echo made > /made.txt",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let diff = try daemon.client(["diff", "differ"])
            #expect(diff.status == 0, "\(diff.stderr)")
            #expect(diff.stdout == "A /made.txt\n", "\(diff.stdout)")

            let committed = try daemon.client(["commit", "differ", "127.0.0.1:5000/diff/box"])
            #expect(committed.status == 0, "\(committed.stderr)")
            let entries = try Self.topLayerEntries(daemon, "127.0.0.1:5000/diff/box")
            #expect(entries == ["made.txt"], "\(entries)")

            // export is the whole rootfs, with the mount points as empty files.
            let exported = "\(daemon.work)/exported.tar"
            #expect(try daemon.client(["export", "-o", exported, "differ"]).status == 0)
            let listing = try DaemonHarness.capture("/usr/bin/tar", ["-tvf", exported]).stdout
            #expect(listing.contains("etc/hosts\n"), "\(listing)")
            #expect(listing.contains("made.txt\n"), "\(listing)")

            // The container still starts with its network files mounted.
            let started = try daemon.client(["start", "differ"])
            #expect(started.status == 0, "\(started.stderr)")
            #expect(try daemon.client(["wait", "differ"]).stdout == "0\n")
            let hosts = try daemon.client(["run", "--rm", "busybox", "cat", "/etc/hosts"])
            #expect(hosts.stdout.contains("localhost"), "\(hosts.stdout)")
            #expect(try daemon.client(["rm", "differ"]).status == 0)
        }
    }
}
