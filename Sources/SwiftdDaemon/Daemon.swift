import Dispatch
import Foundation
import Synchronization
import SwiftdAPI
import SwiftdEngine
import SwiftdExec
import SwiftdGraph
import SwiftdNetwork
import SwiftdSystem
import SwiftdSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon: its stores and drivers, and the job handlers that act on them.
final class Daemon: Sendable {
    let configuration: DaemonConfiguration
    let engine: Engine
    let log: Logger
    let graph: Graph
    let exec: ExecDriver
    /// The default bridge, or nil with `-b none`.
    let network: BridgeDriver?
    /// The user-defined networks.
    let networks: NetworkRegistry
    let events = EventLog()
    /// The RFC 3339 time this daemon started, given as the `Created` time of the built-in
    /// networks: the docker CLI rejects a network whose `Created` is empty.
    // NOTE: dockerd stores the built-in networks, so their time survives restarts; this does not.
    let startedAt = timestamp()
    let execs = ExecStore()
    let volumes: VolumeStore
    /// The `swiftd-monitor` program that each container runs under.
    let monitorExecutable: String
    private let containers = Mutex<[String: Container]>([:])
    /// The containers that this daemon took back running from their monitors at start-up:
    /// their exits, even those while no daemon ran, go through the normal exit path.
    let reattachedAtStart = Mutex<Set<String>>([])

    init(configuration: DaemonConfiguration, engine: Engine, log: Logger) throws {
        self.configuration = configuration
        self.engine = engine
        self.log = log
        try FileSystem.createDirectory("\(configuration.root)/containers", mode: 0o710)
        try FileSystem.createDirectory(configuration.execRoot, mode: 0o700)
        let driver = try Self.storageDriver(configuration, log)
        graph = try Graph(
            root: configuration.root, driver: driver,
            options: StorageOptions(daemonOptions: configuration.storageOptions, driver: driver))
        // Spooled uploads of a daemon that was killed: nothing refers to them.
        try? FileSystem.removeTree("\(configuration.root)/tmp")
        volumes = try VolumeStore(directory: "\(configuration.root)/volumes")
        guard let monitorExecutable = MonitorSetup.findExecutable() else {
            throw SwiftdError(
                .unsupported,
                "swiftd-monitor was found neither next to swiftd nor in /usr/libexec/swiftd; containers cannot run without it")
        }
        self.monitorExecutable = monitorExecutable
        // Named after the root's engine ID, not the pid: the next daemon on this root finds the
        // cgroups of the containers that outlived this one.
        exec = try ExecDriver(cgroupParent: "swiftd-\(Self.engineID(root: configuration.root).filter { $0 != "-" }.prefix(12))")
        do {
            let bridge = try Self.makeBridgeDriver(configuration, log: log)
            do {
                networks = try Self.makeNetworkRegistry(
                    configuration, defaultBridge: bridge?.bridgeName, log: log)
            } catch {
                try? bridge?.shutdown()
                throw error
            }
            network = bridge
        } catch {
            // The daemon exits: the cgroups made for its containers must not outlive it.
            try? exec.removeParentCgroups()
            throw error
        }
        sweepStaleCgroups()
        do {
            try restoreContainers()
        } catch {
            // The daemon exits: nothing it made on the host may outlive it.
            releaseHostResources()
            throw error
        }
        releaseStaleAddresses()
    }

    /// Deletes the bridges, rules and cgroups that the daemon made, logging each failure.
    func releaseHostResources() {
        do {
            try exec.removeParentCgroups()
        } catch {
            log.error("removing the daemon's cgroups failed", [("error", "\(error)")])
        }
        networks.shutdown()
        if let network {
            do {
                try network.shutdown()
            } catch {
                log.error("removing the bridge network failed", [("error", "\(error)")])
            }
        }
    }

    /// The driver named by `-s`, else overlay2 where an overlay mount works under the root,
    /// else vfs.
    private static func storageDriver(_ configuration: DaemonConfiguration, _ log: Logger) throws
        -> StorageDriver
    {
        if let name = configuration.storageDriver {
            guard let driver = StorageDriver(rawValue: name) else {
                throw SwiftdError(.invalidArgument, "invalid storage driver \(name): use overlay2 or vfs")
            }
            return driver
        }
        let probeDirectory = "\(configuration.root)/overlay2"
        try FileSystem.createDirectory(probeDirectory, mode: 0o700)
        if StorageDriver.overlaySupported(in: probeDirectory) { return .overlay2 }
        log.warning("overlay mounts fail under the root; using the vfs driver, which copies each image per container", [("root", configuration.root)])
        return .vfs
    }

    /// Removes the empty `swiftd-<pid>` cgroups of daemons that died without cleaning up.
    ///
    /// A daemon's containers live in `<daemon's own cgroup>/swiftd-<pid>/<id>` in each
    /// controller; a directory whose pid is gone is stale. `rmdir` refuses cgroups that still
    /// have processes, so a container that outlived its daemon keeps its cgroup.
    private func sweepStaleCgroups() {
        for probe in exec.cgroupPaths(containerID: "probe") {
            let base = FileSystem.parent(of: FileSystem.parent(of: probe))
            guard let names = try? FileSystem.list(base) else { continue }
            for name in names where name.hasPrefix("swiftd-") {
                guard let pid = Int32(name.dropFirst("swiftd-".count)), pid != getpid(),
                    kill(pid, 0) != 0 && errno == ESRCH
                else { continue }
                let stale = "\(base)/\(name)"
                for child in (try? FileSystem.list(stale)) ?? [] where FileSystem.isDirectory("\(stale)/\(child)") {
                    rmdir("\(stale)/\(child)")
                }
                if rmdir(stale) == 0 {
                    log.info("removed a stale cgroup", [("path", stale)])
                } else {
                    log.warning("a stale cgroup is still in use", [("path", stale), ("error", String(cString: strerror(errno)))])
                }
            }
        }
    }

    // MARK: The container store

    /// Returns all containers, oldest first.
    func allContainers() -> [Container] {
        containers.withLock { Array($0.values) }.sorted { $0.record.created < $1.record.created }
    }

    /// Finds a container by full ID, name (with or without the leading slash) or unique ID prefix.
    func container(_ reference: String) throws -> Container {
        let name = reference.hasPrefix("/") ? String(reference.dropFirst()) : reference
        return try containers.withLock { all throws -> Container in
            if let exact = all[reference] { return exact }
            if let named = all.values.first(where: { $0.name == name }) { return named }
            let matches = reference.isEmpty ? [] : all.values.filter { $0.id.hasPrefix(reference) }
            if matches.count > 1 {
                throw SwiftdError(.invalidArgument, "multiple IDs found with provided prefix: \(reference)")
            }
            guard let match = matches.first else {
                throw SwiftdError(.notFound, "No such container: \(reference)")
            }
            return match
        }
    }

    /// Adds a new container, rejecting a name already in use.
    func add(_ container: Container) throws {
        try containers.withLock { all throws in
            let name = container.name
            if let existing = all.values.first(where: { $0.name == name }) {
                throw SwiftdError(.conflict,
                    "Conflict. The container name \"/\(name)\" is already in use by container \"\(existing.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            all[container.id] = container
        }
    }

    /// Renames a container, rejecting a name in use by another container.
    func rename(_ container: Container, to name: String) throws {
        try containers.withLock { all throws in
            if let existing = all.values.first(where: { $0.name == name && $0.id != container.id }) {
                throw SwiftdError(.conflict,
                    "Conflict. The container name \"/\(name)\" is already in use by container \"\(existing.id)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
            try container.update { $0.name = name }
        }
    }

    func forget(_ container: Container) {
        _ = containers.withLock { $0.removeValue(forKey: container.id) }
    }

    func isNameInUse(_ name: String) -> Bool {
        containers.withLock { $0.values.contains { $0.name == name } }
    }

    /// Loads the containers stored under the root, and takes each running one back from its
    /// monitor. Without `--live-restore`, such a container is then killed, as dockerd does, and
    /// its exit is handled as any other. A running container whose monitor is gone is cleaned
    /// up and marked exited, with the status the monitor wrote, else 255.
    private func restoreContainers() throws {
        let directory = "\(configuration.root)/containers"
        var restored: Set<String> = []
        var reattached: [ReattachedContainer] = []
        for id in try FileSystem.list(directory) {
            let path = "\(directory)/\(id)"
            guard let bytes = try? FileSystem.read("\(path)/config.v2.json"),
                let record = try? JSONDecoder().decode(ContainerRecord.self, from: Data(bytes))
            else {
                log.warning("skipping unreadable container", [("id", id)])
                continue
            }
            let container = Container(record: record, directory: path)
            containers.withLock { $0[id] = container }
            guard record.state.Running else { continue }
            do {
                reattached.append(try reattach(container))
                restored.insert(id)
                continue
            } catch {
                log.info("a running container's monitor is gone", [("id", id), ("error", "\(error)")])
                ContainerMonitor.killStray(directory: path)
            }
            let raw = ContainerMonitor.recordedExitStatus(directory: path)
            // Removing the cgroups kills whatever is left of the container.
            try? exec.removeCgroups(containerID: id)
            try? graph.unmountContainer(id: id)
            try container.update { record in
                record.state.Running = false
                record.state.Paused = false
                record.state.Status = "exited"
                record.state.ExitCode = raw.map { ExitStatus(waitStatus: $0).code } ?? 255
                record.state.Pid = 0
                record.state.FinishedAt = timestamp()
                record.endpoint = nil
            }
            log.info("marked a container exited after a daemon restart", [("id", id)])
        }
        reattachedAtStart.withLock { $0 = restored }
        for container in reattached { resume(container) }
        // Cgroups of containers that are not running any more (a daemon killed while one
        // exited, for instance).
        for id in exec.containerCgroups() where !restored.contains(id) {
            try? exec.removeCgroups(containerID: id)
        }
        if !configuration.liveRestore {
            for container in allContainers() where restored.contains(container.id) {
                log.info("stopping a container that outlived the daemon (no --live-restore)", [("id", container.id)])
                try? exec.signal(pid: container.record.state.Pid, SIGKILL)
            }
        }
    }

    /// Takes back a container that its monitor kept running: its output, input, cgroups and
    /// rootfs, and then its exit.
    ///
    /// - Throws: `SystemCallError` if the monitor cannot be reached or kept no output.
    private func reattach(_ container: Container) throws -> ReattachedContainer {
        let (monitor, greeting) = try ContainerMonitor.connect(directory: container.directory)
        do {
            _ = try graph.mountContainer(id: container.id)
            let pump = try attachStdio(container, greeting.stdio, monitor: monitor)
            exec.adopt(pid: greeting.pid, containerID: container.id)
            if container.record.state.Pid != greeting.pid {
                try container.update { $0.state.Pid = greeting.pid }
            }
            return ReattachedContainer(container: container, pid: greeting.pid, pump: pump, monitor: monitor)
        } catch {
            monitor.disconnect()
            throw error
        }
    }

    /// A running container taken back from its monitor, whose network and supervision resume
    /// once every container is loaded (links name other containers).
    private struct ReattachedContainer {
        let container: Container
        let pid: Int32
        let pump: OutputPump
        let monitor: ContainerMonitor
    }

    /// Restores the network of a container taken back, then waits for its exit.
    private func resume(_ reattached: ReattachedContainer) {
        let container = reattached.container
        do {
            try reattachNetwork(container)
        } catch {
            // The container runs on, with as much of its network as could be restored.
            log.error("restoring a running container's network failed", [("id", container.id), ("error", "\(error)")])
        }
        supervise(container, pid: reattached.pid, pump: reattached.pump, monitor: reattached.monitor)
        log.info("took back a running container", [("id", container.id), ("pid", "\(reattached.pid)")])
    }

    /// Stops every running container and releases what the daemon made on the host. With
    /// `--live-restore`, running containers are left to their monitors instead, with their
    /// rootfs, cgroups and network.
    func shutdown() async {
        let running = allContainers().filter(\.isRunning)
        if configuration.liveRestore && !running.isEmpty {
            log.info("leaving containers running (--live-restore)", [("count", "\(running.count)")])
            graph.unmountAll(keeping: Set(running.map(\.id)))
            detachNetworksForLiveRestore()
            // Output already read from a pipe, unfinished lines included, reaches the log before
            // the daemon exits. The rest waits in the pipes for the next daemon.
            for container in running {
                guard let pump = container.pump.withLock({ $0 }) else { continue }
                pump.cancel()
                await pump.waitUntilDrained()
            }
            // TODO: a command started with exec keeps running, but its exit is not recorded.
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for container in allContainers() where container.isRunning {
                group.addTask { [self] in
                    do {
                        try await stop(container, timeout: 5, signal: nil)
                    } catch {
                        log.error("stopping a container at shutdown failed", [("id", container.id), ("error", "\(error)")])
                    }
                }
            }
        }
        graph.unmountAll()
        releaseHostResources()
    }
}
