import Foundation
import Testing

/// `POST /images/create?fromSrc=-` through curl, for the raw answer.
@Suite("image import", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageImportEndToEndTests {
    @Test("import answers with the image ID")
    func importAnswer() throws {
        try DaemonHarness.withDaemon { daemon in
            let archive = "\(daemon.work)/busybox.tar"
            let answer = try post(daemon, archive, query: "repo=127.0.0.1:5000/imported/box&tag=v1")
            #expect(answer.status.hasSuffix("200"), "\(answer)")
            let lines = answer.body.split(separator: "\n")
            #expect(lines.count == 1, "\(answer.body)")
            let message = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
            let id = try #require(message?["status"] as? String, "\(answer.body)")
            #expect(id.hasPrefix("sha256:"))
            let inspected = try daemon.client(["inspect", "--format", "{{.Id}}", "127.0.0.1:5000/imported/box:v1"])
            #expect(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id, "\(inspected.stderr)")

            // Off a terminal, the client prints the image ID alone.
            let client = try daemon.client(["import", archive])
            #expect(client.status == 0, "\(client.stderr)")
            #expect(client.stdout.hasPrefix("sha256:"), "\(client.stdout)")
            #expect(client.stdout.split(separator: "\n").count == 1, "\(client.stdout)")
        }
    }

    @Test("broken import stores nothing")
    func brokenImport() throws {
        try DaemonHarness.withDaemon { daemon in
            let before = try daemon.client(["images", "-q", "--no-trunc"]).stdout
            let whole = try Data(contentsOf: URL(fileURLWithPath: "\(daemon.work)/busybox.tar"))
            let broken = "\(daemon.work)/broken.tar"
            try whole.prefix(whole.count - 700_000).write(to: URL(fileURLWithPath: broken))

            // As from dockerd: the status says the import failed, for clients that check it.
            let answer = try post(daemon, broken, query: "repo=127.0.0.1:5000/broken/box")
            #expect(answer.status.hasSuffix("400"), "\(answer)")
            #expect(answer.body.contains(#"{"message":"invalid archive entry"#), "\(answer.body)")
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

    /// Posts `archive` as an import and returns the response's status code and body.
    private func post(_ daemon: DaemonHarness, _ archive: String, query: String) throws
        -> (status: String, body: String)
    {
        let output = try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-sS", "-X", "POST", "-H", "Content-Type: application/x-tar", "-w", "\n%{http_code}",
                "--data-binary", "@\(archive)", "--unix-socket", daemon.socket,
                "http://x/v1.45/images/create?fromSrc=-&\(query)",
            ]
        ).stdout
        let parts = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(parts.last ?? ""), parts.dropLast().joined(separator: "\n"))
    }
}
