import Foundation
import Testing

/// `POST /images/create?fromSrc=-` through curl, for the raw progress stream.
@Suite("image import", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageImportEndToEndTests {
    @Test("import streams byte progress")
    func importProgress() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        // Over 512 KiB, so that a message comes before the end of the body too.
        let tree = "\(daemon.work)/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try Data(repeating: 0x5a, count: 3 << 20).write(to: URL(fileURLWithPath: "\(tree)/payload"))
        let archive = "\(daemon.work)/import.tar"
        let tar = try DaemonHarness.capture("/usr/bin/tar", ["-C", tree, "-cf", archive, "."])
        #expect(tar.status == 0, "\(tar.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int)

        let stream = try post(daemon, archive, query: "repo=127.0.0.1:5000/imported/box&tag=v1")
        let lines = stream.split(separator: "\n").map(String.init)
        let messages = lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        #expect(messages.count == lines.count, "\(stream)")
        let progress = messages.filter { $0["status"] as? String == "Importing" }
        let counts = progress.compactMap { ($0["progressDetail"] as? [String: Any])?["current"] as? Int }
        #expect(counts.count == progress.count, "\(stream)")
        #expect(counts.count >= 2, "\(stream)")
        #expect(counts == counts.sorted(), "\(stream)")
        #expect(counts.last == size, "\(stream)")
        #expect(progress.allSatisfy { ($0["progress"] as? String)?.isEmpty == false }, "\(stream)")

        let id = try #require(messages.last?["status"] as? String, "\(stream)")
        #expect(id.hasPrefix("sha256:"), "\(stream)")
        let inspected = try daemon.client(["inspect", "--format", "{{.Id}}", "127.0.0.1:5000/imported/box:v1"])
        #expect(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id, "\(inspected.stderr)")

        // Off a terminal, the client prints the image ID alone.
        let client = try daemon.client(["import", archive])
        #expect(client.status == 0, "\(client.stderr)")
        #expect(client.stdout.hasPrefix("sha256:"), "\(client.stdout)")
        #expect(client.stdout.split(separator: "\n").count == 1, "\(client.stdout)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("broken import stores nothing")
    func brokenImport() throws {
        try DaemonHarness.withDaemon { daemon in
            let before = try daemon.client(["images", "-q", "--no-trunc"]).stdout
            let whole = try Data(contentsOf: URL(fileURLWithPath: "\(daemon.work)/busybox.tar"))
            let broken = "\(daemon.work)/broken.tar"
            try whole.prefix(whole.count - 700_000).write(to: URL(fileURLWithPath: broken))

            let stream = try post(daemon, broken, query: "repo=127.0.0.1:5000/broken/box")
            #expect(stream.contains(#""status":"Importing""#), "\(stream)")
            #expect(stream.contains(#""error":"invalid archive entry"#), "\(stream)")
            #expect(!stream.contains(#""status":"sha256:"#), "\(stream)")
            #expect(try daemon.client(["images", "-q", "--no-trunc"]).stdout == before)
            let tagged = try daemon.client(["inspect", "127.0.0.1:5000/broken/box"])
            #expect(tagged.status != 0)
            #expect(tagged.stderr.contains("127.0.0.1:5000/broken/box"), "\(tagged.stderr)")

            let client = try daemon.client(["import", broken, "127.0.0.1:5000/broken/box"])
            #expect(client.status == 1)
            #expect(client.stderr.contains("invalid archive entry"), "\(client.stderr)")
            #expect(client.stdout.isEmpty, "\(client.stdout)")
            #expect(try daemon.client(["images", "-q", "--no-trunc"]).stdout == before)
            let spooled = (try? FileManager.default.contentsOfDirectory(atPath: "\(daemon.root)/tmp")) ?? []
            #expect(spooled.isEmpty)
        }
    }

    /// Posts `archive` as an import and returns the response body.
    private func post(_ daemon: DaemonHarness, _ archive: String, query: String) throws -> String {
        try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-sS", "-N", "-X", "POST", "-H", "Content-Type: application/x-tar",
                "--data-binary", "@\(archive)", "--unix-socket", daemon.socket,
                "http://x/v1.45/images/create?fromSrc=-&\(query)",
            ]
        ).stdout
    }
}
