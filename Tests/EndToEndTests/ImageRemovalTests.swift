import Foundation
import Testing

/// `rmi` by reference as dockerd does it: the last reference of an image a container uses,
/// and the digest references of a pulled image, through the client and the API.
@Suite(
    "image removal", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageRemovalTests {
    /// Sends `DELETE /images/NAME` and returns the reply followed by its status.
    static func deleteThroughAPI(_ daemon: DaemonHarness, _ name: String) throws -> String {
        try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-s", "-w", " %{http_code}", "--unix-socket", daemon.socket, "-X", "DELETE",
                "http://x/v1.45/images/\(name)",
            ]
        ).stdout
    }

    @Test("last tag of used image kept")
    func lastTagOfUsedImage() throws {
        try DaemonHarness.withDaemon { daemon in
            let name = "127.0.0.1:5000/used/box"
            let imported = try daemon.client([
                "import", "-c", "LABEL purpose=removal", "\(daemon.work)/busybox.tar", name,
            ])
            #expect(imported.status == 0, "\(imported.stderr)")
            let id = try daemon.client(["images", "-q", "--no-trunc", name]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let short = String(id.dropFirst("sha256:".count).prefix(12))
            #expect(try daemon.client(["tag", name, "\(name):second"]).status == 0)
            let run = try daemon.client(["run", "-d", "--name", "user", name, "sleep", "60"])
            #expect(run.status == 0, "\(run.stderr)")
            let container = run.stdout.prefix(12)

            // Another tag remains: a plain untag.
            let untagged = try daemon.client(["rmi", "\(name):second"])
            #expect(untagged.status == 0, "\(untagged.stderr)")
            #expect(untagged.stdout == "Untagged: \(name):second\n")

            let rejected = try daemon.client(["rmi", name])
            #expect(rejected.status == 1)
            #expect(
                rejected.stderr.contains(
                    "conflict: unable to remove repository reference \"\(name)\" (must force) - "
                        + "container \(container) is using its referenced image \(short)"),
                "\(rejected.stderr)")
            #expect(try daemon.client(["stop", "-t", "0", "user"]).status == 0)
            let api = try Self.deleteThroughAPI(daemon, name)
            #expect(api.hasSuffix(" 409"), "\(api)")
            #expect(api.contains("unable to remove repository reference"), "\(api)")
            #expect(try daemon.client(["images", "-q", name]).stdout.count == 13)

            let forced = try daemon.client(["rmi", "-f", name])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stdout == "Untagged: \(name):latest\n", "\(forced.stdout)")
            let remaining = try daemon.client(["images", "-q", "--no-trunc", "-a"]).stdout
            #expect(remaining.contains(id), "\(remaining)")
            #expect(try daemon.client(["rm", "user"]).status == 0)
            #expect(try daemon.client(["rmi", id]).stdout.contains("Deleted: \(id)"))
        }
    }

    @Test("invalid names are 400, upper-case hosts valid")
    func invalidNames() throws {
        try DaemonHarness.withDaemon { daemon in
            let upper = try Self.deleteThroughAPI(daemon, "Busybox")
            #expect(upper.hasSuffix(" 400"), "\(upper)")
            #expect(upper.contains("repository name (library/Busybox) must be lowercase"), "\(upper)")
            let missing = try Self.deleteThroughAPI(daemon, "nosuchimage")
            #expect(missing.hasSuffix(" 404"), "\(missing)")

            // Upper case marks a registry host, as in Docker's references.
            let tagged = try daemon.client(["tag", "busybox", "Host:5000/box"])
            #expect(tagged.status == 0, "\(tagged.stderr)")
            let listed = try daemon.client(["images", "--format", "{{.Repository}}", "Host:5000/box"])
            #expect(listed.stdout == "Host:5000/box\n", "\(listed.stdout)")
            let removed = try Self.deleteThroughAPI(daemon, "Host:5000/box")
            #expect(removed.hasSuffix(" 200"), "\(removed)")
        }
    }

    @Test(
        "pulled image gone with its tag",
        .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
    func pulledImageGone() throws {
        try DaemonHarness.withDaemon { daemon in
            let registry = try RegistryHarness(directory: daemon.work)
            defer { registry.stop() }
            let archive = "\(daemon.work)/busybox-saved.tar"
            #expect(try daemon.client(["save", "-o", archive, "busybox"]).status == 0)
            let id = try daemon.client(["images", "-q", "--no-trunc", "busybox"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try registry.push(archive: archive, as: "e2e/removal:v1")
            #expect(try daemon.client(["rmi", "busybox"]).status == 0)

            let name = "\(registry.host)/e2e/removal:v1"
            let pulled = try daemon.client(["pull", name])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            let removed = try daemon.client(["rmi", name])
            #expect(removed.status == 0, "\(removed.stderr)")
            let lines = removed.stdout.split(separator: "\n")
            #expect(lines.first == "Untagged: \(name)", "\(removed.stdout)")
            #expect(
                lines.contains { $0.hasPrefix("Untagged: \(registry.host)/e2e/removal@sha256:") },
                "\(removed.stdout)")
            #expect(lines.contains("Deleted: \(id)"), "\(removed.stdout)")
            let left = try daemon.client(["images", "-a", "-q"])
            #expect(left.stdout.isEmpty, "\(left.stdout)")

            // Through the API, with a container on the image: 409 until the container goes.
            #expect(try daemon.client(["pull", name]).status == 0)
            #expect(try daemon.client(["create", "--name", "holder", name, "true"]).status == 0)
            let rejected = try Self.deleteThroughAPI(daemon, name)
            #expect(rejected.hasSuffix(" 409"), "\(rejected)")
            #expect(try daemon.client(["rm", "holder"]).status == 0)
            let deleted = try Self.deleteThroughAPI(daemon, name)
            #expect(deleted.hasSuffix(" 200"), "\(deleted)")
            #expect(deleted.contains(#""Deleted":"\#(id)""#), "\(deleted)")
            #expect(try daemon.client(["images", "-a", "-q"]).stdout.isEmpty)
            try daemon.importBusybox()
        }
    }
}
