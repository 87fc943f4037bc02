import Foundation
import Testing

/// The `publish` and `expose` filters of `GET /containers/json`, through `swiftd ps`.
@Suite(
    "container list filters", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ContainerListFilterTests {
    @Test("publish by host port, expose by container port")
    func publishAndExpose() throws {
        try DaemonHarness.withDaemon { daemon in
            let web = try daemon.client([
                "run", "-d", "--name", "web", "-p", "127.0.0.1::80", "--expose", "9000/udp", "busybox", "sleep", "60",
            ])
            #expect(web.status == 0, "\(web.stderr)")
            let plain = try daemon.client(["run", "-d", "--name", "plain", "--expose", "80", "busybox", "sleep", "60"])
            #expect(plain.status == 0, "\(plain.stderr)")
            let created = try daemon.client(["create", "--name", "idle", "-p", "127.0.0.1::80", "busybox", "true"])
            #expect(created.status == 0, "\(created.stderr)")
            let mapping = try daemon.client(["port", "web", "80/tcp"]).stdout
            let hostPort = mapping.split(separator: ":").last.map { String($0.prefix { $0.isNumber }) } ?? ""
            #expect(Int(hostPort) != nil, "\(mapping)")

            func names(_ filter: String) throws -> [String] {
                let result = try daemon.client(["ps", "-a", "--format", "{{.Names}}", "--filter", filter])
                #expect(result.status == 0, "\(result.stderr)")
                return result.stdout.split(separator: "\n").map(String.init).sorted()
            }
            #expect(try names("publish=\(hostPort)") == ["web"])
            #expect(try names("publish=\(hostPort)/tcp") == ["web"])
            #expect(try names("publish=\(hostPort)/udp") == [])
            #expect(try names("publish=80") == [])
            #expect(try names("publish=1-65535") == ["web"])
            #expect(try names("expose=80") == ["idle", "plain", "web"])
            #expect(try names("expose=9000/udp") == ["web"])
            #expect(try names("expose=9000") == [])

            // A container that is not running lists no ports.
            let ports = try daemon.client(["ps", "-a", "--filter", "name=idle", "--format", "{{.Ports}}"])
            #expect(ports.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "", "\(ports.stdout)")

            let bad = try daemon.client(["ps", "--filter", "publish=eighty"])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("invalid filter 'publish=eighty'"), "\(bad.stderr)")
            let reversed = try daemon.client(["ps", "--filter", "expose=90-70"])
            #expect(reversed.status != 0)
            #expect(try daemon.client(["rm", "-f", "web", "plain", "idle"]).status == 0)
        }
    }

    @Test("image column after its tag moves")
    func movedTag() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["tag", "busybox", "moving:1"]).status == 0)
            let created = try daemon.client(["create", "--name", "old", "moving:1", "true"])
            #expect(created.status == 0, "\(created.stderr)")
            func image() throws -> String {
                let result = try daemon.client(["ps", "-a", "--filter", "name=old", "--format", "{{.Image}}"])
                #expect(result.status == 0, "\(result.stderr)")
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try image() == "moving:1")

            let commit = try daemon.client(["commit", "old", "moving:1"])
            #expect(commit.status == 0, "\(commit.stderr)")
            let id = try daemon.client(["inspect", "-f", "{{.Image}}", "old"]).stdout
            let shortID = String(id.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("sha256:".count).prefix(12))
            #expect(shortID.count == 12)
            #expect(try image() == shortID)
            #expect(try daemon.client(["rm", "old"]).status == 0)
        }
    }
}
