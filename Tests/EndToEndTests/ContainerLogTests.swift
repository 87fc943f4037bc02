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

    @Test("compressed rotation reads in order")
    func compressedRotation() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.createLogged(
                script: "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done",
                options: ["max-size": "1k", "max-file": "4", "compress": "true"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try daemon.client(["wait", id]).stdout == "0\n")

            let path = try #require(try ContainerJSON(daemon, id).document["LogPath"] as? String)
            let fileManager = FileManager.default
            // The last rotated file is compressed off the writer's thread.
            let deadline = Date().addingTimeInterval(10)
            while fileManager.fileExists(atPath: "\(path).1") && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(!fileManager.fileExists(atPath: "\(path).1"))
            #expect(!fileManager.fileExists(atPath: "\(path).4.gz"))
            var kept: [String] = []
            for name in ["\(path).3.gz", "\(path).2.gz", "\(path).1.gz"] {
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: name)))
                #expect(bytes.starts(with: [0x1F, 0x8B]), "\(name) is not gzip")
                let text = try DaemonHarness.capture("/bin/gzip", ["-dc", name]).stdout
                for line in text.split(separator: "\n") {
                    let entry = try #require(
                        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                    kept.append(try #require(entry["log"]).trimmingCharacters(in: .newlines))
                }
            }
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let entry = try #require(
                    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                kept.append(try #require(entry["log"]).trimmingCharacters(in: .newlines))
            }
            #expect(kept.count > 30, "\(kept.count) lines kept")
            #expect(kept.count < 300, "\(kept.count) lines kept")
            #expect(kept == (300 - kept.count..<300).map { "line-\($0)" })

            let logs = try daemon.client(["logs", id])
            #expect(logs.stdout == kept.map { $0 + "\n" }.joined(), "\(logs.stderr)")
            let tail = try daemon.client(["logs", "--tail", "30", id])
            #expect(tail.stdout == (270..<300).map { "line-\($0)\n" }.joined())
            // No temporary file of the reads stays behind.
            let directory = (path as NSString).deletingLastPathComponent
            let leftovers = try fileManager.contentsOfDirectory(atPath: directory).filter { $0.contains(".read-") }
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
    }

    @Test("start compresses a leftover file")
    func leftoverCompressed() throws {
        try DaemonHarness.withDaemon { daemon in
            // Only the first run writes, so a second start rotates nothing.
            let id = try daemon.createLogged(
                script: "[ -e /written ] && exit 0; touch /written; i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done",
                options: ["max-size": "1k", "max-file": "2", "compress": "true"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try daemon.client(["wait", id]).stdout == "0\n")
            let before = try daemon.client(["logs", id]).stdout

            // As a daemon killed during the compression leaves it: `.1` and no `.1.gz`.
            let path = try #require(try ContainerJSON(daemon, id).document["LogPath"] as? String)
            let fileManager = FileManager.default
            let deadline = Date().addingTimeInterval(10)
            while !fileManager.fileExists(atPath: "\(path).1.gz") && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            let unpacked = try DaemonHarness.capture("/bin/sh", ["-c", "gzip -dc \(path).1.gz > \(path).1 && rm \(path).1.gz"])
            #expect(unpacked.status == 0, "\(unpacked.stderr)")

            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try daemon.client(["wait", id]).stdout == "0\n")
            let compressed = Date().addingTimeInterval(10)
            while fileManager.fileExists(atPath: "\(path).1") && Date() < compressed {
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(!fileManager.fileExists(atPath: "\(path).1"))
            #expect(fileManager.fileExists(atPath: "\(path).1.gz"))
            #expect(try daemon.client(["logs", id]).stdout == before)
            #expect(before.hasSuffix("line-99\n"))
        }
    }

    @Test("follow survives compressed rotation")
    func followCompressed() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.createLogged(
                script: "sleep 1; i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done",
                options: ["max-size": "2k", "max-file": "3", "compress": "1"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["start", id]).status == 0)
            let followed = try daemon.client(["logs", "-f", id])
            #expect(followed.status == 0, "\(followed.stderr)")
            #expect(followed.stdout == (0..<2000).map { "line-\($0)\n" }.joined())
        }
    }

    @Test("none driver keeps no log")
    func noneDriver() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client(["run", "--log-driver", "none", "--name", "nolog", "busybox", "echo", "attached"])
            defer { _ = try? daemon.client(["rm", "-f", "nolog"]) }
            #expect(run.status == 0, "\(run.stderr)")
            // Attached clients still get the output.
            #expect(run.stdout == "attached\n")
            let document = try ContainerJSON(daemon, "nolog").document
            let hostConfig = try #require(document["HostConfig"] as? [String: Any])
            let logConfig = try #require(hostConfig["LogConfig"] as? [String: Any])
            #expect(logConfig["Type"] as? String == "none")
            let logs = try daemon.client(["logs", "nolog"])
            #expect(logs.status != 0)
            #expect(logs.stderr.contains("configured logging driver does not support reading"), "\(logs.stderr)")
            let raw = try daemon.curl(["http://x/containers/nolog/logs?stdout=1"])
            #expect(raw.hasSuffix(" 501"), "\(raw)")
            let logPath = try #require(document["LogPath"] as? String)
            #expect(!FileManager.default.fileExists(atPath: logPath))
        }
    }

    @Test("client log flags reach inspect")
    func clientLogFlags() throws {
        try DaemonHarness.withDaemon { daemon in
            let created = try daemon.client([
                "create", "--name", "logflags", "--log-driver", "json-file", "--log-opt", "max-size=3k",
                "--log-opt", "max-file=2", "busybox", "true",
            ])
            defer { _ = try? daemon.client(["rm", "-f", "logflags"]) }
            #expect(created.status == 0, "\(created.stderr)")
            let hostConfig = try #require(try ContainerJSON(daemon, "logflags").document["HostConfig"] as? [String: Any])
            let logConfig = try #require(hostConfig["LogConfig"] as? [String: Any])
            #expect(logConfig["Type"] as? String == "json-file")
            #expect(logConfig["Config"] as? [String: String] == ["max-size": "3k", "max-file": "2"])

            let unknown = try daemon.client(["create", "--log-driver", "syslogd", "busybox", "true"])
            #expect(unknown.status == 125)
            #expect(unknown.stderr.contains("no log driver named 'syslogd'"), "\(unknown.stderr)")
            let badOption = try daemon.client(["run", "--log-opt", "max-file=two", "busybox", "true"])
            #expect(badOption.status == 125)
            #expect(badOption.stderr.contains("max-file"), "\(badOption.stderr)")
            let usage = try daemon.client(["create", "--log-opt", "max-size", "busybox", "true"])
            #expect(usage.status == 125)
            #expect(usage.stderr.contains("expected KEY=VALUE"), "\(usage.stderr)")
        }
    }

    @Test("unknown and missing drivers rejected")
    func unknownDrivers() throws {
        try DaemonHarness.withDaemon { daemon in
            let cases: [(String, [String: String], String, String)] = [
                ("syslogd", [:], " 400", "no log driver named 'syslogd'"),
                ("json-file", ["mode": "fast"], " 400", "logging mode not supported"),
                ("json-file", ["compress": "true"], " 400", "compress cannot be true"),
                ("local", [:], " 501", "local"),
                ("journald", [:], " 501", "journald"),
            ]
            for (driver, options, status, message) in cases {
                let body = try createBody(script: "true", options: options, driver: driver)
                let result = try daemon.curl([
                    "-X", "POST", "-H", "Content-Type: application/json", "-d", body,
                    "http://x/containers/create",
                ])
                #expect(result.hasSuffix(status), "\(driver) \(options): \(result)")
                #expect(result.contains(message), "\(driver) \(options): \(result)")
            }
        }
    }

    @Test("daemon log defaults apply")
    func daemonDefaults() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--log-opt", "max-size=1k", "--log-opt", "max-file=2"])
        try daemon.importBusybox()
        #expect(try daemon.client(["info", "--format", "{{.LoggingDriver}}"]).stdout == "json-file\n")

        let plain = try daemon.client(["create", "--name", "plain", "busybox", "true"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let own = try daemon.client(["create", "--name", "own", "--log-opt", "max-size=5k", "busybox", "true"])
        #expect(own.status == 0, "\(own.stderr)")
        let none = try daemon.client(["create", "--name", "none", "--log-driver", "none", "busybox", "true"])
        #expect(none.status == 0, "\(none.stderr)")
        func logConfig(_ name: String) throws -> [String: Any] {
            let hostConfig = try #require(try ContainerJSON(daemon, name).document["HostConfig"] as? [String: Any])
            return try #require(hostConfig["LogConfig"] as? [String: Any])
        }
        #expect(try logConfig("plain")["Type"] as? String == "json-file")
        #expect(try logConfig("plain")["Config"] as? [String: String] == ["max-size": "1k", "max-file": "2"])
        #expect(try logConfig("own")["Config"] as? [String: String] == ["max-size": "5k", "max-file": "2"])
        // Options of the default driver do not carry over to another driver.
        #expect(try logConfig("none")["Type"] as? String == "none")
        #expect(try logConfig("none")["Config"] as? [String: String] == [:])
        for name in ["plain", "own", "none"] { _ = try daemon.client(["rm", name]) }
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("daemon.json log driver applies")
    func daemonConfigFile() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let config = "\(daemon.work)/daemon.json"
        try #"{"log-driver": "none", "log-opts": {"max-size": "1k"}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        try daemon.start(extraArguments: ["--config-file", config])
        try daemon.importBusybox()
        #expect(try daemon.client(["info", "--format", "{{.LoggingDriver}}"]).stdout == "none\n")
        let run = try daemon.client(["run", "--name", "quiet", "busybox", "echo", "hi"])
        defer { _ = try? daemon.client(["rm", "-f", "quiet"]) }
        #expect(run.stdout == "hi\n", "\(run.stderr)")
        let logs = try daemon.client(["logs", "quiet"])
        #expect(logs.status != 0)
        #expect(logs.stderr.contains("does not support reading"), "\(logs.stderr)")
        let hostConfig = try #require(try ContainerJSON(daemon, "quiet").document["HostConfig"] as? [String: Any])
        let logConfig = try #require(hostConfig["LogConfig"] as? [String: Any])
        #expect(logConfig["Type"] as? String == "none")
        _ = try daemon.client(["rm", "quiet"])
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test("invalid daemon log settings stop start-up")
    func invalidDaemonSettings() throws {
        for arguments in [["--log-driver", "syslogd"], ["--log-opt", "max-file=3"], ["--log-opt", "size"]] {
            let daemon = try DaemonHarness()
            defer { daemon.cleanUp() }
            #expect(throws: HarnessError.self, "\(arguments)") { try daemon.start(extraArguments: arguments) }
            #expect(daemon.process?.terminationStatus == 1, "\(arguments): \(daemon.daemonLog)")
            #expect(daemon.daemonLog.contains("log"), "\(arguments): \(daemon.daemonLog)")
        }
    }
}

/// The JSON body of a container create that runs `script` in busybox's sh with the logging
/// `driver` and its `options`.
private func createBody(script: String, options: [String: String], driver: String = "json-file") throws -> String {
    let request: [String: Any] = [
        "Image": "busybox", "Cmd": ["sh", "-c", script],
        "HostConfig": ["LogConfig": ["Type": driver, "Config": options]],
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
