import Foundation
import Testing

/// `top` and `stats` through the API and the client.
@Suite(
    "container top and stats", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerStatsTests {
    /// The JSON body of a raw response.
    func body(_ response: String) throws -> Any {
        let start = try #require(response.range(of: "\r\n\r\n"))
        var text = String(response[start.upperBound...])
        // A chunked body: the first chunk holds the document.
        if response.contains("Transfer-Encoding: chunked"), let open = text.firstIndex(of: "{"),
            let close = text.lastIndex(of: "}")
        {
            text = String(text[open...close])
        }
        return try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    @Test("top lists the container's processes")
    func top() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client([
                "run", "-d", "busybox", "sh", "-c", "sleep 300 & sleep 301; true",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            Thread.sleep(forTimeInterval: 0.3)

            let response = try RawAPI.request(daemon.socket, "GET", "/containers/\(id)/top")
            #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
            let table = try body(response) as? [String: Any]
            let titles = table?["Titles"] as? [String] ?? []
            #expect(titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
            let commands = (table?["Processes"] as? [[String]] ?? []).map { $0.last ?? "" }
            #expect(commands.contains("sleep 300"), "\(commands)")
            #expect(commands.contains("sleep 301"))
            #expect(commands.contains("sh -c sleep 300 & sleep 301; true"))

            let custom = try RawAPI.request(
                daemon.socket, "GET", "/containers/\(id)/top?ps_args=-o%20pid,comm")
            let customTable = try body(custom) as? [String: Any]
            #expect(customTable?["Titles"] as? [String] == ["PID", "COMMAND"], "\(custom)")
            #expect((customTable?["Processes"] as? [[String]])?.count == 3)

            let client = try daemon.client(["top", id])
            #expect(client.stdout.contains("sleep 301"))

            #expect(try daemon.client(["stop", "-t", "0", id]).status == 0)
            let stopped = try RawAPI.request(daemon.socket, "GET", "/containers/\(id)/top")
            #expect(stopped.hasPrefix("HTTP/1.1 409"), "\(stopped)")
        }
    }

    @Test("stats reports memory, CPU, pids and network")
    func stats() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client(["run", "-d", "-m", "64m", "busybox", "sleep", "300"])
            #expect(run.status == 0, "\(run.stderr)")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? daemon.client(["rm", "-f", id]) }

            let response = try RawAPI.request(
                daemon.socket, "GET", "/containers/\(id)/stats?stream=0")
            let stats = try body(response) as? [String: Any] ?? [:]
            let memory = stats["memory_stats"] as? [String: Any]
            #expect(memory?["limit"] as? Int == 64 * 1024 * 1024, "\(stats)")
            #expect((memory?["usage"] as? Int ?? 0) > 0)
            #expect((stats["pids_stats"] as? [String: Any])?["current"] as? Int == 1)
            let cpu = stats["cpu_stats"] as? [String: Any]
            #expect(((cpu?["cpu_usage"] as? [String: Any])?["total_usage"] as? Int ?? 0) > 0)
            #expect((cpu?["system_cpu_usage"] as? Int ?? 0) > 0)
            #expect(stats["precpu_stats"] != nil)
            #expect((stats["networks"] as? [String: Any])?["eth0"] != nil, "\(stats)")
            #expect(stats["name"] as? String != nil)

            let client = try daemon.client(["stats", "--no-stream", id])
            #expect(client.status == 0, "\(client.stderr)")
            #expect(client.stdout.contains(" / 64MiB"), "\(client.stdout)")
        }
    }
}
