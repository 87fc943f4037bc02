import Foundation
import Testing

/// save, load, export, commit, diff and history through the client.
@Suite("image archives", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageArchiveEndToEndTests {
    @Test("save then load into another daemon gives the same image")
    func saveAndLoad() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.client(["images", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let archive = "\(daemon.work)/saved.tar"
            let saved = try daemon.client(["save", "-o", archive, "busybox"])
            #expect(saved.status == 0, "\(saved.stderr)")
            #expect(try daemon.client(["rmi", "busybox"]).status == 0)
            let loaded = try daemon.client(["load", "-i", archive])
            #expect(loaded.status == 0, "\(loaded.stderr)")
            #expect(loaded.stdout.contains("Loaded image: busybox:latest"))
            let after = try daemon.client(["images", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(after == id)
            let tampered = "\(daemon.work)/tampered.tar"
            try Data("not an archive".utf8).write(to: URL(fileURLWithPath: tampered))
            let rejected = try daemon.client(["load", "-i", tampered])
            #expect(rejected.status == 1)
            #expect(try daemon.client(["images", "-q", "--no-trunc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        }
    }

    @Test("load streams layer progress unless quiet")
    func loadProgress() throws {
        try DaemonHarness.withDaemon { daemon in
            let archive = "\(daemon.work)/progress.tar"
            #expect(try daemon.client(["save", "-o", archive, "busybox"]).status == 0)
            func load(_ query: String) throws -> String {
                try DaemonHarness.capture(
                    "/usr/bin/curl",
                    [
                        "-s", "-X", "POST", "-H", "Content-Type: application/x-tar",
                        "--data-binary", "@\(archive)", "--unix-socket", daemon.socket,
                        "http://x/v1.45/images/load\(query)",
                    ]
                ).stdout
            }
            let loud = try load("")
            let messages = loud.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let layers = messages.filter { $0["status"] as? String == "Loading layer" }
            #expect(!layers.isEmpty, "\(loud)")
            let details = layers.compactMap { $0["progressDetail"] as? [String: Any] }
            #expect(details.first?["current"] as? Int == 0, "\(loud)")
            #expect(details.last?["current"] as? Int == details.last?["total"] as? Int, "\(loud)")
            #expect(loud.contains("Loaded image: busybox:latest"), "\(loud)")
            let quiet = try load("?quiet=1")
            #expect(!quiet.contains("Loading layer"), "\(quiet)")
            #expect(quiet.contains("Loaded image: busybox:latest"), "\(quiet)")
        }
    }

    @Test("diff, commit, history and export of a container")
    func commitAndExport() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client(["run", "--name", "changer", "busybox", "sh", "-c", "echo hi > /added; rm /etc/group; echo x >> /etc/passwd"])
            #expect(run.status == 0)
            let diff = try daemon.client(["diff", "changer"])
            let lines = Set(diff.stdout.split(separator: "\n").map(String.init))
            #expect(lines.contains("A /added"))
            #expect(lines.contains("D /etc/group"))
            #expect(lines.contains("C /etc/passwd"))
            let commit = try daemon.client(["commit", "-m", "my change", "changer", "changed:v1"])
            #expect(commit.status == 0, "\(commit.stderr)")
            #expect(commit.stdout.hasPrefix("sha256:"))
            let check = try daemon.client(["run", "--rm", "changed:v1", "sh", "-c", "cat /added; test -e /etc/group || echo gone"])
            #expect(check.stdout == "hi\ngone\n")
            let history = try daemon.client(["history", "changed:v1"])
            #expect(history.stdout.contains("my change"))
            let ids = try daemon.client(["history", "-q", "--no-trunc", "changed:v1"])
            #expect(ids.status == 0, "\(ids.stderr)")
            let imageID = commit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(ids.stdout.split(separator: "\n").first.map(String.init) == imageID, "\(ids.stdout)")
            let raw = try daemon.client(["history", "-H=false", "--format", "{{.Size}}|{{.CreatedSince}}|{{.Comment}}", "changed:v1"])
            #expect(raw.status == 0, "\(raw.stderr)")
            let top = raw.stdout.split(separator: "\n").first.map(String.init) ?? ""
            let fields = top.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            #expect(fields.count == 3, "\(raw.stdout)")
            #expect(fields.first.flatMap { Int($0) } != nil, "size in bytes: \(top)")
            #expect(fields.dropFirst().first?.hasSuffix("Z") == true, "RFC 3339 time: \(top)")
            #expect(fields.last == "my change")
            let exported = "\(daemon.work)/export.tar"
            #expect(try daemon.client(["export", "-o", exported, "changer"]).status == 0)
            let listing = try DaemonHarness.capture("/usr/bin/tar", ["-tf", exported]).stdout
            #expect(listing.contains("added"))
            #expect(listing.contains("bin/busybox"))
            #expect(daemon.mountPoints(under: daemon.root).isEmpty)
        }
    }
}
