import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Stdin, terminals, attach and detach through the client and the raw API.
@Suite(
    "container streams", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerStreamTests {
    @Test("run -i passes piped stdin and its end to the process")
    func pipedStdin() throws {
        try DaemonHarness.withDaemon { daemon in
            let result = try daemon.client(
                ["run", "-i", "--rm", "busybox", "cat"], stdin: Data("hi\nthere\n".utf8))
            #expect(result.status == 0, "\(result.stderr)\n\(daemon.daemonLog)")
            #expect(result.stdout == "hi\nthere\n")

            let counted = try daemon.client(
                ["run", "-i", "--rm", "busybox", "wc", "-c"], stdin: Data(count: 100_000))
            #expect(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "100000")
        }
    }

    @Test("start -a streams output and returns the exit code")
    func startAttached() throws {
        try DaemonHarness.withDaemon { daemon in
            let created = try daemon.client(
                ["create", "--name", "once", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(created.status == 0, "\(created.stderr)")
            let started = try daemon.client(["start", "-a", "once"])
            #expect(started.status == 3, "\(started.stderr)")
            #expect(started.stdout == "out\n")
            #expect(started.stderr == "err\n")
            // Started again, it runs again.
            #expect(try daemon.client(["start", "-a", "once"]).stdout == "out\n")

            #expect(try daemon.client(["create", "-i", "--name", "reader", "busybox", "cat"]).status == 0)
            let piped = try daemon.client(["start", "-ai", "reader"], stdin: Data("typed\n".utf8))
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout == "typed\n")

            let both = try daemon.client(["start", "-a", "once", "reader"])
            #expect(both.status == 125)
            #expect(both.stderr.contains("you cannot start and attach multiple containers at once"))
            #expect(try daemon.client(["rm", "once", "reader"]).status == 0)
        }
    }

    @Test("a TTY container through the raw API: resize, input, raw output")
    func terminalThroughAPI() throws {
        try DaemonHarness.withDaemon { daemon in
            let created = try daemon.client(["create", "-i", "-t", "busybox", "sh"])
            #expect(created.status == 0, "\(created.stderr)")
            let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? daemon.client(["rm", "-f", id]) }

            let early = try RawAPI.request(
                daemon.socket, "POST", "/containers/\(id)/resize?h=30&w=100")
            #expect(early.hasPrefix("HTTP/1.1 409"), "resize before start: \(early)")

            let stream = try RawAPI.attach(
                daemon.socket, "/containers/\(id)/attach?stream=1&stdin=1&stdout=1&stderr=1")
            defer { stream.close() }
            #expect(stream.head.hasPrefix("HTTP/1.1 101 UPGRADED"), "\(stream.head)")
            #expect(stream.head.contains("application/vnd.docker.raw-stream"))
            #expect(try daemon.client(["start", id]).status == 0)
            let resized = try RawAPI.request(
                daemon.socket, "POST", "/containers/\(id)/resize?h=30&w=100")
            #expect(resized.hasPrefix("HTTP/1.1 200"), "\(resized)")

            try stream.write("stty size; tty\n")
            let output = try stream.read(until: "/dev/pts/0")
            #expect(output.contains("30 100"), "\(output)")
            // A TTY's output is raw: no 8-byte frame headers, and the pty's CR LF line ends.
            #expect(!output.utf8.contains(1))
            #expect(output.contains("\r\n"))

            try stream.write("exit 3\n")
            _ = try stream.readToEnd()
            let waited = try daemon.client(["wait", id])
            #expect(waited.stdout == "3\n")
        }
    }

    @Test("run -it through a real terminal")
    func clientTerminal() throws {
        try DaemonHarness.withDaemon { daemon in
            // script(1) gives the client a pty as its stdin and stdout.
            let command =
                "stty rows 21 cols 43; \(DaemonHarness.binary) -H unix://\(daemon.socket) "
                + "run -it --rm busybox sh -c 'tty; stty size; exit 4'"
            let result = try DaemonHarness.capture(
                "/usr/bin/script", ["-qec", command, "/dev/null"])
            #expect(result.stdout.contains("/dev/pts/0"), "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("21 43"))
            #expect(result.status == 4)
        }
    }

    @Test("exec -it has the terminal's size")
    func execTerminal() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try daemon.client(["run", "-d", "busybox", "sleep", "60"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let command =
                "stty rows 17 cols 61; \(DaemonHarness.binary) -H unix://\(daemon.socket) "
                + "exec -it \(id) sh -c 'tty; stty size; exit 5'"
            let result = try DaemonHarness.capture(
                "/usr/bin/script", ["-qec", command, "/dev/null"])
            #expect(result.stdout.contains("/dev/pts/"), "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("17 61"), "\(result.stdout)")
            #expect(result.status == 5)
        }
    }

    @Test("attach after start, then detach with ctrl-p ctrl-q leaves the container running")
    func attachAndDetach() throws {
        try DaemonHarness.withDaemon { daemon in
            let started = try daemon.client([
                "run", "-d", "-i", "busybox", "sh", "-c", "while read l; do echo got:$l; done",
            ])
            #expect(started.status == 0, "\(started.stderr)")
            let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? daemon.client(["rm", "-f", id]) }

            let stream = try RawAPI.attach(
                daemon.socket, "/containers/\(id)/attach?stream=1&stdin=1&stdout=1&stderr=1")
            defer { stream.close() }
            #expect(stream.head.contains("application/vnd.docker.multiplexed-stream"))
            try stream.write("one\n")
            let first = try stream.read(until: "got:one")
            // Without a TTY each piece of output comes in an 8-byte frame: stdout is stream 1.
            #expect(first.utf8.first == 1, "\(Array(first.utf8.prefix(8)))")

            // A ctrl-p alone is input; ctrl-p ctrl-q detaches.
            try stream.write("t\u{10}wo\n")
            _ = try stream.read(until: "got:t\u{10}wo")
            try stream.write("\u{10}\u{11}")
            _ = try stream.readToEnd()
            let state = try ContainerJSON(daemon, id).state
            #expect(state["Running"] as? Bool == true, "\(state)")

            // exec with a TTY through the raw API: a new pty, resized, raw output.
            let created = try RawAPI.request(
                daemon.socket, "POST", "/containers/\(id)/exec",
                body: #"{"Cmd":["sh"],"Tty":true,"AttachStdin":true,"AttachStdout":true}"#)
            let execID = try #require(
                created.split(separator: "\"").drop { $0 != "Id" }.dropFirst(2).first)
            let terminal = try RawAPI.attach(
                daemon.socket, "/exec/\(execID)/start", body: #"{"Detach":false,"Tty":true}"#)
            defer { terminal.close() }
            #expect(terminal.head.hasPrefix("HTTP/1.1 101"), "\(terminal.head)")
            let resized = try RawAPI.request(
                daemon.socket, "POST", "/exec/\(execID)/resize?h=12&w=34")
            #expect(resized.hasPrefix("HTTP/1.1 200"), "\(resized)")
            try terminal.write("stty size; tty; exit\n")
            let execOutput = try terminal.readToEnd()
            #expect(execOutput.contains("12 34"), "\(execOutput)")
            #expect(execOutput.contains("/dev/pts/"))

            // exec -i: the client's stdin reaches the command, and its end ends it.
            let exec = try daemon.client(["exec", "-i", id, "cat"], stdin: Data("hello\n".utf8))
            #expect(exec.status == 0, "\(exec.stderr)")
            #expect(exec.stdout == "hello\n")
        }
    }
}

/// Hand-written HTTP over the daemon's unix socket, for what the client does not show.
enum RawAPI {
    /// Sends one request and returns the whole response as text.
    static func request(_ socket: String, _ method: String, _ path: String, body: String = "")
        throws -> String
    {
        let stream = try RawStream(socket: socket)
        defer { stream.close() }
        try stream.write(
            "\(method) \(path) HTTP/1.1\r\nHost: swiftd\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Content-Type: application/json\r\nConnection: close\r\n\r\n" + body)
        return try stream.readToEnd()
    }

    /// Sends a hijacking request and returns the stream once the response head has arrived.
    static func attach(_ socket: String, _ path: String, body: String = "") throws -> RawStream {
        let stream = try RawStream(socket: socket)
        try stream.write(
            "POST \(path) HTTP/1.1\r\nHost: swiftd\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                + body)
        let head = try stream.read(until: "\r\n\r\n")
        let end = try #require(head.range(of: "\r\n\r\n"))
        stream.head = String(head[..<end.lowerBound])
        stream.pending = Array(head[end.upperBound...].utf8)
        return stream
    }
}

/// A connected unix socket with a read buffer.
final class RawStream {
    private let fd: Int32
    var head = ""
    var pending: [UInt8] = []

    init(socket path: String) throws {
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw HarnessError("connect \(path): errno \(errno)")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
        guard sent == bytes.count else { throw HarnessError("send: errno \(errno)") }
    }

    /// Reads until `marker` has arrived (at most 20 s); returns everything read so far.
    func read(until marker: String) throws -> String {
        while !String(decoding: pending, as: UTF8.self).contains(marker) {
            guard let chunk = try readChunk() else {
                throw HarnessError("end of stream before \(marker): \(String(decoding: pending, as: UTF8.self))")
            }
            pending += chunk
        }
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Reads until the daemon closes the stream.
    func readToEnd() throws -> String {
        while let chunk = try readChunk() { pending += chunk }
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    private func readChunk() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        if count < 0 { throw HarnessError("recv: errno \(errno)") }
        return count == 0 ? nil : Array(buffer[0..<count])
    }

    func close() { Glibc.close(fd) }
}

/// A container's inspect document, read through the client.
struct ContainerJSON {
    let document: [String: Any]

    init(_ daemon: DaemonHarness, _ name: String) throws {
        let result = try daemon.client(["inspect", name])
        guard result.status == 0,
            let list = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
                as? [[String: Any]],
            let first = list.first
        else { throw HarnessError("inspect \(name) failed: \(result.stderr)") }
        document = first
    }

    var state: [String: Any] { document["State"] as? [String: Any] ?? [:] }
    var restartCount: Int { document["RestartCount"] as? Int ?? -1 }
    var status: String { state["Status"] as? String ?? "" }
}
