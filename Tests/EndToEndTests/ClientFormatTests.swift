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

            let images = try daemon.client(["images", "--format", "{{.Repository}}:{{.Tag}} {{len .ID}} {{lenn .ID}}"])
            #expect(images.status == 125)
            #expect(images.stderr.contains("function \"lenn\" not defined"))
            let imageLength = try daemon.client(["images", "--format", "{{.Repository}} {{len .ID}}"])
            #expect(imageLength.stdout == "busybox 12\n")
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

    @Test("control flow and printf")
    func controlFlow() throws {
        try DaemonHarness.withDaemon { daemon in
            let started = try daemon.client([
                "run", "-d", "--name", "flow", "--label", "b=2", "--label", "a=1", "-e", "X=1", "busybox", "sleep", "60",
            ])
            #expect(started.status == 0, "\(started.stderr)")
            defer { _ = try? daemon.client(["rm", "-f", "flow"]) }

            let labels = try daemon.client([
                "inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "flow",
            ])
            #expect(labels.stdout == "a=1;b=2;\n")
            let state = try daemon.client([
                "inspect", "-f", #"{{if .State.Running}}{{printf "%s pid>0:%t" .State.Status (gt .State.Pid 0)}}{{else}}stopped{{end}}"#,
                "flow",
            ])
            #expect(state.stdout == "running pid>0:true\n", "\(state.stderr)")
            let count = try daemon.client(["inspect", "-f", #"{{len .Config.Cmd}} {{printf "%-5s|" .Config.Image}}"#, "flow"])
            #expect(count.stdout == "2 busybox|\n")
            let ps = try daemon.client(["ps", "--format", #"{{if eq .State "running"}}{{.Names | upper}}{{end}}"#])
            #expect(ps.stdout == "FLOW\n")

            let failed = try daemon.client(["inspect", "-f", "{{len .State.Pid}}", "flow"])
            #expect(failed.status == 1)
            #expect(failed.stderr.contains("len of"), "\(failed.stderr)")
            let unclosed = try daemon.client(["inspect", "-f", "{{if .State.Running}}x", "flow"])
            #expect(unclosed.status == 125)
            #expect(unclosed.stderr.contains("missing {{end}}"), "\(unclosed.stderr)")
        }
    }

    @Test("ps json matches docker keys")
    func psJSONKeys() throws {
        try DaemonHarness.withDaemon { daemon in
            let started = try daemon.client(["run", "-d", "--name", "keys", "--label", "team=core", "busybox", "sleep", "60"])
            #expect(started.status == 0, "\(started.stderr)")
            defer { _ = try? daemon.client(["rm", "-f", "keys"]) }
            let line = try daemon.client(["ps", "--format", "json"]).stdout
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let keys = [
                "Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks",
                "Ports", "RunningFor", "Size", "State", "Status",
            ]
            #expect(object.keys.sorted() == keys)
            #expect(object["Labels"] as? String == "team=core")
            #expect(object["Size"] as? String == "0B")
            let label = try daemon.client(["ps", "--format", #"{{.Label "team"}}"#])
            #expect(label.stdout == "core\n")
        }
    }
}
