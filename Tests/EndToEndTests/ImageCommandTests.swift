import Foundation
import Testing

/// The `image` and `system` command groups, forced removal of an image a stopped container
/// uses, digest targets of `tag`, and the image prune response, through the client and the API.
@Suite(
    "image commands", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageCommandTests {
    /// Sends a request with curl and returns the body followed by a space and the status.
    static func request(_ daemon: DaemonHarness, _ method: String, _ path: String) throws -> String {
        try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-s", "-g", "-w", " %{http_code}", "--unix-socket", daemon.socket, "-X", method,
                "http://x/v1.45\(path)",
            ]
        ).stdout
    }

    static func imageID(_ daemon: DaemonHarness, _ name: String) throws -> String {
        try daemon.client(["image", "inspect", "-f", "{{.Id}}", name]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("image group runs the image commands")
    func imageGroup() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try Self.imageID(daemon, "busybox")
            #expect(id.hasPrefix("sha256:"), "\(id)")
            #expect(try daemon.client(["image", "tag", "busybox", "grouped/box:one"]).status == 0)
            let listed = try daemon.client(["image", "ls", "grouped/box"])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.contains("grouped/box"), "\(listed.stdout)")
            #expect(try daemon.client(["image", "list", "-q"]).stdout.count == 13)
            let history = try daemon.client(["image", "history", "grouped/box:one"])
            #expect(history.status == 0, "\(history.stderr)")
            let removed = try daemon.client(["image", "rm", "grouped/box:one"])
            #expect(removed.stdout == "Untagged: grouped/box:one\n", "\(removed.stdout)")
            let unknown = try daemon.client(["image", "frobnicate"])
            #expect(unknown.status == 125, "\(unknown.stderr)")
            #expect(unknown.stderr.contains("unknown image command: frobnicate"), "\(unknown.stderr)")

            let usage = try daemon.client(["system", "df"])
            #expect(usage.status == 0, "\(usage.stderr)")
            let lines = usage.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("TYPE") == true, "\(usage.stdout)")
            let imagesRow = lines.first { $0.hasPrefix("Images ") }?.split(separator: " ") ?? []
            #expect(imagesRow.count > 1 && imagesRow[1] == "1", "\(usage.stdout)")
            let verbose = try daemon.client(["system", "df", "-v"])
            #expect(verbose.stdout.contains("Images space usage:"), "\(verbose.stdout)")
            #expect(verbose.stdout.contains(String(id.dropFirst(7).prefix(12))), "\(verbose.stdout)")
            let formatted = try daemon.client(["system", "df", "--format", "{{.Type}}={{.TotalCount}}"])
            #expect(formatted.stdout.hasPrefix("Images=1\nContainers="), "\(formatted.stdout)")
            let table = try daemon.client(["system", "df", "--format", "table {{.Type}}\t{{.Active}}"])
            let tableLines = table.stdout.split(separator: "\n")
            #expect(tableLines.first?.split(separator: " ") == ["TYPE", "ACTIVE"], "\(table.stdout)")
            #expect(tableLines.dropFirst().first?.split(separator: " ") == ["Images", "0"], "\(table.stdout)")

            // Named and unused: only --all takes it.
            let dangling = try daemon.client(["image", "prune", "-f"])
            #expect(dangling.status == 0, "\(dangling.stderr)")
            #expect(dangling.stdout == "Total reclaimed space: 0B\n", "\(dangling.stdout)")
            let filtered = try daemon.client(["image", "prune", "-a", "-f", "--filter", "label=absent"])
            #expect(filtered.stdout == "Total reclaimed space: 0B\n", "\(filtered.stdout)")
            let all = try daemon.client(["image", "prune", "-a", "-f"])
            #expect(all.status == 0, "\(all.stderr)")
            #expect(all.stdout.hasPrefix("Deleted Images:\nuntagged: busybox:latest\n"), "\(all.stdout)")
            #expect(all.stdout.contains("deleted: \(id)\n"), "\(all.stdout)")
            #expect(try daemon.client(["images", "-q"]).stdout.isEmpty)
        }
    }

    @Test("image prune items are bare")
    func pruneItemsBare() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try Self.imageID(daemon, "busybox")
            let filters = "%7B%22dangling%22%3A%5B%22false%22%5D%7D"
            let reply = try Self.request(daemon, "POST", "/images/prune?filters=\(filters)")
            #expect(reply.hasSuffix(" 200"), "\(reply)")
            let body = String(reply.dropLast(4))
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            let items = json?["ImagesDeleted"] as? [[String: String]] ?? []
            #expect(items.contains { $0["Untagged"] == "busybox:latest" }, "\(body)")
            #expect(items.contains { $0["Deleted"] == id }, "\(body)")
            #expect(!body.contains("Deleted: "), "\(body)")
            #expect((json?["SpaceReclaimed"] as? Int ?? 0) > 0, "\(body)")
        }
    }

    @Test("forced rmi by ID of stopped user")
    func forcedRemovalStoppedUser() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try Self.imageID(daemon, "busybox")
            let created = try daemon.client(["create", "--name", "keeper", "busybox", "true"])
            #expect(created.status == 0, "\(created.stderr)")

            let plain = try daemon.client(["rmi", id])
            #expect(plain.status == 1)
            #expect(plain.stderr.contains("must be forced"), "\(plain.stderr)")
            let forced = try daemon.client(["rmi", "-f", id])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stdout.contains("Untagged: busybox:latest\n"), "\(forced.stdout)")
            #expect(forced.stdout.contains("Deleted: \(id)\n"), "\(forced.stdout)")
            #expect(try daemon.client(["images", "-a", "-q"]).stdout.isEmpty)

            // The container keeps the image ID and its layers, so it still runs.
            let image = try daemon.client(["inspect", "-f", "{{.Image}}", "keeper"]).stdout
            #expect(image == "\(id)\n")
            let started = try daemon.client(["start", "keeper"])
            #expect(started.status == 0, "\(started.stderr)")
            #expect(try daemon.client(["wait", "keeper"]).stdout == "0\n")

            // Removing the container frees the layers it kept.
            #expect(try daemon.client(["rm", "keeper"]).status == 0)
            let layers = try FileManager.default.contentsOfDirectory(atPath: "\(daemon.root)/layers/sha256")
            #expect(layers.isEmpty, "\(layers)")
        }
    }

    @Test("forced rmi by ID of running user rejected")
    func forcedRemovalRunningUser() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try Self.imageID(daemon, "busybox")
            let run = try daemon.client(["run", "-d", "--name", "busy", "busybox", "sleep", "60"])
            #expect(run.status == 0, "\(run.stderr)")
            let forced = try daemon.client(["rmi", "-f", id])
            #expect(forced.status == 1)
            #expect(forced.stderr.contains("cannot be forced"), "\(forced.stderr)")
            #expect(try Self.imageID(daemon, id) == id)
            #expect(try daemon.client(["rm", "-f", "busy"]).status == 0)
        }
    }

    @Test("tag with digest rejected")
    func tagWithDigest() throws {
        try DaemonHarness.withDaemon { daemon in
            let digest = "sha256:" + String(repeating: "ab", count: 32)
            let cli = try daemon.client(["tag", "busybox", "foo@\(digest)"])
            #expect(cli.status == 1)
            #expect(
                cli.stderr == "Error response from daemon: refusing to create a tag with a digest "
                    + "reference\n", "\(cli.stderr)")
            let api = try Self.request(daemon, "POST", "/images/busybox/tag?repo=foo%40\(digest)")
            #expect(api.hasSuffix(" 400"), "\(api)")
            #expect(api.contains("refusing to create a tag with a digest reference"), "\(api)")
            let references = try daemon.client(["image", "inspect", "-f", "{{json .RepoDigests}}", "busybox"])
            #expect(references.stdout == "[]\n", "\(references.stdout)")
        }
    }
}
