import Foundation
import Testing

/// `--format` Go templates in the client, with docker's field names.
@Suite("client formats", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ClientFormatTests {
    @Test("templates for ps, images, inspect, version, info")
    func templates() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["run", "-d", "--name", "shown", "--label", "team=core", "busybox", "sleep", "60"]).status == 0)

            let table = try daemon.client(["ps", "--format", "table {{.Names}}\\t{{.State}}\\t{{.Label \"team\"}}"])
            #expect(table.stdout == "NAMES   STATE     LABEL\nshown   running   core\n", "\(table.stdout)")
            let json = try daemon.client(["ps", "--format", "{{json .Names}} {{upper .State}}"])
            #expect(json.stdout == "\"shown\" RUNNING\n")
            let lines = try daemon.client(["ps", "--format", "json"]).stdout
            let object = try JSONSerialization.jsonObject(with: Data(lines.utf8)) as? [String: Any]
            #expect(object?["Names"] as? String == "shown")

            let images = try daemon.client(["images", "--format", "{{.Repository}}:{{.Tag}} {{len .ID}}"])
            #expect(images.status == 125)
            #expect(images.stderr.contains("function \"len\" not defined"))
            let imageRows = try daemon.client(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(imageRows.stdout == "busybox:latest\n")

            let inspected = try daemon.client(["inspect", "-f", "{{.State.Status}} {{json .Config.Cmd}} {{index .Config.Labels \"team\"}}", "shown"])
            #expect(inspected.stdout == "running [\"sleep\",\"60\"] core\n")
            let image = try daemon.client(["inspect", "--type", "image", "-f", "{{.Os}}/{{.Architecture}}", "busybox"])
            #expect(image.stdout == "linux/amd64\n")
            let wrongType = try daemon.client(["inspect", "--type", "image", "shown"])
            #expect(wrongType.status == 1)
            #expect(wrongType.stderr.contains("No such image: shown"))

            #expect(try daemon.client(["version", "-f", "{{.Server.APIVersion}}"]).stdout == "1.45\n")
            #expect(try daemon.client(["info", "-f", "{{.Driver}}"]).stdout == "overlay2\n")
            let unclosed = try daemon.client(["ps", "--format", "{{.Names"])
            #expect(unclosed.status == 125)
            #expect(unclosed.stderr.contains("unclosed"))
            #expect(try daemon.client(["rm", "-f", "shown"]).status == 0)
        }
    }
}
