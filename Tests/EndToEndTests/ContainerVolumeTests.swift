import Foundation
import Testing

/// Bind mounts, named and anonymous volumes, and the volume API.
@Suite(
    "container volumes", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerVolumeTests {
    @Test("bind mounts read-write and read-only")
    func bindMounts() throws {
        try DaemonHarness.withDaemon { daemon in
            let host = "\(daemon.work)/bind-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            try "from host\n".write(toFile: "\(host)/in.txt", atomically: true, encoding: .utf8)

            let writable = try daemon.client([
                "run", "--rm", "-v", "\(host):/data", "busybox", "sh", "-c",
                "cat /data/in.txt; echo from container > /data/out.txt",
            ])
            #expect(writable.status == 0, "\(writable.stderr)")
            #expect(writable.stdout == "from host\n")
            let written = try String(contentsOfFile: "\(host)/out.txt", encoding: .utf8)
            #expect(written == "from container\n")

            let readOnly = try daemon.client([
                "run", "--rm", "--mount", "type=bind,source=\(host),target=/data,readonly",
                "busybox", "sh", "-c", "cat /data/in.txt; touch /data/new",
            ])
            #expect(readOnly.stdout == "from host\n")
            #expect(readOnly.status != 0)
            #expect(readOnly.stderr.contains("Read-only file system"), "\(readOnly.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(host)/new"))

            let missing = try daemon.client([
                "run", "--rm", "--mount", "type=bind,source=\(host)/nowhere,target=/data",
                "busybox", "true",
            ])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("bind source path does not exist"))
        }
    }

    @Test("a named volume survives rm, is reused, and cannot be removed in use")
    func namedVolume() throws {
        try DaemonHarness.withDaemon { daemon in
            let first = try daemon.client([
                "run", "--name", "writer", "-v", "keep:/data", "busybox", "sh", "-c",
                "echo kept > /data/file",
            ])
            #expect(first.status == 0, "\(first.stderr)")
            let inspect = try ContainerJSON(daemon, "writer")
            let mounts = inspect.document["Mounts"] as? [[String: Any]] ?? []
            #expect(mounts.first?["Name"] as? String == "keep", "\(mounts)")
            #expect(mounts.first?["Type"] as? String == "volume")
            #expect(mounts.first?["Destination"] as? String == "/data")

            let busy = try daemon.client(["volume", "rm", "keep"])
            #expect(busy.status != 0)
            #expect(busy.stderr.contains("volume is in use"), "\(busy.stderr)")
            let busyAPI = try RawAPI.request(daemon.socket, "DELETE", "/volumes/keep")
            #expect(busyAPI.hasPrefix("HTTP/1.1 409"), "\(busyAPI)")

            #expect(try daemon.client(["rm", "-v", "writer"]).status == 0)
            let reader = try daemon.client(["run", "--rm", "-v", "keep:/data:ro", "busybox", "cat", "/data/file"])
            #expect(reader.stdout == "kept\n", "\(reader.stderr)")

            let listed = try daemon.client(["volume", "ls", "-q"])
            #expect(listed.stdout.split(separator: "\n").contains("keep"))
            let inspected = try RawAPI.request(daemon.socket, "GET", "/volumes/keep")
            #expect(inspected.contains("\"Mountpoint\":\"\(daemon.root)/volumes/keep/_data\""))
            #expect(try daemon.client(["volume", "rm", "keep"]).status == 0)
            let gone = try RawAPI.request(daemon.socket, "GET", "/volumes/keep")
            #expect(gone.hasPrefix("HTTP/1.1 404"), "\(gone)")
        }
    }

    @Test("volume and save events")
    func volumeAndSaveEvents() throws {
        try DaemonHarness.withDaemon { daemon in
            let start = Int(Date().timeIntervalSince1970) - 1
            let volume = "events-\(UInt32.random(in: 0...UInt32.max))"
            let run = try daemon.client(["run", "--rm", "-v", "\(volume):/data", "busybox", "true"])
            #expect(run.status == 0, "\(run.stderr)")
            let saved = try daemon.client(["save", "-o", "\(daemon.work)/events.tar", "busybox"])
            #expect(saved.status == 0, "\(saved.stderr)")
            let end = Int(Date().timeIntervalSince1970) + 1
            let stream = try DaemonHarness.capture(
                "/usr/bin/curl",
                [
                    "-s", "--unix-socket", daemon.socket,
                    "http://x/v1.45/events?since=\(start)&until=\(end)",
                ]
            ).stdout
            let events = stream.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            func actions(_ type: String, _ id: String? = nil) -> [String] {
                events.filter { event in
                    let actor = event["Actor"] as? [String: Any]
                    return event["Type"] as? String == type && (id == nil || actor?["ID"] as? String == id)
                }.compactMap { $0["Action"] as? String }
            }
            #expect(actions("volume", volume) == ["create", "mount", "unmount"], "\(stream)")
            #expect(actions("image").contains("save"), "\(stream)")
        }
    }

    @Test("anonymous volumes, rm -v and prune")
    func anonymousVolumes() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client(["run", "--name", "anon", "-v", "/scratch", "busybox", "true"])
            #expect(run.status == 0, "\(run.stderr)")
            let mounts = try ContainerJSON(daemon, "anon").document["Mounts"] as? [[String: Any]]
            let name = try #require(mounts?.first?["Name"] as? String)
            #expect(name.count == 64)
            #expect(try daemon.client(["rm", "-v", "anon"]).status == 0)
            let removed = try daemon.client(["volume", "ls", "-q"])
            #expect(!removed.stdout.contains(name))

            let created = try daemon.client(["volume", "create", "spare"])
            #expect(created.stdout == "spare\n")
            let anonymous = try daemon.client(["volume", "create"])
            let anonymousName = anonymous.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let pruned = try daemon.client(["volume", "prune", "-f"])
            #expect(pruned.stdout.contains(anonymousName), "\(pruned.stdout)\(pruned.stderr)")
            #expect(!pruned.stdout.contains("spare"))
            let all = try daemon.client(["volume", "prune", "-f", "-a"])
            #expect(all.stdout.contains("spare"))
        }
    }
}
