import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The json-file log: rotation, reading across rotated files, time filters and following.
@Suite(
    "container logs", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerLogTests {
    @Test("rotation keeps max-file files in order")
    func rotationKeepsFiles() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.createLogged(
                script: "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done",
                options: ["max-size": "1k", "max-file": "3"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try daemon.client(["wait", id]).stdout == "0\n")

            let path = try #require(try ContainerJSON(daemon, id).document["LogPath"] as? String)
            let fileManager = FileManager.default
            for name in [path, "\(path).1", "\(path).2"] {
                let size = try #require(try fileManager.attributesOfItem(atPath: name)[.size] as? Int)
                #expect(size > 0, "\(name): \(size) bytes")
                #expect(size <= 1024, "\(name): \(size) bytes")
            }
            #expect(!fileManager.fileExists(atPath: "\(path).3"))
            var kept: [String] = []
            for name in ["\(path).2", "\(path).1", path] {
                let text = try String(contentsOfFile: name, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let entry = try #require(
                        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                    kept.append(try #require(entry["log"]).trimmingCharacters(in: .newlines))
                }
            }
            // The oldest lines were dropped; the kept ones are the last, in order.
            #expect(kept.count > 20, "\(kept.count) lines kept")
            #expect(kept.count < 200, "\(kept.count) lines kept")
            #expect(kept == (200 - kept.count..<200).map { "line-\($0)" })

            let logs = try daemon.client(["logs", id])
            #expect(logs.stdout == kept.map { $0 + "\n" }.joined(), "\(logs.stderr)")
            // About 14 entries fit in 1k: the last 20 span two files.
            let tail = try daemon.client(["logs", "--tail", "20", id])
            #expect(tail.stdout == (180..<200).map { "line-\($0)\n" }.joined())
            let none = try daemon.client(["logs", "--tail", "0", id])
            #expect(none.status == 0)
            #expect(none.stdout.isEmpty)
        }
    }

    @Test("since and until select by time")
    func sinceAndUntil() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.createLogged(script: "echo a; sleep 1; echo b; sleep 1; echo c", options: [:])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try daemon.client(["wait", id]).stdout == "0\n")

            let stamped = try daemon.client(["logs", "-t", id]).stdout.split(separator: "\n")
            #expect(stamped.count == 3, "\(stamped)")
            let middle = try #require(stamped.dropFirst().first?.split(separator: " ").first.map(String.init))
            #expect(stamped[1].hasSuffix(" b"), "\(stamped)")
            let unix = try #require(unixSeconds(middle), "\(middle)")

            #expect(try daemon.client(["logs", "--since", unix, id]).stdout == "b\nc\n")
            #expect(try daemon.client(["logs", "--until", unix, id]).stdout == "a\nb\n")
            #expect(try daemon.client(["logs", "--since", middle, id]).stdout == "b\nc\n")
            #expect(try daemon.client(["logs", "--since", "10m", id]).stdout == "a\nb\nc\n")
            #expect(try daemon.client(["logs", "--since", "2099-01-01", id]).stdout == "")
            #expect(try daemon.client(["logs", "--until", "1h", id]).stdout == "")

            let invalid = try daemon.client(["logs", "--since", "soon", id])
            #expect(invalid.status != 0 && invalid.stderr.contains("soon"), "\(invalid)")
            let raw = try daemon.curl(["http://x/containers/\(id)/logs?stdout=1&since=abc"])
            #expect(raw.hasSuffix(" 400"), "\(raw)")
            #expect(raw.contains("since"), "\(raw)")
        }
    }

    @Test("follow continues across rotation")
    func followAcrossRotation() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.createLogged(
                script: "sleep 1; i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done",
                options: ["max-size": "2k", "max-file": "2"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            let followed = try daemon.client(["logs", "-f", id])
            #expect(followed.status == 0, "\(followed.stderr)")
            // The follower gets each file as it starts, so nothing is lost to rotation.
            let lines = followed.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2000)
            #expect(lines == (0..<2000).map { "line-\($0)" })
            let path = try #require(try ContainerJSON(daemon, id).document["LogPath"] as? String)
            #expect(FileManager.default.fileExists(atPath: "\(path).1"))
            #expect(!FileManager.default.fileExists(atPath: "\(path).2"))
        }
    }

    @Test("follow streams 100 MB while written")
    func followLargeLog() throws {
        try DaemonHarness.withDaemon { daemon in
            let line = String(repeating: "0123456789", count: 100).dropLast()
            let id = try daemon.createLogged(
                script: "sleep 1; yes \(line) | head -c 100000000",
                options: ["max-size": "40m", "max-file": "4"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let expected = try DaemonHarness.capture(
                "/bin/sh", ["-c", "yes \(line) | head -c 100000000 | md5sum"])
            #expect(try daemon.client(["start", id]).status == 0)
            // The digest and count come from pipes, so the test keeps none of the 100 MB in memory.
            let client = "\(DaemonHarness.binary) -H unix://\(daemon.socket)"
            let result = try DaemonHarness.capture(
                "/bin/sh", ["-c", "{ \(client) logs -f \(id) | tee /dev/fd/3 | md5sum >&2; } 3>&1 | wc -c"])
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "100000000", "\(result)")
            #expect(result.stderr == expected.stdout, "\(result)")
        }
    }

    @Test("a line over 64 KiB comes back whole")
    func largeFrames() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.createLogged(
                script: "head -c 70000 /dev/zero | tr '\\0' a; echo; head -c 70000 /dev/zero | tr '\\0' b >&2; echo >&2",
                options: [:])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try daemon.client(["wait", id]).stdout == "0\n")

            let output = "\(daemon.work)/frames"
            defer { unlink(output) }
            let status = try daemon.curl(["-o", output, "http://x/containers/\(id)/logs?stdout=1&stderr=1"])
            #expect(status.hasSuffix("200"), "\(status)")
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output)))
            var frames: [(stream: UInt8, payload: ArraySlice<UInt8>)] = []
            var offset = 0
            while offset + 8 <= bytes.count {
                let size = bytes[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
                guard offset + 8 + size <= bytes.count else { break }
                frames.append((bytes[offset], bytes[(offset + 8)..<(offset + 8 + size)]))
                offset += 8 + size
            }
            #expect(offset == bytes.count, "\(bytes.count - offset) bytes outside frames")
            let aLine = Array(repeating: UInt8(ascii: "a"), count: 70000) + [10]
            let bLine = Array(repeating: UInt8(ascii: "b"), count: 70000) + [10]
            #expect(frames.count == 2)
            #expect(frames.first?.stream == 1)
            #expect(frames.first.map { Array($0.payload) } == aLine)
            #expect(frames.last?.stream == 2)
            #expect(frames.last.map { Array($0.payload) } == bLine)

            let logs = try daemon.client(["logs", id])
            #expect(logs.stdout == String(decoding: aLine, as: UTF8.self))
            #expect(logs.stderr == String(decoding: bLine, as: UTF8.self))
        }
    }

    @Test("invalid log options get 400")
    func invalidOptions() throws {
        try DaemonHarness.withDaemon { daemon in
            let cases: [([String: String], String)] = [
                (["max-size": "10x"], "max-size"), (["max-size": "-1"], "max-size"),
                (["max-size": "1m", "max-file": "0"], "max-file"), (["max-file": "3"], "max-file"),
                (["max-size": "1m", "max-file": "two"], "max-file"), (["compress": "maybe"], "compress"),
                (["colour": "red"], "colour"),
            ]
            for (options, name) in cases {
                let body = try createBody(script: "true", options: options)
                let result = try daemon.curl([
                    "-X", "POST", "-H", "Content-Type: application/json", "-d", body,
                    "http://x/containers/create",
                ])
                #expect(result.hasSuffix(" 400"), "\(options): \(result)")
                #expect(result.contains(name), "\(options): \(result)")
            }
        }
    }
}

/// The JSON body of a container create that runs `script` in busybox's sh with json-file
/// `options`.
private func createBody(script: String, options: [String: String]) throws -> String {
    let request: [String: Any] = [
        "Image": "busybox", "Cmd": ["sh", "-c", script],
        "HostConfig": ["LogConfig": ["Type": "json-file", "Config": options]],
    ]
    return String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
}

/// Converts an RFC 3339 time in UTC with a fraction to Unix seconds with that fraction.
private func unixSeconds(_ time: String) -> String? {
    let parts = time.dropLast().split(separator: ".")
    guard time.hasSuffix("Z"), parts.count == 2,
        let whole = ISO8601DateFormatter().date(from: parts[0] + "Z")
    else { return nil }
    return "\(Int(whole.timeIntervalSince1970)).\(parts[1])"
}

extension DaemonHarness {
    /// Imports busybox and creates a container that runs `script` with json-file `options`;
    /// returns its ID.
    fileprivate func createLogged(script: String, options: [String: String]) throws -> String {
        try importBusybox()
        let result = try curl([
            "-X", "POST", "-H", "Content-Type: application/json",
            "-d", try createBody(script: script, options: options), "http://x/containers/create",
        ])
        guard result.hasSuffix(" 201"),
            let object = try JSONSerialization.jsonObject(with: Data(result.dropLast(4).utf8)) as? [String: Any],
            let id = object["Id"] as? String
        else { throw HarnessError("create failed: \(result)") }
        return id
    }

    /// Runs curl against the daemon's socket; returns the body, a space and the status code.
    fileprivate func curl(_ arguments: [String]) throws -> String {
        try Self.capture("/usr/bin/curl", ["-s", "-w", " %{http_code}", "--unix-socket", socket] + arguments).stdout
    }
}
