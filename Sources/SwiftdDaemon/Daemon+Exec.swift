import Foundation
import Synchronization
import SwiftdAPI
import SwiftdCapabilities
import SwiftdEngine
import SwiftdExec
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// `POST /containers/{id}/exec`'s request.
struct ExecCreateRequest: Codable, Sendable {
    var AttachStdin: Bool?
    var AttachStdout: Bool?
    var AttachStderr: Bool?
    var Tty: Bool?
    var Env: [String]?
    var Cmd: [String]?
    var Privileged: Bool?
    var User: String?
    var WorkingDir: String?
    /// The terminal's first size with `Tty`: `[height, width]`.
    var ConsoleSize: [Int]?
}

/// The body of `POST /exec/{id}/start`.
struct ExecStartRequest: Codable, Sendable {
    var Detach: Bool?
    var Tty: Bool?
    var ConsoleSize: [Int]?
}

/// `GET /exec/{id}/json`'s response.
struct ExecInspect: Codable, Sendable {
    var ID: String
    var Running: Bool
    var ExitCode: Int32?
    var ContainerID: String
    var Pid: Int32
    var OpenStdin: Bool
    var OpenStderr: Bool
    var OpenStdout: Bool
    var ProcessConfig: ProcessConfig

    struct ProcessConfig: Codable, Sendable {
        var entrypoint: String
        var arguments: [String]
        var privileged: Bool
        var tty: Bool
        var user: String
    }
}

/// The exec instances of all containers, by ID.
final class ExecStore: Sendable {
    private let instances = Mutex<[String: ExecInspect]>([:])
    private let requests = Mutex<[String: ExecCreateRequest]>([:])
    /// The terminals of running execs with a TTY, for resize.
    private let terminals = Mutex<[String: ProcessInput]>([:])

    func setTerminal(_ input: ProcessInput?, for id: String) {
        terminals.withLock { $0[id] = input }
    }

    func terminal(of id: String) -> ProcessInput? {
        terminals.withLock { $0[id] }
    }

    func add(_ inspect: ExecInspect, request: ExecCreateRequest) {
        instances.withLock { $0[inspect.ID] = inspect }
        requests.withLock { $0[inspect.ID] = request }
    }

    func get(_ id: String) throws -> (ExecInspect, ExecCreateRequest) {
        guard let inspect = instances.withLock({ $0[id] }), let request = requests.withLock({ $0[id] }) else {
            throw SwiftdError(.notFound, "No such exec instance: \(id)")
        }
        return (inspect, request)
    }

    func update(_ id: String, _ body: (inout ExecInspect) -> Void) {
        instances.withLock { all in
            if var inspect = all[id] {
                body(&inspect)
                all[id] = inspect
            }
        }
    }
}

extension Daemon {
    /// Registers `exec_create`, `exec_start` and `exec_inspect`.
    func registerExecHandlers() throws {
        try engine.register("exec_create") { [self] job in
            let container = try container(try job.argument("name"))
            guard container.isRunning else {
                throw SwiftdError(.conflict, "Container \(container.id) is not running")
            }
            guard !container.record.state.Paused else {
                throw SwiftdError(.conflict, "Container \(container.id) is paused, unpause the container before exec")
            }
            guard let body = job.environment["body"] else { throw SwiftdError(.invalidArgument, "missing exec configuration") }
            let request = try JSONDecoder().decode(ExecCreateRequest.self, from: Data(body.utf8))
            guard let command = request.Cmd, !command.isEmpty else {
                throw SwiftdError(.invalidArgument, "No exec command specified")
            }
            let id = randomID()
            let inspect = ExecInspect(
                ID: id, Running: false, ExitCode: nil, ContainerID: container.id, Pid: 0,
                OpenStdin: request.AttachStdin ?? false,
                OpenStderr: request.AttachStderr ?? true, OpenStdout: request.AttachStdout ?? true,
                ProcessConfig: .init(entrypoint: command[0], arguments: Array(command.dropFirst()),
                    privileged: request.Privileged ?? false, tty: request.Tty ?? false, user: request.User ?? ""))
            execs.add(inspect, request: request)
            emit(container, "exec_create: \(command.joined(separator: " "))", ["execID": id])
            try await job.stdout.write(Array(try JSONEncoder().encode(["Id": id])))
        }
        try engine.register("exec_inspect") { [self] job in
            let (inspect, _) = try execs.get(try job.argument("id"))
            try await job.stdout.write(Array(try JSONEncoder().encode(inspect)))
        }
        try engine.register("exec_start") { [self] job in try await startExec(job) }
        try engine.register("exec_resize") { [self] job in
            let id = try job.argument("id")
            var (inspect, _) = try execs.get(id)
            // Clients resize as soon as the start's response head arrives, before the command
            // runs. Like dockerd, wait up to 10 s for it to start.
            let deadline = ContinuousClock.now + .seconds(10)
            while !inspect.Running && inspect.ExitCode == nil && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
                (inspect, _) = try execs.get(id)
            }
            guard inspect.Running else {
                throw SwiftdError(.conflict, "exec \(id) is not running")
            }
            let size = try windowSize(job)
            try execs.terminal(of: id)?.resize(rows: size.rows, columns: size.columns)
        }
    }

    private func startExec(_ job: Job) async throws {
        let id = try job.argument("id")
        let (inspect, request) = try execs.get(id)
        let options = try job.environment["body"].flatMap { body in
            body.isEmpty ? nil : try JSONDecoder().decode(ExecStartRequest.self, from: Data(body.utf8))
        }
        guard !inspect.Running && inspect.ExitCode == nil else {
            throw SwiftdError(.conflict, "exec instance \(id) has already been started")
        }
        let container = try container(inspect.ContainerID)
        let record = container.record
        guard record.state.Running else { throw SwiftdError(.conflict, "Container \(container.id) is not running") }

        var spec = ProcessSpec(
            arguments: [inspect.ProcessConfig.entrypoint] + inspect.ProcessConfig.arguments,
            environment: mergeEnvironment(record.config.Env, request.Env ?? []))
        spec.workingDirectory = request.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
            ?? (record.config.WorkingDir.isEmpty ? "/" : record.config.WorkingDir)
        let user = request.User.flatMap { $0.isEmpty ? nil : $0 } ?? record.config.User
        // The container's own view, bind mounts over /etc/passwd included.
        let resolved = try ExecUser(user, rootfs: "/proc/\(record.state.Pid)/root")
        spec.uid = resolved.uid
        spec.gid = resolved.gid
        spec.additionalGroups = resolved.additionalGroups
        if !spec.environment.contains(where: { $0.hasPrefix("HOME=") }) {
            spec.environment.append("HOME=\(resolved.home)")
        }
        var containerSpec = ContainerSpec(id: container.id, rootfs: "", arguments: [])
        try applyHostConfig(record.hostConfig, to: &containerSpec)
        spec.capabilities = request.Privileged == true ? CapabilitySet.all.mask : containerSpec.capabilities
        spec.noNewPrivileges = containerSpec.noNewPrivileges
        spec.seccomp = request.Privileged == true ? .unconfined : containerSpec.seccomp

        spec.tty = inspect.ProcessConfig.tty
        spec.terminalSize = try terminalSize(options?.ConsoleSize ?? request.ConsoleSize)
        let detach = options?.Detach == true
        if !detach {
            // Send the response head before the command can write: docker-py reads the head
            // through a buffer and then reads the bare socket, so output that arrives together
            // with the head is lost.
            let apiVersion = job.environment["apiVersion"] ?? APIVersion.current
            job.environment["contentType"] =
                !spec.tty && APIVersion.compare(apiVersion, "1.42") >= 0
                ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream"
            try await job.stdout.write([])
        }
        let broadcast = OutputBroadcast()
        let output = broadcast.subscribe()
        let pid: Int32
        let pump: OutputPump
        let input: ProcessInput?
        do {
            (pid, pump, input) = try startExecProcess(
                id, containerPid: record.state.Pid, spec: spec, openStdin: inspect.OpenStdin,
                broadcast: broadcast)
        } catch where !detach {
            // As dockerd does once the stream has begun: the error goes to the client's stdout
            // and the exit code (126 or 127) to the exec's inspect.
            let message = Array(((error as? any ClassifiedError)?.message ?? "\(error)").utf8)
                + Array("\r\n".utf8)
            try await job.stdout.write(spec.tty ? message : StreamFrame.encode(.stdout, message))
            return
        }
        execs.update(id) {
            $0.Running = true
            $0.Pid = pid
        }
        let finished = Task { [self] in
            let status = await exec.wait(pid: pid)
            await pump.waitUntilDrained()
            execs.update(id) {
                $0.Running = false
                $0.ExitCode = status.code
                $0.Pid = 0
            }
            execs.setTerminal(nil, for: id)
            emit(container, "exec_die", ["execID": id, "exitCode": "\(status.code)"])
        }

        if detach {
            if !spec.tty { input?.close() }
            return
        }
        if let input, inspect.OpenStdin {
            // The client's half-close ends the command's stdin (a pipe's; a terminal stays).
            Task {
                while let chunk = try? await job.stdin.read() {
                    if await offPool({ (try? input.write(chunk)) == nil }) { break }
                }
                if !input.isTerminal { input.close() }
            }
        }
        for await event in output {
            switch event {
            case .data(let kind, let bytes):
                if kind == .stdout && !inspect.OpenStdout || kind == .stderr && !inspect.OpenStderr { continue }
                try await job.stdout.write(spec.tty ? bytes : StreamFrame.encode(kind, bytes))
            case .end:
                break
            }
        }
        // The exit code is recorded before the stream ends, so an inspect right after finds it.
        await finished.value
        input?.close()
    }

    /// Starts an exec's command with pipes (and a stdin pipe with `openStdin`), or with a new
    /// pty when `spec.tty` is set, and pumps its output into `broadcast`.
    ///
    /// - Returns: the pid, the pump, and the command's input (the stdin pipe or the terminal,
    ///   which is also registered for resize).
    /// - Throws: `SwiftdError(.invalidArgument)` when the command cannot start (its exit code
    ///   is recorded on the exec); `SystemCallError` from the pipes.
    private func startExecProcess(
        _ id: String, containerPid: Int32, spec: ProcessSpec, openStdin: Bool,
        broadcast: OutputBroadcast
    ) throws -> (pid: Int32, pump: OutputPump, input: ProcessInput?) {
        if spec.tty {
            let started: TerminalProcess
            do {
                started = try exec.execWithTerminal(containerPid: containerPid, spec: spec)
            } catch {
                execs.update(id) { $0.ExitCode = (error as? ExecError)?.exitCode ?? 126 }
                throw SwiftdError(.invalidArgument, "OCI runtime exec failed: \(error)")
            }
            let writer = fcntl(started.master, F_DUPFD_CLOEXEC, 0)
            guard writer >= 0 else {
                let code = errno
                close(started.master)
                _ = kill(started.pid, SIGKILL)
                throw SystemCallError(
                    call: "fcntl(F_DUPFD_CLOEXEC)", subject: "exec pty master", errno: code)
            }
            let input = ProcessInput(fd: writer, isTerminal: true)
            let pump = try OutputPump(
                terminal: started.master, log: nil, broadcast: broadcast, id: id)
            execs.setTerminal(input, for: id)
            return (started.pid, pump, input)
        }

        let stdout = try Sockets.pipe()
        let stderr = try Sockets.pipe()
        let stdin = openStdin ? try ExecDriver.makePipe() : nil
        let childStdin = stdin?.read ?? open("/dev/null", O_RDONLY | O_CLOEXEC)
        let pid: Int32
        do {
            let stdio = ContainerStdio(
                stdin: childStdin, stdout: stdout.write, stderr: stderr.write)
            pid = try exec.exec(containerPid: containerPid, spec: spec, stdio: stdio)
        } catch {
            for fd in [childStdin, stdout.read, stdout.write, stderr.read, stderr.write] {
                close(fd)
            }
            if let stdin { close(stdin.write) }
            execs.update(id) { $0.ExitCode = (error as? ExecError)?.exitCode ?? 126 }
            throw SwiftdError(.invalidArgument, "OCI runtime exec failed: \(error)")
        }
        for fd in [childStdin, stdout.write, stderr.write] { close(fd) }
        let input = stdin.map { ProcessInput(fd: $0.write, isTerminal: false) }
        let pump = try OutputPump(
            stdout: stdout.read, stderr: stderr.read, log: nil, broadcast: broadcast, id: id)
        return (pid, pump, input)
    }
}
