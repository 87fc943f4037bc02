import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdExec
import SwiftdGraph
import SwiftdNetwork
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// Registers the container handlers.
    func registerContainerHandlers() throws {
        try engine.register("create") { [self] job in try await create(job) }
        try engine.register("start") { [self] job in try await start(job) }
        try engine.register("stop") { [self] job in
            let container = try container(try job.argument("name"))
            endRestartPolicy(container)
            guard container.isRunning else {
                job.environment["statusCode"] = "304"
                return
            }
            let timeout = job.environment.int("t") ?? container.record.config.StopTimeout ?? 10
            try await stop(container, timeout: timeout, signal: job.environment["signal"])
        }
        try engine.register("kill") { [self] job in
            let container = try container(try job.argument("name"))
            guard container.isRunning else {
                throw SwiftdError(.conflict, "Cannot kill container: \(container.id): Container \(container.id) is not running")
            }
            let signal = try Signals.parse(job.environment["signal"] ?? "KILL")
            try exec.signal(pid: container.record.state.Pid, signal)
            emit(container, "kill", ["signal": "\(signal)"])
        }
        try engine.register("wait") { [self] job in try await wait(job) }
        try engine.register("delete") { [self] job in
            let container = try container(try job.argument("name"))
            endRestartPolicy(container)
            try await remove(container, force: job.environment.bool("force"))
            if job.environment.bool("v") { removeAnonymousVolumes(of: container.record) }
        }
        try engine.register("containers") { [self] job in try await listContainers(job) }
        try engine.register("container_inspect") { [self] job in
            let container = try container(try job.argument("name"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try await job.stdout.write(Array(try encoder.encode(inspect(container))))
        }
        try engine.register("restart") { [self] job in
            let container = try container(try job.argument("name"))
            let timeout = job.environment.int("t") ?? container.record.config.StopTimeout ?? 10
            endRestartPolicy(container)
            try await stop(container, timeout: timeout, signal: job.environment["signal"])
            resetRestartPolicy(container)
            try await start(container)
            emit(container, "restart")
        }
        try engine.register("rename") { [self] job in
            let container = try container(try job.argument("container"))
            guard var newName = job.environment["name"]?.trimmingCharacters(in: .whitespaces), !newName.isEmpty else {
                throw SwiftdError(.invalidArgument, "Neither old nor new names may be empty")
            }
            if newName.hasPrefix("/") { newName.removeFirst() }
            guard NameGenerator.isValid(newName) else {
                throw SwiftdError(.invalidArgument, "Invalid container name (\(newName)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            }
            let oldName = container.name
            try rename(container, to: newName)
            emit(container, "rename", ["oldName": "/\(oldName)"])
        }
        try engine.register("containers_prune") { [self] job in
            var deleted: [String] = []
            for container in allContainers() where !container.isRunning {
                do {
                    try await remove(container, force: false)
                    deleted.append(container.id)
                } catch {
                    log.warning("pruning a container failed", [("id", container.id), ("error", "\(error)")])
                }
            }
            let report = ContainerPruneReport(ContainersDeleted: deleted, SpaceReclaimed: 0)
            try await job.stdout.write(Array(try JSONEncoder().encode(report)))
        }
        try engine.register("pause") { [self] job in
            let container = try container(try job.argument("name"))
            guard container.isRunning else {
                throw SwiftdError(.conflict, "Container \(container.id) is not running")
            }
            guard !container.record.state.Paused else {
                throw SwiftdError(.conflict, "Container \(container.id) is already paused")
            }
            try exec.pause(containerID: container.id)
            try container.update { $0.state.Paused = true; $0.state.Status = "paused" }
            emit(container, "pause")
        }
        try engine.register("unpause") { [self] job in
            let container = try container(try job.argument("name"))
            guard container.record.state.Paused else {
                throw SwiftdError(.conflict, "Container \(container.id) is not paused")
            }
            try exec.resume(containerID: container.id)
            try container.update { $0.state.Paused = false; $0.state.Status = "running" }
            emit(container, "unpause")
        }
        try engine.register("logs") { [self] job in try await logs(job) }
        try engine.register("attach") { [self] job in try await attach(job) }
        try registerNetworkHandlers()
        try engine.register("resize") { [self] job in try resize(job) }
        // Handlers are in place, so containers whose policy says so can start again.
        try registerVolumeHandlers()
        try registerStatsHandlers()
        try registerUpdateHandlers()
        applyRestartPoliciesAtStart()
    }

    // MARK: create

    private func create(_ job: Job) async throws {
        guard let body = job.environment["body"] else {
            throw SwiftdError(.invalidArgument, "config cannot be empty in order to create a container")
        }
        let request = try JSONDecoder().decode(ContainerCreateRequest.self, from: Data(body.utf8))
        guard let imageName = request.Image, !imageName.isEmpty else {
            throw SwiftdError(.invalidArgument, "invalid request: Image is required")
        }
        let image = try lookUpImage(imageName)
        var hostConfig = request.HostConfig ?? HostConfig()
        try normalizeLogConfig(&hostConfig)
        if let memory = hostConfig.Memory {
            if memory < 0 { throw SwiftdError(.invalidArgument, "invalid Memory: must not be negative") }
            if memory > 0 && memory < 6 * 1024 * 1024 {
                throw SwiftdError(.invalidArgument, "Minimum memory limit allowed is 6MB")
            }
        }
        try validateRestartPolicy(hostConfig)
        _ = try terminalSize(hostConfig.ConsoleSize)
        try validateResources(&hostConfig)
        let storageOptions = try storageOptions(hostConfig)

        let id = randomID()
        var name = job.environment["name"] ?? ""
        if name.hasPrefix("/") { name.removeFirst() }
        if name.isEmpty {
            repeat { name = NameGenerator.random() } while isNameInUse(name)
        } else if !NameGenerator.isValid(name) {
            throw SwiftdError(.invalidArgument, "Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }

        let imageConfig = image.config.config
        let entrypoint = request.Entrypoint ?? imageConfig?.entrypoint ?? []
        let command = request.Cmd ?? (request.Entrypoint == nil ? imageConfig?.cmd : nil) ?? []
        let argv = entrypoint + command
        guard let path = argv.first else { throw SwiftdError(.invalidArgument, "No command specified") }

        var config = ContainerConfig(Hostname: request.Hostname.flatMap { $0.isEmpty ? nil : $0 } ?? String(id.prefix(12)), Image: imageName)
        config.Domainname = request.Domainname ?? ""
        config.User = request.User ?? imageConfig?.user ?? ""
        config.AttachStdin = request.AttachStdin ?? false
        config.AttachStdout = request.AttachStdout ?? true
        config.AttachStderr = request.AttachStderr ?? true
        config.Tty = request.Tty ?? false
        config.OpenStdin = request.OpenStdin ?? false
        config.StdinOnce = request.StdinOnce ?? false
        config.Env = mergeEnvironment(imageConfig?.env ?? [], request.Env ?? [])
        config.Cmd = request.Cmd ?? imageConfig?.cmd
        config.Entrypoint = request.Entrypoint ?? imageConfig?.entrypoint
        config.Labels = (imageConfig?.labels ?? [:]).merging(request.Labels ?? [:]) { $1 }
        config.WorkingDir = request.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? imageConfig?.workingDir ?? ""
        config.StopSignal = request.StopSignal ?? imageConfig?.stopSignal
        config.StopTimeout = request.StopTimeout
        let attachments = try checkNetworkRequest(
            request, imagePorts: Array((imageConfig?.exposedPorts ?? [:]).keys), name: name,
            hostConfig: &hostConfig, config: &config)
        let networkMode = hostConfig.NetworkMode ?? "default"
        try checkNamespaceModes(&hostConfig, config: &config, requestedHostname: request.Hostname)

        let directory = "\(configuration.root)/containers/\(id)"
        // Own mounts replace inherited ones at the same destination, and both cover the
        // image's volumes.
        let inherited = try inheritedMounts(hostConfig)
        let own = try resolveMounts(
            hostConfig,
            imageVolumes: (imageConfig?.volumes ?? [:]).keys.filter { path in
                !inherited.contains { $0.Destination == "/" + path.split(separator: "/").joined(separator: "/") }
            })
        let mountPoints = inherited.filter { point in !own.contains { $0.Destination == point.Destination } } + own
        var record = ContainerRecord(
            id: id, name: name, created: timestamp(), imageID: image.id, imageName: imageName,
            path: path, args: Array(argv.dropFirst()), config: config, hostConfig: hostConfig,
            state: ContainerState(), networkName: networkMode == "default" ? "bridge" : networkMode)
        record.mountPoints = mountPoints
        record.networks = attachments
        let container = Container(record: record, directory: directory)
        try add(container)
        do {
            try FileSystem.createDirectory(directory, mode: 0o710)
            try graph.createContainerLayer(id: id, imageID: image.id, options: storageOptions)
            try container.save()
        } catch {
            forget(container)
            try? graph.removeContainerLayer(id: id)
            try? FileSystem.removeTree(directory)
            throw error
        }
        emit(container, "create")
        // dockerd warns of the container-wide MAC address too, after it moved the address.
        let warnings = (request.MacAddress ?? "").isEmpty ? [] : [
            "The container-wide MacAddress field is now deprecated. It should be specified in "
                + "EndpointsConfig instead."
        ]
        let response = ContainerCreateResponse(Id: id, Warnings: warnings)
        try await job.stdout.write(Array(try JSONEncoder().encode(response)))
    }

    // MARK: start

    private func start(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        if container.isRunning {
            job.environment["statusCode"] = "304"
            return
        }
        resetRestartPolicy(container)
        try await start(container)
    }

    /// Starts a stopped container; a start or stop already under way is a conflict.
    func start(_ container: Container) async throws {
        let claimed = container.busy.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard claimed else {
            throw SwiftdError(.conflict, "container \(container.id) is already being started or stopped")
        }
        defer { container.busy.withLock { $0 = false } }
        try await run(container)
    }

    /// Mounts the rootfs, starts the process with its network, and begins supervising it.
    private func run(_ container: Container) async throws {
        let record = container.record
        let clock = ContinuousClock()
        let began = clock.now
        let rootfs = try graph.mountContainer(id: container.id)
        let mounted = clock.now
        var spec = ContainerSpec(
            id: container.id, rootfs: rootfs, arguments: [record.path] + record.args,
            environment: record.config.Env, hostname: record.config.Hostname)
        spec.workingDirectory = record.config.WorkingDir.isEmpty ? "/" : record.config.WorkingDir
        if let memory = record.hostConfig.Memory, memory > 0 { spec.memoryLimit = memory }
        do {
            try applyHostConfig(record.hostConfig, to: &spec)
            try applyNamespaceModes(record.hostConfig, to: &spec)
            let user = try ExecUser(record.config.User, rootfs: rootfs)
            spec.uid = user.uid
            spec.gid = user.gid
            spec.additionalGroups = user.additionalGroups
            // As runc does: HOME from the passwd entry unless the environment has one.
            if !spec.environment.contains(where: { $0.hasPrefix("HOME=") }) {
                spec.environment.append("HOME=\(user.home)")
            }
        } catch {
            try? graph.unmountContainer(id: container.id)
            throw error
        }
        spec.mounts += specMounts(record)
        let networkPlan: NetworkPlan
        do {
            networkPlan = try prepareNetwork(container, spec: &spec)
        } catch {
            try? graph.unmountContainer(id: container.id)
            throw error
        }
        var attached: [NetworkAttachment] = []
        let pid: Int32
        let pump: OutputPump
        let monitor: ContainerMonitor
        let prepared = clock.now
        var networking = Duration.zero
        do {
            (pid, pump, monitor) = try startProcess(container, spec) {
                [self] pid in
                let start = clock.now
                defer { networking = clock.now - start }
                attached = try attachNetwork(container, networkPlan, pid: pid)
                if spec.newNetworkNamespace && !networkPlan.bridged {
                    try BridgeDriver.bringUpLoopback(pid: pid)
                }
            }
        } catch {
            detachNetworks(container, attached)
            try? graph.unmountContainer(id: container.id)
            let exitCode: Int32
            switch error {
            case ExecError.executableNotFound: exitCode = 127
            case ExecError.permissionDenied: exitCode = 126
            default: exitCode = 128
            }
            try? container.update { record in
                record.state.ExitCode = exitCode
                record.state.Error = "\(error)"
                if record.state.Status == "running" { record.state.Status = "exited" }
            }
            // Clients waiting for this start (docker run) must learn that it ended.
            container.notifyExit(exitCode)
            if record.hostConfig.AutoRemove == true {
                Task { [self] in try? await remove(container, force: true) }
            }
            // A host port already taken is the daemon's failure (500), as dockerd reports it.
            // Every other start failure is a bad request (400).
            if let classified = error as? any ClassifiedError, classified.kind == .internalError {
                throw error
            }
            throw SwiftdError(.invalidArgument, "failed to create task for container: \(error)")
        }
        try container.update { record in
            record.state.Status = "running"
            record.state.Running = true
            record.state.Pid = pid
            record.state.ExitCode = 0
            record.state.Error = ""
            record.state.OOMKilled = false
            record.state.StartedAt = timestamp()
            record.state.FinishedAt = "0001-01-01T00:00:00Z"
            record.attachments = attached
        }
        log.debug(
            "container started",
            [
                ("id", container.id), ("pid", "\(pid)"), ("mount", "\(mounted - began)"),
                ("prepare", "\(prepared - mounted)"),
                ("process", "\(clock.now - prepared - networking)"), ("network", "\(networking)"),
            ])
        emitNetworkEvents(container, attached, action: "connect")
        emitVolumeEvents(container, "mount")
        emit(container, "start")
        supervise(container, pid: pid, pump: pump, monitor: monitor)
    }

    /// Waits for the monitor to report the exit of the container's process `pid`, then
    /// finishes the container.
    func supervise(_ container: Container, pid: Int32, pump: OutputPump, monitor: ContainerMonitor) {
        container.monitor.withLock { $0 = monitor }
        container.pump.withLock { $0 = pump }
        Task { [self] in
            let raw = await exitStatus(from: monitor)
                ?? ContainerMonitor.recordedExitStatus(directory: container.directory)
            // The monitor's time of the exit, which may be long before a restarted daemon
            // learns of it.
            let exitTime = ContainerMonitor.recordedExit(directory: container.directory)?.time
            let status: ExitStatus
            if let raw {
                status = exec.exitStatus(raw: raw, pid: pid, containerID: container.id)
            } else {
                // The monitor ended without reporting the exit. Removing the cgroups below ends
                // what is left of the container, and exit code 255 marks the status as lost.
                log.error("a container's monitor ended before its process", [("id", container.id)])
                status = ExitStatus(code: 255)
            }
            await finish(
                container, status: status, pump: pump,
                finishedAt: exitTime.map { timestamp(Date(timeIntervalSince1970: $0)) })
            container.pump.withLock { $0 = nil }
            container.monitor.withLock { $0 = nil }
            await monitor.finish()
        }
    }

    /// Reads the monitor's messages on the pipe reactor until one reports the exit; nil if
    /// the monitor's connection ends first.
    private func exitStatus(from monitor: ContainerMonitor) async -> Int32? {
        guard let fd = try? monitor.eventDescriptor() else { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            let state = Mutex<(bytes: [UInt8], done: Bool)>(([], false))
            let handler = PipeReactor.Handler(
                data: { chunk in
                    let status = state.withLock { state -> Int32? in
                        guard !state.done else { return nil }
                        state.bytes += chunk
                        guard let status = ContainerMonitor.exitStatus(in: state.bytes[...]) else { return nil }
                        state.done = true
                        return status
                    }
                    if let status { continuation.resume(returning: status) }
                },
                end: {
                    let first = state.withLock { state -> Bool in
                        defer { state.done = true }
                        return !state.done
                    }
                    if first { continuation.resume(returning: nil) }
                })
            do {
                _ = try PipeReactor.shared.add(fd, handler)
            } catch {
                close(fd)
                continuation.resume(returning: nil)
            }
        }
    }

    /// Cleans up after the container's process exited, records the exit, and wakes waiters.
    private func finish(
        _ container: Container, status: ExitStatus, pump: OutputPump, finishedAt: String? = nil
    ) async {
        // Every process of the container died with its PID 1, so the pipes reach end of file.
        // A second's grace covers output still in flight. After it, a process that escaped the
        // PID namespace is cut off.
        let drained = Task { await pump.waitUntilDrained() }
        let timeout = Task {
            try await Task.sleep(for: .seconds(1))
            pump.cancel()
        }
        await drained.value
        timeout.cancel()

        let clock = ContinuousClock()
        let began = clock.now
        let record = container.record
        emitNetworkEvents(container, record.attachments, action: "disconnect")
        detachNetworks(container, record.attachments, exited: true)
        let detached = clock.now
        do {
            try exec.removeCgroups(containerID: container.id)
        } catch {
            log.error("removing a container's cgroups failed", [("id", container.id), ("error", "\(error)")])
        }
        let cgroupsRemoved = clock.now
        do {
            try graph.unmountContainer(id: container.id)
        } catch {
            log.error("unmounting a container failed", [("id", container.id), ("error", "\(error)")])
        }
        let unmounted = clock.now
        do {
            try container.update { record in
                record.state.Status = "exited"
                record.state.Running = false
                record.state.Paused = false
                record.state.Pid = 0
                record.state.ExitCode = status.code
                record.state.OOMKilled = status.oomKilled
                record.state.FinishedAt = finishedAt ?? timestamp()
                record.endpoint = nil
            }
        } catch {
            log.error("saving a container's state failed", [("id", container.id), ("error", "\(error)")])
        }
        log.debug(
            "container exited",
            [
                ("id", container.id), ("code", "\(status.code)"), ("network", "\(detached - began)"),
                ("cgroups", "\(cgroupsRemoved - detached)"), ("unmount", "\(unmounted - cgroupsRemoved)"),
                ("state", "\(clock.now - unmounted)"),
            ])
        refreshPeerHosts(of: record)
        if status.oomKilled { emit(container, "oom") }
        emit(container, "die", ["exitCode": "\(status.code)"])
        emitVolumeEvents(container, "unmount")
        container.notifyExit(status.code)
        scheduleRestart(container, exitCode: status.code)
        if record.hostConfig.AutoRemove == true {
            do {
                try await remove(container, force: false)
            } catch {
                log.error("removing a container after it exited failed", [("id", container.id), ("error", "\(error)")])
            }
        }
    }

    // MARK: stop, wait, remove

    /// Sends the stop signal, then SIGKILL after `timeout` seconds, and waits for the exit.
    func stop(_ container: Container, timeout: Int, signal: String?) async throws {
        let record = container.record
        guard record.state.Running else { return }
        let exited = container.nextExit()
        if record.state.Paused {
            // A frozen process cannot act on its signal.
            try? exec.resume(containerID: container.id)
            try? container.update { $0.state.Paused = false }
        }
        let stopSignal = try Signals.parse(signal ?? record.config.StopSignal ?? "TERM")
        try? exec.signal(pid: record.state.Pid, stopSignal)
        let killer = Task { [self] in
            if timeout >= 0 {
                try await Task.sleep(for: .seconds(timeout))
                log.info("container did not stop in time; killing it", [("id", container.id), ("timeout", "\(timeout)s")])
                try? exec.signal(pid: record.state.Pid, SIGKILL)
            }
        }
        _ = await exited.code()
        killer.cancel()
        emit(container, "stop")
    }

    private func wait(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        let condition = job.environment["condition"] ?? "not-running"
        guard ["not-running", "", "next-exit", "removed"].contains(condition) else {
            throw SwiftdError(.invalidArgument, "invalid condition: \"\(condition)\"")
        }
        // Register before the response head goes out: a client that has the head may start the
        // container, and its exit must not be missed.
        let ticket = container.nextExit()
        let removal = condition == "removed" ? container.removal() : nil
        let wasRunning = container.isRunning
        try await job.stdout.write([])
        let code: Int32
        switch condition {
        case "next-exit":
            code = await ticket.code()
        case "removed":
            if let removal { for await _ in removal {} }
            code = container.record.state.ExitCode
        default:
            code = wasRunning ? await ticket.code() : container.record.state.ExitCode
        }
        try await job.stdout.write(Array(try JSONEncoder().encode(ContainerWaitResponse(StatusCode: Int64(code)))))
    }

    /// Removes a stopped container, or a running one with `force` (killed first).
    func remove(_ container: Container, force: Bool) async throws {
        if container.isRunning {
            guard force else {
                throw SwiftdError(.conflict,
                    "You cannot remove a running container \(container.id). Stop the container before attempting removal or force remove")
            }
            try await stop(container, timeout: 0, signal: "KILL")
        }
        forget(container)
        let clock = ContinuousClock()
        let began = clock.now
        try graph.removeContainerLayer(id: container.id)
        let layerRemoved = clock.now
        try FileSystem.removeTree(container.directory)
        log.debug(
            "container removed",
            [
                ("id", container.id), ("layer", "\(layerRemoved - began)"),
                ("files", "\(clock.now - layerRemoved)"),
            ])
        emit(container, "destroy")
        container.notifyRemoval()
    }

    // MARK: inspect and list

    func inspect(_ container: Container) -> ContainerInspect {
        let record = container.record
        let endpoint = record.endpoint.map(endpointSettings)
        var result = ContainerInspect(
            Id: record.id, Created: record.created, Path: record.path, Args: record.args,
            State: record.state, Image: record.imageID, LogPath: container.logPath, Name: "/\(record.name)",
            HostConfig: record.hostConfig,
            GraphDriver: .init(Name: graph.driver.rawValue, Data: [:]),
            Config: record.config,
            NetworkSettings: NetworkSettings(
                Bridge: "", SandboxKey: record.state.Pid > 0 ? "/proc/\(record.state.Pid)/ns/net" : "",
                endpoint: endpoint, networkName: record.networkName))
        addNetworkDetails(container, to: &result)
        result.RestartCount = record.restartCount ?? 0
        result.Mounts = record.mountPoints ?? []
        return result
    }

    func summary(_ container: Container) -> ContainerSummary {
        summary(container.record, status: container.statusText)
    }

    func summary(_ record: ContainerRecord, status: String) -> ContainerSummary {
        let command = ([record.path] + record.args).joined(separator: " ")
        let networks = endpointSettings(record)
        var result = ContainerSummary(
            Id: record.id, Names: ["/\(record.name)"], Image: record.imageName, ImageID: record.imageID,
            Command: command, Created: Int64(parseTimestamp(record.created)?.timeIntervalSince1970 ?? 0),
            State: record.state.Status, Status: status, Labels: record.config.Labels,
            NetworkMode: record.hostConfig.NetworkMode ?? "default",
            NetworkSettings: NetworkSettingsSummary(Networks: networks))
        // As dockerd: a container that is not running lists no ports.
        result.Ports = record.state.Running ? portSummaries(record) : []
        return result
    }

    private func endpointSettings(_ endpoint: Endpoint) -> EndpointSettings {
        EndpointSettings(
            NetworkID: network?.bridgeName ?? "", EndpointID: endpoint.hostInterface, Gateway: endpoint.gateway,
            IPAddress: endpoint.ipAddress, IPPrefixLen: endpoint.prefixLength, MacAddress: endpoint.macAddress)
    }
}

extension Daemon {
    /// Records a container event with the attributes Docker sends: name, image and labels.
    /// Emits a volume event per named or anonymous volume of `container`, as dockerd does when
    /// it mounts them at start (`mount`) and lets them go at exit (`unmount`).
    func emitVolumeEvents(_ container: Container, _ action: String) {
        for point in container.record.mountPoints ?? [] where point.Type == "volume" {
            guard let name = point.Name else { continue }
            var attributes = ["container": container.id, "driver": point.Driver ?? "local"]
            if action == "mount" {
                attributes["destination"] = point.Destination
                attributes["propagation"] = point.Propagation
                attributes["read/write"] = point.RW ? "true" : "false"
            }
            events.emit(type: "volume", action: action, id: name, attributes: attributes)
        }
    }

    func emit(_ container: Container, _ action: String, _ extra: [String: String] = [:]) {
        let record = container.record
        var attributes = record.config.Labels
        attributes["name"] = record.name
        attributes["image"] = record.imageName
        events.emit(type: "container", action: action, id: container.id, attributes: attributes.merging(extra) { $1 })
    }
}

extension Daemon {
    /// Finds an image by name or ID. A name that is not a valid reference is a 400 with the
    /// reference parser's message, as dockerd returns for `BUSYBOX`.
    func lookUpImage(_ name: String) throws -> Image {
        do {
            return try graph.image(name)
        } catch let error as ClassifiedError where error.kind == .notFound {
            let isIDPrefix = !name.isEmpty && name.allSatisfy { $0.isHexDigit && ($0.isNumber || $0.isLowercase) }
            if !isIDPrefix && !name.hasPrefix("sha256:") { _ = try Reference(parsing: name) }
            throw error
        }
    }
}

extension Job {
    /// Returns the path parameter `name`, which the router sets for routes that have it.
    func argument(_ name: String) throws -> String {
        guard let value = environment[name], !value.isEmpty else {
            throw SwiftdError(.invalidArgument, "missing \(name)")
        }
        return value
    }
}

/// `POST /containers/prune`'s response.
struct ContainerPruneReport: Codable {
    var ContainersDeleted: [String]
    var SpaceReclaimed: Int64
}

/// Merges `overrides` into `base` by variable name, keeping `base`'s order.
func mergeEnvironment(_ base: [String], _ overrides: [String]) -> [String] {
    var result = base
    for entry in overrides {
        let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
        if let index = result.firstIndex(where: { ($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0) == key }) {
            result[index] = entry
        } else {
            result.append(entry)
        }
    }
    return result
}

/// Returns a random 64-hex-digit container ID.
func randomID() -> String {
    var id = ""
    for _ in 0..<4 { id += String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }
    return id
}
