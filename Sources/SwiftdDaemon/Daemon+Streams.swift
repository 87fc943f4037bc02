import Dispatch
import Foundation
import Synchronization
import SwiftdAPI
import SwiftdEngine
import SwiftdExec
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// `POST /containers/{id}/attach`: the container's output from now until its process
    /// exits, and with `stdin=1` the client's input to the process's stdin.
    ///
    /// With a TTY the stream is raw; without, multiplexed (API 1.42 and later say so in the
    /// content type). The detach keys (`detachKeys`, default ctrl-p ctrl-q) in the input end
    /// the attach and leave the container running; the client's half-close closes the
    /// process's stdin when the container has `StdinOnce`.
    func attach(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        let config = container.record.config
        let wantStdout = job.environment.bool("stdout")
        let wantStderr = job.environment.bool("stderr")
        guard job.environment.bool("stream") || job.environment.bool("logs") else {
            throw SwiftdError(.invalidArgument, "attach needs stream=1 or logs=1")
        }
        let wantStdin = job.environment.bool("stdin") && config.OpenStdin
        let detachKeys = try DetachKeys(job.environment["detachKeys"] ?? "ctrl-p,ctrl-q")
        let apiVersion = job.environment["apiVersion"] ?? APIVersion.current
        job.environment["contentType"] =
            !config.Tty && APIVersion.compare(apiVersion, "1.42") >= 0
            ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream"
        let events = container.output.subscribe()
        // Send the 101 head: the client starts the container only once it has it.
        try await job.stdout.write([])
        guard job.environment.bool("stream") else { return }

        let (outcomes, outcome) = AsyncStream<AttachOutcome>.makeStream()
        let output = Task {
            for await event in events {
                guard case .data(let kind, let bytes) = event else { break }
                if kind == .stdout && !wantStdout || kind == .stderr && !wantStderr { continue }
                let framed = config.Tty ? bytes : StreamFrame.encode(kind, bytes)
                do {
                    try await job.stdout.write(framed)
                } catch {
                    break
                }
            }
            outcome.yield(.outputEnded)
        }
        let ended = AttachEnd()
        if wantStdin {
            Task {
                let result = await copyInput(
                    job, to: container, detachKeys: detachKeys, ended: ended)
                outcome.yield(result)
            }
        }
        for await result in outcomes where result != .inputEnded { break }
        ended.flag.store(true, ordering: .releasing)
        output.cancel()
        await output.value
        if wantStdin { emit(container, "detach") }
    }

    /// Copies the attached client's input to the process until the client half-closes, sends
    /// the detach keys, or the attach ends.
    private func copyInput(
        _ job: Job, to container: Container, detachKeys: DetachKeys, ended: AttachEnd
    ) async -> AttachOutcome {
        var scanner = detachKeys.scanner()
        while true {
            let chunk: [UInt8]?
            do {
                chunk = try await job.stdin.read()
            } catch {
                chunk = nil
            }
            // The end of a finished attach is the daemon's own shutdown of the socket.
            if ended.flag.load(ordering: .acquiring) { return .inputEnded }
            guard let chunk else {
                let record = container.record
                if record.config.StdinOnce && !record.config.Tty {
                    container.input.withLock { input in
                        input?.close()
                        input = nil
                    }
                }
                return .inputEnded
            }
            let (bytes, detached) = scanner.feed(chunk)
            // Input may arrive between the attach and the start (docker run): hold it until the
            // process has its stdin.
            var input = container.input.withLock { $0 }
            while input == nil && !container.isRunning && !ended.flag.load(ordering: .acquiring) {
                try? await Task.sleep(for: .milliseconds(10))
                input = container.input.withLock { $0 }
            }
            if !bytes.isEmpty, let input {
                let failed = await offPool { (try? input.write(bytes)) == nil }
                if failed { return .inputEnded }
            }
            if detached { return .detached }
        }
    }

    /// `POST /containers/{id}/resize?h=&w=`: sets the window size of the container's
    /// terminal. 409 when the container is not running; a container without a TTY ignores it.
    func resize(_ job: Job) throws {
        let container = try container(try job.argument("name"))
        let size = try windowSize(job)
        guard container.isRunning, let input = container.input.withLock({ $0 }) else {
            if !container.isRunning {
                throw SwiftdError(
                    .conflict, "Container \(container.id) is not running")
            }
            return
        }
        try input.resize(rows: size.rows, columns: size.columns)
    }

    /// The `h` and `w` query parameters of a resize.
    func windowSize(_ job: Job) throws -> (rows: UInt16, columns: UInt16) {
        guard let rows = job.environment["h"].flatMap({ UInt16($0) }),
            let columns = job.environment["w"].flatMap({ UInt16($0) })
        else {
            throw SwiftdError(.invalidArgument, "resize needs numeric h and w")
        }
        return (rows, columns)
    }

    /// Starts the container's process under its monitor, with pipes (or a pty with `Tty`) for
    /// its stdio, and begins pumping its output into the log and to attached clients. The
    /// monitor keeps duplicates of the stdio, so that the process and its output survive the
    /// daemon.
    func startProcess(
        _ container: Container, _ spec: ContainerSpec, prepare: (Int32) throws -> Void
    ) throws -> (pid: Int32, pump: OutputPump, monitor: ContainerMonitor) {
        let config = container.record.config
        var spec = spec
        spec.tty = config.Tty
        spec.monitor = MonitorSetup(executable: monitorExecutable, directory: container.directory)
        if config.Tty {
            let started = try exec.startMonitored(
                spec, stdio: ContainerStdio(stdin: nil, stdout: -1, stderr: -1), prepare: prepare)
            do {
                try started.monitor.hold(MonitoredStdio(stdout: started.master))
                let pump = try attachStdio(
                    container, MonitoredStdio(stdout: started.master), monitor: started.monitor)
                return (started.pid, pump, started.monitor)
            } catch {
                abandon(started, container)
                throw error
            }
        }

        let stdout = try Sockets.pipe()
        let stderr = try Sockets.pipe()
        var stdin: (read: Int32, write: Int32)?
        do {
            if config.OpenStdin { stdin = try ExecDriver.makePipe() }
        } catch {
            for fd in [stdout.read, stdout.write, stderr.read, stderr.write] { close(fd) }
            throw error
        }
        let childStdin = stdin?.read ?? open("/dev/null", O_RDONLY | O_CLOEXEC)
        let started: ExecDriver.MonitoredContainer
        do {
            let stdio = ContainerStdio(
                stdin: childStdin, stdout: stdout.write, stderr: stderr.write)
            started = try exec.startMonitored(spec, stdio: stdio, prepare: prepare)
        } catch {
            for fd in [childStdin, stdout.read, stdout.write, stderr.read, stderr.write] {
                close(fd)
            }
            if let stdin { close(stdin.write) }
            throw error
        }
        for fd in [childStdin, stdout.write, stderr.write] { close(fd) }
        let stdio = MonitoredStdio(stdin: stdin?.write, stdout: stdout.read, stderr: stderr.read)
        do {
            try started.monitor.hold(stdio)
            return (started.pid, try attachStdio(container, stdio, monitor: started.monitor), started.monitor)
        } catch {
            abandon(started, container)
            throw error
        }
    }

    /// Kills a container that started but could not be wired up, and its monitor.
    private func abandon(_ started: ExecDriver.MonitoredContainer, _ container: Container) {
        _ = kill(started.pid, SIGKILL)
        started.monitor.abandon()
        try? exec.removeCgroups(containerID: container.id)
    }

    /// Pumps the container's output (`stdio.stdout`, a pty master when the container has a
    /// terminal, and `stdio.stderr`) into its log and to attached clients, and makes
    /// `stdio.stdin` (or a duplicate of the master) the container's input. Takes ownership
    /// of the descriptors, also when it throws.
    func attachStdio(_ container: Container, _ stdio: MonitoredStdio, monitor: ContainerMonitor)
        throws -> OutputPump
    {
        // Checked at create; a record from an older swiftd with bad options logs unrotated.
        let logOptions = LogOptions(stored: container.record.hostConfig.LogConfig)
        if container.record.config.Tty, let master = stdio.stdout {
            for fd in [stdio.stdin, stdio.stderr].compactMap({ $0 }) { close(fd) }
            let writer = fcntl(master, F_DUPFD_CLOEXEC, 0)
            guard writer >= 0 else {
                let code = errno
                close(master)
                throw SystemCallError(call: "fcntl(F_DUPFD_CLOEXEC)", subject: "pty master", errno: code)
            }
            do {
                let pump = try OutputPump(
                    terminal: master, log: container.log, options: logOptions,
                    broadcast: container.output, id: container.id)
                container.input.withLock { $0 = ProcessInput(fd: writer, isTerminal: true) }
                return pump
            } catch {
                close(writer)
                throw error
            }
        }
        guard let stdout = stdio.stdout, let stderr = stdio.stderr else {
            for fd in [stdio.stdin, stdio.stdout, stdio.stderr].compactMap({ $0 }) { close(fd) }
            throw SystemCallError(call: "recvmsg", subject: "output of \(container.id)", errno: EBADF)
        }
        do {
            let pump = try OutputPump(
                stdout: stdout, stderr: stderr, log: container.log, options: logOptions,
                broadcast: container.output, id: container.id)
            if let stdin = stdio.stdin {
                container.input.withLock {
                    $0 = ProcessInput(fd: stdin, isTerminal: false) { monitor.closeStdin() }
                }
            }
            return pump
        } catch {
            if let stdin = stdio.stdin { close(stdin) }
            throw error
        }
    }
}

/// How an attach's input or output ended.
enum AttachOutcome: Sendable, Equatable {
    case outputEnded, inputEnded, detached
}

/// Set once an attach has ended, so that its input copier tells the socket's shutdown from
/// the client's half-close.
final class AttachEnd: Sendable {
    let flag = Atomic<Bool>(false)
}

/// Runs a blocking `body` on a Dispatch thread rather than the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

/// The key sequence that detaches an attached client (`--detach-keys`, Docker's format:
/// `ctrl-p,ctrl-q`, `ctrl-@`, single characters).
struct DetachKeys: Sendable, Equatable {
    let sequence: [UInt8]

    /// Parses Docker's format; an empty string disables detaching.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` naming the key that is not understood.
    init(_ text: String) throws {
        var sequence: [UInt8] = []
        for key in text.split(separator: ",") {
            let name = key.lowercased()
            if name.hasPrefix("ctrl-"), name.count == 6, let last = name.utf8.last {
                switch last {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): sequence.append(last - 96)
                case UInt8(ascii: "@"): sequence.append(0)
                case UInt8(ascii: "["), UInt8(ascii: "\\"), UInt8(ascii: "]"),
                    UInt8(ascii: "^"), UInt8(ascii: "_"):
                    sequence.append(last - 64)
                default:
                    throw SwiftdError(.invalidArgument, "Invalid escape keys (\(text)) provided")
                }
            } else if key.utf8.count == 1, let byte = key.utf8.first {
                sequence.append(byte)
            } else {
                throw SwiftdError(.invalidArgument, "Invalid escape keys (\(text)) provided")
            }
        }
        self.sequence = sequence
    }

    func scanner() -> DetachScanner { DetachScanner(sequence: sequence) }
}

/// Watches an input stream for the detach sequence, holding back a partial match until it
/// is known whether the sequence completes.
struct DetachScanner {
    let sequence: [UInt8]
    private var matched = 0

    init(sequence: [UInt8]) {
        self.sequence = sequence
    }

    /// Feeds input; returns the bytes to pass on and whether the sequence completed (the bytes
    /// before it are passed on, the sequence and what follows it are not).
    mutating func feed(_ chunk: [UInt8]) -> (bytes: [UInt8], detached: Bool) {
        guard !sequence.isEmpty else { return (chunk, false) }
        var out: [UInt8] = []
        for byte in chunk {
            if byte == sequence[matched] {
                matched += 1
                if matched == sequence.count { return (out, true) }
                continue
            }
            // A broken partial match is ordinary input after all.
            out += sequence[0..<matched]
            matched = byte == sequence[0] ? 1 : 0
            if matched == 0 { out.append(byte) }
        }
        return (out, false)
    }
}

/// One line of a json-file log.

/// Signal names and numbers as `docker kill -s` and `StopSignal` accept them.
enum Signals {
    static let names: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
        "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16,
        "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
        "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "PWR": 30, "SYS": 31,
    ]

    /// Parses `SIGTERM`, `TERM` or `15`.
    static func parse(_ text: String) throws -> Int32 {
        if let number = Int32(text), (1...64).contains(number) { return number }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        guard let number = names[name] else {
            throw SwiftdError(.invalidArgument, "Invalid signal: \(text)")
        }
        return number
    }
}

/// Random container names in Docker's `adjective_surname` form.
enum NameGenerator {
    static let adjectives = [
        "admiring", "bold", "brave", "busy", "clever", "eager", "elegant", "focused", "gallant",
        "happy", "keen", "kind", "lucid", "nifty", "quirky", "serene", "sharp", "tender", "vibrant",
        "zealous",
    ]
    static let surnames = [
        "babbage", "curie", "dijkstra", "hopper", "knuth", "lamport", "liskov", "lovelace",
        "mccarthy", "noether", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak",
    ]

    static func random() -> String {
        "\(adjectives.randomElement() ?? "eager")_\(surnames.randomElement() ?? "turing")"
    }

    /// Reports whether `name` matches Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    static func isValid(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first.isNumber, name.count >= 2 else {
            return false
        }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}
