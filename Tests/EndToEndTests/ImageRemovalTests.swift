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
}
