import Foundation
import Testing

/// `swiftd cp` and the archive endpoints against a real daemon.
@Suite(
    "container copy", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerCopyTests {
    @Test("copy file and directory out")
    func copyOut() throws {
        try DaemonHarness.withDaemon { daemon in
            let setup = try daemon.client([
                "run", "--name", "source", "busybox", "sh", "-c",
                "mkdir -p /data/sub && echo one > /data/one && echo two > /data/sub/two",
            ])
            #expect(setup.status == 0, "\(setup.stderr)")
            let out = "\(daemon.work)/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

            let file = try daemon.client(["cp", "source:/data/one", "\(out)/renamed"])
            #expect(file.status == 0, "\(file.stderr)")
            #expect(try String(contentsOfFile: "\(out)/renamed", encoding: .utf8) == "one\n")

            let directory = try daemon.client(["cp", "source:/data", out])
            #expect(directory.status == 0, "\(directory.stderr)")
            #expect(try String(contentsOfFile: "\(out)/data/sub/two", encoding: .utf8) == "two\n")

            let contents = try daemon.client(["cp", "source:/data/.", "\(out)/contents"])
            #expect(contents.status == 0, "\(contents.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(out)/contents/one"))
            #expect(FileManager.default.fileExists(atPath: "\(out)/contents/sub/two"))

            let archive = try daemon.client(["cp", "source:/data/sub", "-"])
            #expect(archive.status == 0, "\(archive.stderr)")
            #expect(archive.stdout.hasPrefix("sub/"), "\(archive.stdout.prefix(100))")
        }
    }

    @Test("copy file and directory in")
    func copyIn() throws {
        try DaemonHarness.withDaemon { daemon in
            let local = "\(daemon.work)/local"
            try FileManager.default.createDirectory(atPath: "\(local)/tree/deep", withIntermediateDirectories: true)
            try "file\n".write(toFile: "\(local)/file", atomically: true, encoding: .utf8)
            try "deep\n".write(toFile: "\(local)/tree/deep/leaf", atomically: true, encoding: .utf8)
            // A stopped container: its rootfs is mounted for the copy only.
            #expect(try daemon.client(["create", "--name", "target", "busybox", "sh", "-c",
                "cat /tmp/file /copied/deep/leaf /etc/renamed"]).status == 0)

            #expect(try daemon.client(["cp", "\(local)/file", "target:/tmp/"]).status == 0)
            let tree = try daemon.client(["cp", "\(local)/tree", "target:/copied"])
            #expect(tree.status == 0, "\(tree.stderr)")
            #expect(try daemon.client(["cp", "\(local)/file", "target:/etc/renamed"]).status == 0)
            let onto = try daemon.client(["cp", "\(local)/tree", "target:/etc/renamed"])
            #expect(onto.status != 0)

            #expect(try daemon.client(["start", "target"]).status == 0)
            let waited = try daemon.client(["wait", "target"])
            #expect(waited.stdout == "0\n", "\(waited.stderr)")
            let logs = try daemon.client(["logs", "target"])
            #expect(logs.stdout == "file\ndeep\nfile\n", "\(logs.stderr)")
        }
    }

    @Test("HEAD reports path stat")
    func statPath() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["create", "--name", "stat", "busybox", "true"]).status == 0)
            let directory = try Self.stat(daemon, "stat", "/etc")
            #expect(directory["name"] as? String == "etc")
            let mode = try #require(directory["mode"] as? UInt64)
            #expect(mode & (1 << 31) != 0, "mode \(mode) lacks Go's directory bit")
            #expect(mode & 0o777 == 0o755)

            let file = try Self.stat(daemon, "stat", "/etc/passwd")
            let size = try #require(file["size"] as? Int)
            #expect(size > 0)
            #expect((file["mode"] as? UInt64).map { $0 >> 31 } == 0)
            #expect(file["linkTarget"] as? String == "")

            let link = try Self.stat(daemon, "stat", "/bin/sh")
            let linkMode = try #require(link["mode"] as? UInt64)
            #expect(linkMode & (1 << 27) != 0, "mode \(linkMode) lacks Go's symlink bit")
            #expect(link["linkTarget"] as? String == "/bin/busybox")
        }
    }

    @Test("symlink escape stays in rootfs")
    func symlinkEscape() throws {
        try DaemonHarness.withDaemon { daemon in
            let marker = "swiftd-cp-escape-\(UInt32.random(in: 0...UInt32.max))"
            let setup = try daemon.client([
                "run", "--name", "escape", "busybox", "sh", "-c",
                "ln -s / /escape && ln -s ../../.. /data-up && echo inside > /etc/\(marker)",
            ])
            #expect(setup.status == 0, "\(setup.stderr)")
            let out = "\(daemon.work)/escaped"
            for path in ["/escape/etc/\(marker)", "/data-up/etc/\(marker)"] {
                let read = try daemon.client(["cp", "escape:\(path)", out])
                #expect(read.status == 0, "\(read.stderr)")
                #expect(try String(contentsOfFile: out, encoding: .utf8) == "inside\n")
                try FileManager.default.removeItem(atPath: out)
            }

            let local = "\(daemon.work)/\(marker)"
            try "written\n".write(toFile: local, atomically: true, encoding: .utf8)
            #expect(try daemon.client(["cp", local, "escape:/escape/tmp/"]).status == 0)
            #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))

            // An archive that plants a link to / and then writes through it.
            let staging = "\(daemon.work)/staging"
            try FileManager.default.createDirectory(atPath: "\(staging)/a", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(staging)/b/link/tmp", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(staging)/a/link", withDestinationPath: "/")
            try "through\n".write(toFile: "\(staging)/b/link/tmp/\(marker)-2", atomically: true, encoding: .utf8)
            let tar = "\(daemon.work)/hostile.tar"
            #expect(try DaemonHarness.capture("/usr/bin/tar", ["cf", tar, "-C", "\(staging)/a", "link"]).status == 0)
            #expect(try DaemonHarness.capture(
                "/usr/bin/tar", ["rf", tar, "-C", "\(staging)/b", "link/tmp/\(marker)-2"]).status == 0)
            let hostile = try daemon.client(["cp", "-", "escape:/etc"], stdin: Data(contentsOf: URL(fileURLWithPath: tar)))
            #expect(hostile.status == 0, "\(hostile.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)-2"))

            let listed = try daemon.client(["cp", "escape:/tmp/\(marker)-2", "-"])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.contains("through"))
        }
    }

    @Test("truncated archive writes nothing")
    func truncatedArchive() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["create", "--name", "cut", "busybox", "true"]).status == 0)
            let staging = "\(daemon.work)/cut"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            try Data(repeating: 0x61, count: 1000).write(to: URL(fileURLWithPath: "\(staging)/a.txt"))
            try Data(repeating: 0x62, count: 200_000).write(to: URL(fileURLWithPath: "\(staging)/big"))
            let tar = "\(daemon.work)/cut.tar"
            #expect(try DaemonHarness.capture("/usr/bin/tar", ["cf", tar, "-C", staging, "a.txt", "big"]).status == 0)
            let whole = try Data(contentsOf: URL(fileURLWithPath: tar))
            try whole.prefix(100_000).write(to: URL(fileURLWithPath: tar))

            let put = try DaemonHarness.capture("/usr/bin/curl", [
                "-s", "-w", " %{http_code}", "-X", "PUT", "--data-binary", "@\(tar)", "--unix-socket",
                daemon.socket, "http://x/containers/cut/archive?path=/tmp",
            ])
            #expect(put.stdout.hasSuffix(" 400"), "\(put.stdout)")
            #expect(put.stdout.contains("big"), "\(put.stdout)")
            let written = try daemon.client(["cp", "cut:/tmp/a.txt", "-"])
            #expect(written.status != 0, "a.txt was written: \(written.stdout.count) bytes")
        }
    }

    @Test("missing path and read-only rootfs")
    func rejections() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["create", "--name", "locked", "--read-only", "busybox", "true"]).status == 0)
            let missing = try RawAPI.request(daemon.socket, "GET", "/containers/locked/archive?path=/nowhere")
            #expect(missing.hasPrefix("HTTP/1.1 404"), "\(missing)")
            let missingStat = try RawAPI.request(daemon.socket, "HEAD", "/containers/locked/archive?path=/nowhere")
            #expect(missingStat.hasPrefix("HTTP/1.1 404"), "\(missingStat)")
            let empty = try RawAPI.request(daemon.socket, "GET", "/containers/locked/archive?path=")
            #expect(empty.hasPrefix("HTTP/1.1 400"), "\(empty)")
            let notDirectory = try RawAPI.request(daemon.socket, "PUT", "/containers/locked/archive?path=/etc/passwd")
            #expect(notDirectory.hasPrefix("HTTP/1.1 400"), "\(notDirectory)")

            let readOnly = try RawAPI.request(daemon.socket, "PUT", "/containers/locked/archive?path=/tmp")
            #expect(readOnly.hasPrefix("HTTP/1.1 403"), "\(readOnly)")
            #expect(readOnly.contains("read-only"))
            let local = "\(daemon.work)/file"
            try "x\n".write(toFile: local, atomically: true, encoding: .utf8)
            let client = try daemon.client(["cp", local, "locked:/tmp/"])
            #expect(client.status == 1)
            #expect(client.stderr.contains("container rootfs is marked read-only"), "\(client.stderr)")
        }
    }

    /// Sends `HEAD …/archive?path=` and decodes the stat header.
    static func stat(_ daemon: DaemonHarness, _ container: String, _ path: String) throws -> [String: Any] {
        let response = try RawAPI.request(daemon.socket, "HEAD", "/containers/\(container)/archive?path=\(path)")
        #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
        let line = try #require(
            response.split(separator: "\r\n").first { $0.hasPrefix("X-Docker-Container-Path-Stat: ") })
        let encoded = line.dropFirst("X-Docker-Container-Path-Stat: ".count)
        let json = try #require(Data(base64Encoded: String(encoded)))
        return try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    }
}
