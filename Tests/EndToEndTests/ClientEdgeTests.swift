import Foundation
import Testing

/// Inputs that once crashed or hung the daemon or the client, and the client's manners.
@Suite("client edge cases", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ClientEdgeTests {
    func withDaemon(_ body: (DaemonHarness) throws -> Void) throws {
        try DaemonHarness.withDaemon(body)
    }

    @Test("logs keep lines whole and accept any tail")
    func logLines() throws {
        try withDaemon { daemon in
            let run = try daemon.client(["run", "--name", "counter", "busybox", "seq", "1", "40000"])
            #expect(run.status == 0)
            let all = try daemon.client(["logs", "counter"])
            let lines = all.stdout.split(separator: "\n")
            #expect(lines.count == 40000)
            #expect(lines.last == "40000")
            let tail = try daemon.client(["logs", "--tail", "3", "counter"])
            #expect(tail.stdout == "39998\n39999\n40000\n")
            let negative = try daemon.client(["logs", "--tail", "-1", "counter"])
            #expect(negative.status == 0)
            #expect(negative.stdout.split(separator: "\n").count == 40000)
            let unknown = try daemon.client(["logs", "nosuch"])
            #expect(unknown.status == 1)
        }
    }

    @Test("huge memory limits do not crash either side")
    func hugeMemory() throws {
        try withDaemon { daemon in
            let large = try daemon.client(["run", "--rm", "-m", "8000000000000000000", "busybox", "true"])
            #expect(large.status == 0, "\(large.stderr)")
            let overflowing = try daemon.client(["run", "--rm", "-m", "99999999999999999999g", "busybox", "true"])
            #expect(overflowing.status == 125)
            #expect(overflowing.stderr.contains("invalid size"))
            #expect(try daemon.client(["version"]).status == 0)
        }
    }

    @Test("a failed start with --rm removes the container")
    func failedStartRemoves() throws {
        try withDaemon { daemon in
            let missing = try daemon.client(["run", "--rm", "busybox", "nosuchcommand"])
            #expect(missing.status == 127)
            var listed = try daemon.client(["ps", "-aq"])
            for _ in 0..<50 where !listed.stdout.isEmpty {
                Thread.sleep(forTimeInterval: 0.05)
                listed = try daemon.client(["ps", "-aq"])
            }
            #expect(listed.stdout.isEmpty)
        }
    }

    @Test("SIGINT to run reaches the container")
    func signalProxy() throws {
        try withDaemon { daemon in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: DaemonHarness.binary)
            process.arguments = ["-H", "unix://\(daemon.socket)", "run", "--name", "trapper", "busybox", "sh", "-c",
                "trap 'echo got INT; exit 3' INT; echo ready; while true; do sleep 0.1; done"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var logs = ""
            for _ in 0..<100 where !logs.contains("ready") {
                Thread.sleep(forTimeInterval: 0.05)
                logs = try daemon.client(["logs", "trapper"]).stdout
            }
            #expect(logs.contains("ready"))
            kill(process.processIdentifier, SIGINT)
            process.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 3)
            #expect(printed.contains("got INT"))
        }
    }

    @Test("bad references, directories and help")
    func clientManners() throws {
        try withDaemon { daemon in
            let upper = try daemon.client(["run", "--rm", "BUSYBOX", "true"])
            #expect(upper.status == 125)
            #expect(upper.stderr.contains("must be lowercase"))
            let directory = try daemon.client(["import", daemon.work, "x"])
            #expect(directory.status == 1)
            #expect(directory.stderr.contains("is a directory"))
            let emptyTag = try daemon.client(["import", "\(daemon.work)/busybox.tar", "repo:"])
            #expect(emptyTag.status == 125)
            #expect(emptyTag.stderr.contains("invalid reference format"))
            for command in ["ps", "run", "rm", "images", "logs", "events"] {
                let help = try daemon.client([command, "--help"])
                #expect(help.status == 0, "\(command) --help")
                #expect(help.stdout.hasPrefix("Usage: swiftd \(command)"))
            }
            let created = try daemon.client(["create", "--name", "inspected", "busybox", "true"])
            #expect(created.status == 0)
            let inspect = try daemon.client(["inspect", "inspected"])
            #expect(inspect.stdout.contains("\"Running\": false"))
            let none = try daemon.client(["inspect", "nosuch"])
            #expect(none.stdout == "[]\n")
            #expect(none.status == 1)
        }
    }
}

/// Malformed requests straight to the daemon's socket.
@Suite("API edge cases", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct APIEdgeTests {
    @Test("bare LF request gets 400")
    func bareLineFeed() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        let stream = try RawStream(socket: harness.socket)
        defer { stream.close() }
        let clock = ContinuousClock()
        let start = clock.now
        try stream.write("GET /_ping HTTP/1.1\nHost: x\n\n")
        let response = try stream.read(until: "}")
        #expect(clock.now - start < .seconds(5))
        #expect(response.hasPrefix("HTTP/1.1 400 "), "\(response)")
        #expect(response.contains("malformed request"), "\(response)")
        #expect(response.contains("Connection: close"), "\(response)")
        #expect(harness.stop() == 0)
    }

    @Test("bad query and body values")
    func badValues() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        func curl(_ arguments: [String]) throws -> String {
            let base = ["-s", "-w", " %{http_code}", "--unix-socket", harness.socket]
            return try DaemonHarness.capture("/usr/bin/curl", base + arguments).stdout
        }
        let limit = try curl(["http://x/v1.45/containers/json?limit=abc"])
        #expect(limit.hasSuffix(" 400"), "\(limit)")
        #expect(limit.contains("query parameter limit"), "\(limit)")
        let all = try curl(["http://x/v1.45/containers/json?all=maybe"])
        #expect(all.hasSuffix(" 400"), "\(all)")
        #expect(all.contains("query parameter all"), "\(all)")
        #expect(try curl(["http://x/v1.45/containers/json?limit=2&all=1"]).hasSuffix(" 200"))
        let array = try curl([
            "-X", "POST", "-H", "Content-Type: application/json", "-d", "[]",
            "http://x/v1.45/containers/create",
        ])
        #expect(array.hasSuffix(" 400"), "\(array)")
        #expect(array.contains("must be an object, found an array"), "\(array)")
        #expect(!array.contains("Dictionary"), "\(array)")
        let field = try curl([
            "-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"Image":"busybox","Env":"A=1"}"#,
            "http://x/v1.45/containers/create",
        ])
        #expect(field.hasSuffix(" 400"), "\(field)")
        #expect(field.contains("field Env must be an array, found a string"), "\(field)")
        #expect(harness.stop() == 0)
    }
}

/// Image names, renames and restarts through the client.
@Suite("images and renames", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ImageAndRenameTests {
    @Test("tag, rmi and a refusal while a container uses the image")
    func tagAndRemove() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["tag", "busybox", "127.0.0.1:5000/tools/box:v1"]).status == 0)
            let images = try daemon.client(["images"])
            #expect(images.stdout.contains("127.0.0.1:5000/tools/box"))
            let untag = try daemon.client(["rmi", "127.0.0.1:5000/tools/box:v1"])
            #expect(untag.status == 0)
            #expect(untag.stdout == "Untagged: 127.0.0.1:5000/tools/box:v1\n")

            #expect(try daemon.client(["create", "--name", "user", "busybox", "true"]).status == 0)
            let refused = try daemon.client(["rmi", "busybox"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("Error response from daemon"))
            #expect(try daemon.client(["rm", "user"]).status == 0)

            let removed = try daemon.client(["rmi", "busybox"])
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(removed.stdout.contains("Untagged: busybox:latest"))
            #expect(removed.stdout.contains("Deleted: sha256:"))
            #expect(try daemon.client(["images", "-q"]).stdout.isEmpty)
            // Import again so the harness's clean-up finds what it expects.
            try daemon.importBusybox()
        }
    }

    @Test("rename and restart")
    func renameAndRestart() throws {
        try DaemonHarness.withDaemon { daemon in
            let started = try daemon.client(["run", "-d", "--name", "first", "busybox", "sleep", "60"])
            #expect(started.status == 0)
            #expect(try daemon.client(["rename", "first", "second"]).status == 0)
            #expect(try daemon.client(["ps"]).stdout.contains("second"))
            #expect(try daemon.client(["create", "--name", "taken", "busybox", "true"]).status == 0)
            let conflict = try daemon.client(["rename", "second", "taken"])
            #expect(conflict.status == 1)
            #expect(conflict.stderr.contains("already in use"))
            let before = try daemon.client(["inspect", "second"]).stdout
            #expect(try daemon.client(["restart", "-t", "0", "second"]).status == 0)
            let after = try daemon.client(["inspect", "second"]).stdout
            #expect(after.contains("\"Running\": true"))
            #expect(before != after)
            #expect(try daemon.client(["rm", "-f", "second", "taken"]).status == 0)
        }
    }
}
