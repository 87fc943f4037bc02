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
            if request.Tty == true {
                // TODO: exec with a TTY: the exec helper must open a pty in the container's
                // devpts.
                throw SwiftdError(.unsupported, "exec with a TTY (-t) is not supported yet")
            }
            let id = randomID()
            let inspect = ExecInspect(
                ID: id, Running: false, ExitCode: nil, ContainerID: container.id, Pid: 0,
                OpenStdin: request.AttachStdin ?? false,
                OpenStderr: request.AttachStderr ?? true, OpenStdout: request.AttachStdout ?? true,
                ProcessConfig: .init(entrypoint: command[0], arguments: Array(command.dropFirst()),
                    privileged: request.Privileged ?? false, tty: false, user: request.User ?? ""))
            execs.add(inspect, request: request)
            emit(container, "exec_create: \(command.joined(separator: " "))", ["execID": id])
            try await job.stdout.write(Array(try JSONEncoder().encode(["Id": id])))
        }
        try engine.register("exec_inspect") { [self] job in
            let (inspect, _) = try execs.get(try job.argument("id"))
            try await job.stdout.write(Array(try JSONEncoder().encode(inspect)))
        }
        try engine.register("exec_start") { [self] job in try await startExec(job) }
    }

    private func startExec(_ job: Job) async throws {
        let id = try job.argument("id")
        let (inspect, request) = try execs.get(id)
        guard !inspect.Running && inspect.ExitCode == nil else {
            throw SwiftdError(.conflict, "exec instance \(id) has already been started")
        }
        let container = try container(inspect.ContainerID)
        let record = container.record
        guard record.state.Running else { throw SwiftdError(.conflict, "Container \(container.id) is not running") }
        if let body = job.environment["body"],
            let options = try? JSONDecoder().decode([String: Bool].self, from: Data(body.utf8)),
            options["Tty"] == true
        {
            throw SwiftdError(.unsupported, "exec with a TTY (-t) is not supported yet")
        }

        var spec = ProcessSpec(
            arguments: [inspect.ProcessConfig.entrypoint] + inspect.ProcessConfig.arguments,
            environment: mergeEnvironment(record.config.Env, request.Env ?? []))
        spec.workingDirectory = request.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
            ?? (record.config.WorkingDir.isEmpty ? "/" : record.config.WorkingDir)
        let user = request.User.flatMap { $0.isEmpty ? nil : $0 } ?? record.config.User
        if !user.isEmpty {
            let parts = user.split(separator: ":")
            guard let uid = UInt32(parts[0]), parts.count < 2 || UInt32(parts[1]) != nil else {
                throw SwiftdError(.unsupported, "user \(user): only numeric uid[:gid] is supported so far")
            }
            spec.uid = uid
            spec.gid = parts.count > 1 ? UInt32(parts[1]) ?? 0 : 0
        }
        var containerSpec = ContainerSpec(id: container.id, rootfs: "", arguments: [])
        try applyHostConfig(record.hostConfig, to: &containerSpec)
        spec.capabilities = request.Privileged == true ? CapabilitySet.all.mask : containerSpec.capabilities
        spec.noNewPrivileges = containerSpec.noNewPrivileges
        spec.seccomp = request.Privileged == true ? .unconfined : containerSpec.seccomp

        let stdout = try Sockets.pipe()
        let stderr = try Sockets.pipe()
        let stdin = inspect.OpenStdin ? try ExecDriver.makePipe() : nil
        let childStdin = stdin?.read ?? open("/dev/null", O_RDONLY | O_CLOEXEC)
        let broadcast = OutputBroadcast()
        let output = broadcast.subscribe()
        let pid: Int32
        do {
            let stdio = ContainerStdio(
                stdin: childStdin, stdout: stdout.write, stderr: stderr.write)
            pid = try exec.exec(containerPid: record.state.Pid, spec: spec, stdio: stdio)
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
        execs.update(id) {
            $0.Running = true
            $0.Pid = pid
        }
        let pump = try OutputPump(stdout: stdout.read, stderr: stderr.read, logPath: nil, broadcast: broadcast, id: id)
        let finished = Task { [self] in
            let status = await exec.wait(pid: pid)
            await pump.waitUntilDrained()
            execs.update(id) {
                $0.Running = false
                $0.ExitCode = status.code
                $0.Pid = 0
            }
            emit(container, "exec_die", ["execID": id, "exitCode": "\(status.code)"])
        }

        let detach = job.environment["body"].flatMap {
            try? JSONDecoder().decode([String: Bool].self, from: Data($0.utf8))
        }?["Detach"] == true
        if detach {
            input?.close()
            return
        }
        let apiVersion = job.environment["apiVersion"] ?? APIVersion.current
        job.environment["contentType"] = APIVersion.compare(apiVersion, "1.42") >= 0
            ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream"
        try await job.stdout.write([])
        if let input {
            // The client's half-close ends the command's stdin; so does the end of the exec.
            Task {
                while let chunk = try? await job.stdin.read() {
                    if await offPool({ (try? input.write(chunk)) == nil }) { break }
                }
                input.close()
            }
        }
        for await event in output {
            switch event {
            case .data(let kind, let bytes):
                if kind == .stdout && !inspect.OpenStdout || kind == .stderr && !inspect.OpenStderr { continue }
                try await job.stdout.write(StreamFrame.encode(kind, bytes))
            case .end:
                break
            }
        }
        // The exit code is recorded before the stream ends, so an inspect right after finds it.
        await finished.value
        input?.close()
    }
}
