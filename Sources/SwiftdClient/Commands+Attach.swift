import Dispatch
import Foundation
import SwiftdAPI
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Commands {
    /// `swiftd attach [--no-stdin] [--detach-keys KEYS] CONTAINER`: connects the terminal to a
    /// running container's output and, if it has an open stdin, its input. Returns the
    /// container's exit code once it exits, or 0 after a detach.
    func attach(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--no-stdin"], takesValue: false),
            .init(names: ["--detach-keys"], takesValue: true),
            .init(names: ["--sig-proxy"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else {
            throw UsageFailure(message: "requires exactly 1 argument: CONTAINER")
        }
        let name = percentEncode(flags.positional[0])
        let inspect = try call("GET", "/containers/\(name)/json").decode(ContainerInspect.self)
        guard inspect.State.Running else {
            throw DaemonFailure(
                message: "You cannot attach to a stopped container, start it first", exitStatus: 1)
        }
        let stdin = inspect.Config.OpenStdin && !flags.bool("--no-stdin")
        var path = "/containers/\(inspect.Id)/attach?stream=1&stdout=1&stderr=1"
        if stdin { path += "&stdin=1" }
        if let keys = flags.string("--detach-keys") { path += "&detachKeys=\(percentEncode(keys))" }
        let (connection, response) = try client.hijack("POST", path)
        guard let connection else { throw DaemonFailure(message: response.errorMessage) }
        defer { connection.close() }
        let session = AttachSession(
            client: client, connection: connection, tty: inspect.Config.Tty, stdin: stdin,
            resizePath: "/containers/\(inspect.Id)/resize")
        try session.begin()
        session.sendSize()
        session.copyOutput()
        session.end()
        // The output ends a moment before the daemon records the exit; a container still
        // running after a second was detached from, and the attach itself succeeded.
        for _ in 0..<20 {
            guard let after = try? call("GET", "/containers/\(inspect.Id)/json")
                .decode(ContainerInspect.self)
            else { return 0 }
            if !after.State.Running { return after.State.ExitCode }
            usleep(50_000)
        }
        return 0
    }

    /// Whether the container is running (false if it cannot be inspected).
    func isRunning(_ id: String) -> Bool {
        (try? call("GET", "/containers/\(id)/json").decode(ContainerInspect.self))?.State.Running
            ?? false
    }
}

extension Commands {
    /// Sets `-i` and `-t` in a create request as the docker CLI does: `-i` opens stdin, and
    /// without `-d` attaches it once (the client's end of input closes the process's stdin).
    /// With `-t` on a terminal, the pty starts with the terminal's size.
    func applyStdioFlags(_ flags: FlagParser, to request: inout ContainerCreateRequest) {
        let interactive = flags.bool("-i")
        request.Tty = flags.bool("-t")
        if flags.bool("-t"), !flags.bool("-d"), let size = Terminal.size() {
            var hostConfig = request.HostConfig ?? HostConfig()
            hostConfig.ConsoleSize = [size.rows, size.columns]
            request.HostConfig = hostConfig
        }
        request.OpenStdin = interactive
        request.AttachStdin = interactive && !flags.bool("-d")
        request.StdinOnce = interactive && !flags.bool("-d")
    }

    /// Returns the attach path of `run` and `start -a`: output, and input with `stdin`.
    func attachPath(_ id: String, stdin: Bool, detachKeys: String?) -> String {
        var path = "/containers/\(id)/attach?stream=1&stdout=1&stderr=1"
        if stdin { path += "&stdin=1" }
        if let detachKeys { path += "&detachKeys=\(percentEncode(detachKeys))" }
        return path
    }
}

/// The client's half of an attached stream: its stdin copied to the connection, the
/// connection's output to stdout and stderr, and with a TTY the terminal in raw mode and its
/// size sent on every SIGWINCH.
final class AttachSession: @unchecked Sendable {
    // Safe because: `terminal` and `watcher` are used only by the thread that owns the session
    // (begin, copyOutput, end); the stdin thread touches only `connection`.
    private let client: APIClient
    private let connection: Connection
    private let tty: Bool
    private let stdin: Bool
    private let resizePath: String
    private var terminal = Terminal()
    private var watcher: (any DispatchSourceSignal)?

    init(client: APIClient, connection: Connection, tty: Bool, stdin: Bool, resizePath: String) {
        self.client = client
        self.connection = connection
        self.tty = tty
        self.stdin = stdin
        self.resizePath = resizePath
    }

    /// Puts the terminal in raw mode (with a TTY and a terminal on stdin), starts copying
    /// stdin, and starts watching the window size.
    ///
    /// - Throws: `SystemCallError` from the terminal settings.
    func begin() throws {
        if tty && stdin && terminal.isTerminal { try terminal.makeRaw() }
        if tty {
            watcher = Terminal.watchSize { [client, resizePath] rows, columns in
                _ = try? client.request("POST", "\(resizePath)?h=\(rows)&w=\(columns)")
            }
        }
        guard stdin else { return }
        let thread = Thread { [connection] in
            var buffer = [UInt8](repeating: 0, count: 32768)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                if (try? connection.write(Array(buffer[0..<count]))) == nil { return }
            }
            // The half-close tells the daemon that input ended.
            connection.closeWrite()
        }
        thread.start()
    }

    /// Sends the terminal's current size, with a TTY.
    func sendSize() {
        guard tty, let size = Terminal.size() else { return }
        _ = try? client.request("POST", "\(resizePath)?h=\(size.rows)&w=\(size.columns)")
    }

    /// Copies the container's output until the daemon ends the stream: raw with a TTY,
    /// demultiplexed without.
    func copyOutput() {
        var demultiplexer = StreamDemultiplexer()
        while true {
            let bytes = (try? connection.readSome()) ?? []
            if bytes.isEmpty { break }
            if tty {
                writeStdout(bytes)
                continue
            }
            demultiplexer.feed(bytes) { kind, payload in
                if kind == .stderr { writeStderrBytes(payload) } else { writeStdout(payload) }
            }
        }
    }

    /// Restores the terminal and stops watching its size.
    func end() {
        watcher?.cancel()
        terminal.restore()
    }
}
