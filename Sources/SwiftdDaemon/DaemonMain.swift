import Dispatch
import Foundation
import Synchronization
import SwiftdAPI
import SwiftdEngine
import SwiftdSystem
import SwiftdSystemd
import SwiftdTLS

#if canImport(Glibc)
    import Glibc
#endif

/// The version reported by `/version` and in the start-up log line.
public enum SwiftdVersion {
    public static let version = "0.1.0"
    /// Set at build time by `make`; "unknown" in a plain `swift build`.
    public static let commit = BuildInfo.commit
}

/// `swiftd -d`: start-up, the signal trap and shutdown.
public enum DaemonMain {
    /// Runs the daemon with `arguments` (the flags after `-d`) and never returns.
    public static func run(_ arguments: [String]) -> Never {
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.parse(arguments)
        } catch let error as UsageError {
            if error.isHelp {
                print(DaemonFlag.usage)
                exit(0)
            }
            writeError("swiftd: \(error.message)\n\n\(DaemonFlag.usage)")
            exit(64)
        } catch {
            writeError("swiftd: \(error)\n")
            exit(1)
        }
        let log = Logger(level: configuration.logLevel)
        guard geteuid() == 0 else {
            log.critical("the daemon must run as root")
            exit(1)
        }
        signal(SIGPIPE, SIG_IGN)

        do {
            try Pidfile.create(configuration.pidfile)
        } catch {
            log.critical("\(error)")
            exit(1)
        }
        // A second daemon on the same root would corrupt it, whatever its pidfile.
        let rootLock: Int32
        do {
            rootLock = try RootLock.acquire(root: configuration.root)
        } catch {
            Pidfile.remove(configuration.pidfile)
            log.critical("\(error)")
            exit(1)
        }
        _ = rootLock
        let startedAt = ContinuousClock.now
        // Every API request is a job, so the trace is at debug level, as dockerd logs requests.
        let engine = Engine(isTracing: { log.level <= .debug }, trace: { line in log.debug(line) })
        let gate = Gate()
        let router = Router(engine: engine, routes: DockerRoutes.all, log: log)
        let server = HTTPServer(
            commonHeaders: Router.commonHeaders(serverVersion: SwiftdVersion.version, cors: configuration.enableCORS),
            log: log, immediate: { request, response in router.respondWithoutJob(request, response: response) }
        ) { request, body, response in
            // Requests that arrive while the daemon loads wait here instead of failing.
            if !request.path.hasSuffix("/_ping") { await gate.wait() }
            await router.handle(request, body: body, response: response)
        }

        let cleanup: @Sendable () -> Void = {
            for path in configuration.socketPaths { try? FileSystem.remove(path) }
            Pidfile.remove(configuration.pidfile)
        }
        Trap.install(log: log, runningJobs: { engine.runningJobs() }) {
            log.info("shutting down")
            _ = try? Systemd.notify("STOPPING=1")
            await engine.shutdown()
            server.stop()
            cleanup()
            log.info("daemon stopped")
        }
        Daemon.applyRegistrySettings(of: configuration, log: nil)
        Trap.onHangup { reload(arguments, running: configuration, log: log) }

        do {
            try registerBuiltins(engine)
            try listen(server, configuration, log)
        } catch {
            log.critical("starting the API failed", [("error", "\(error)")])
            cleanup()
            exit(1)
        }

        Task {
            do {
                let daemon = try Daemon(configuration: configuration, engine: engine, log: log)
                do {
                    try daemon.registerHandlers()
                } catch {
                    daemon.releaseHostResources()
                    throw error
                }
                engine.onShutdown { await daemon.shutdown() }
                gate.open()
                let readyIn = ContinuousClock.now - startedAt
                _ = try? Systemd.notify("READY=1\nMAINPID=\(getpid())\nSTATUS=serving the API")
                log.info("daemon ready", [
                    ("version", SwiftdVersion.version), ("commit", SwiftdVersion.commit),
                    ("execdriver", "native"), ("graphdriver", daemon.graph.driver.rawValue),
                    ("cgroup", "v\(daemon.exec.cgroupVersion)"), ("root", configuration.root),
                    ("took", "\(readyIn)"),
                ])
            } catch {
                log.critical("starting the daemon failed", [("error", "\(error)")])
                server.stop()
                cleanup()
                exit(1)
            }
        }
        dispatchMain()
    }

    /// Opens every `-H` listener: unix sockets, TCP sockets, and sockets passed by systemd for
    /// `fd://`. The `fd://` addresses are checked before any listener opens.
    private static func listen(_ server: HTTPServer, _ configuration: DaemonConfiguration, _ log: Logger) throws {
        let passed = try passedSockets(for: configuration.hosts)
        for host in configuration.hosts {
            if host.hasPrefix("unix://") {
                let path = String(host.dropFirst("unix://".count))
                let group = getgrnam(configuration.group).map { $0.pointee.gr_gid }
                if group == nil && configuration.group != "root" {
                    log.warning("socket group not found; the socket stays owned by root", [("group", configuration.group)])
                }
                try server.listen(unixPath: path, mode: 0o660, group: group)
            } else if host.hasPrefix("tcp://") {
                let useTLS = configuration.tls || configuration.tlsVerify
                let (address, port) = try tcpAddress(host, tls: useTLS)
                var context: TLSServerContext?
                if useTLS, let certificate = configuration.tlsCert, let key = configuration.tlsKey {
                    context = try TLSServerContext(
                        certificate: certificate, key: key,
                        clientCA: configuration.tlsVerify ? configuration.tlsCACert : nil)
                } else {
                    log.warning("the API is served on TCP without TLS: anyone who can reach it has root on this host",
                        [("address", host)])
                }
                try server.listen(tcpHost: address, port: port, tls: context)
            } else if let chosen = passed[host] {
                for socket in chosen {
                    try server.serve(listener: socket.fd, name: "fd://\(socket.fd) (\(socket.name))", shared: true)
                }
            }
        }
    }

    /// Picks the sockets systemd passed for each `fd://` address in `hosts`. `fd://` and
    /// `fd://*` take all of them, and `fd://NAME` the ones named NAME in `LISTEN_FDNAMES`.
    /// When no socket has that name, `fd://N` takes descriptor N, as dockerd reads it.
    ///
    /// - Throws: `ConfigurationError` naming the address when it matches no passed socket, or
    ///   a chosen descriptor is not a listening stream socket.
    static func passedSockets(for hosts: [String]) throws -> [String: [(fd: Int32, name: String)]] {
        let addresses = hosts.filter { $0.hasPrefix("fd://") }
        guard !addresses.isEmpty else { return [:] }
        let passed = try Systemd.listenFileDescriptors()
        var chosen: [String: [(fd: Int32, name: String)]] = [:]
        for host in addresses {
            guard !passed.isEmpty else {
                throw ConfigurationError("invalid -H \(host): systemd passed no sockets (LISTEN_FDS is unset)")
            }
            let name = String(host.dropFirst("fd://".count))
            var matches = passed
            if !name.isEmpty && name != "*" {
                matches = passed.filter { $0.name == name }
                if matches.isEmpty, let fd = Int32(name) { matches = passed.filter { $0.fd == fd } }
            }
            guard !matches.isEmpty else {
                let names = passed.map(\.name).joined(separator: ", ")
                throw ConfigurationError(
                    "invalid -H \(host): systemd passed no socket named \(name) (passed: \(names))")
            }
            for socket in matches where !Systemd.isListeningStreamSocket(socket.fd) {
                throw ConfigurationError("invalid -H \(host): fd \(socket.fd) is not a listening stream socket")
            }
            chosen[host] = matches
        }
        return chosen
    }

    /// Re-reads the flags and the configuration file on SIGHUP and applies the settings that
    /// can change while the daemon runs: the log level, the registry mirrors and the insecure
    /// registries (pulls and pushes that already started keep the old ones). Logs an error
    /// and keeps the running settings when the file is invalid. Logs a warning when other
    /// settings changed, because they need a restart.
    static func reload(_ arguments: [String], running: DaemonConfiguration, log: Logger) {
        let reloaded: DaemonConfiguration
        do {
            reloaded = try DaemonConfiguration.parse(arguments)
        } catch {
            log.error(
                "reloading the configuration failed, so the running settings stay",
                [("file", running.configFile), ("error", "\(error)")])
            return
        }
        Daemon.applyRegistrySettings(of: reloaded, log: log)
        var unchanged = reloaded
        unchanged.logLevel = running.logLevel
        unchanged.debug = running.debug
        unchanged.registryMirrors = running.registryMirrors
        unchanged.insecureRegistries = running.insecureRegistries
        if unchanged != running {
            log.warning(
                "settings other than the log level and registries take effect at the next restart",
                [("file", reloaded.configFile)])
        }
        // Logged at the more verbose of the two levels, so that it shows when either one does.
        log.level = min(log.level, reloaded.logLevel)
        log.info(
            "configuration reloaded",
            [("file", reloaded.configFile), ("log-level", reloaded.logLevel.name)])
        log.level = reloaded.logLevel
    }

    /// The jobs that need no daemon object: ping and version.
    private static func registerBuiltins(_ engine: Engine) throws {
        try engine.register("ping") { job in try await job.stdout.write("OK") }
        try engine.register("version") { job in
            let kernel = kernelRelease()
            #if swift(>=6.3)
                let swiftVersion = "swift6.3"
            #else
                let swiftVersion = "swift6"
            #endif
            let response = VersionResponse(
                version: SwiftdVersion.version, commit: SwiftdVersion.commit, swiftVersion: swiftVersion,
                kernel: kernel, buildTime: BuildInfo.buildTime)
            try await job.stdout.write(Array(try JSONEncoder().encode(response)))
        }
    }

    static func writeError(_ text: String) {
        try? FileSystem.writeAll(2, Array(text.utf8))
    }
}

/// Holds requests back until the daemon has loaded (`acceptconnections`).
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// An exclusive lock on the data root, held for the daemon's lifetime.
enum RootLock {
    /// Locks `<root>/swiftd.lock`; the returned descriptor stays open until the process exits.
    static func acquire(root: String) throws -> Int32 {
        try FileSystem.createDirectory(root, mode: 0o711)
        let path = "\(root)/swiftd.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemCallError(call: "open", subject: path, errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw SwiftdError(.conflict, "another swiftd daemon is already using the data root \(root)")
            }
            throw SystemCallError(call: "flock", subject: path, errno: code)
        }
        return fd
    }
}

/// The daemon's pidfile: refuses to start while the recorded pid is alive.
enum Pidfile {
    static func create(_ path: String) throws {
        if let text = try? FileSystem.readString(path),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            kill(pid, 0) == 0 || errno == EPERM
        {
            throw SwiftdError(.conflict,
                "pid file found, ensure swiftd is not running or delete \(path): process \(pid) is running")
        }
        try FileSystem.createDirectory(FileSystem.parent(of: path), mode: 0o755)
        try FileSystem.writeAtomically(path, Array("\(getpid())\n".utf8), mode: 0o644)
    }

    static func remove(_ path: String) {
        if let text = try? FileSystem.readString(path), Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) == getpid() {
            try? FileSystem.remove(path)
        }
    }
}

/// The signal trap: SIGINT and SIGTERM shut down once and exit 0, a third one exits at once;
/// SIGQUIT exits with 131 and no cleanup.
enum Trap {
    private static let sources = Mutex<[UncheckedSource]>([])

    static func install(
        log: Logger, runningJobs: @escaping @Sendable () -> [String],
        shutdown: @escaping @Sendable () async -> Void
    ) {
        let count = Mutex(0)
        for signalNumber in [SIGINT, SIGTERM, SIGQUIT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if signalNumber == SIGQUIT {
                    if ProcessInfo.processInfo.environment["DEBUG"] != nil {
                        log.critical("running jobs at SIGQUIT", [("jobs", runningJobs().joined(separator: ", "))])
                    }
                    log.critical("received SIGQUIT; exiting without cleanup")
                    exitNow(128 + SIGQUIT)
                }
                let received = count.withLock { value -> Int in
                    value += 1
                    return value
                }
                log.info("received signal", [("signal", signalNumber == SIGINT ? "SIGINT" : "SIGTERM"), ("count", "\(received)")])
                if received >= 3 {
                    log.critical("received a third signal; exiting without waiting for cleanup")
                    exitNow(128 + signalNumber)
                }
                if received == 1 {
                    Task {
                        await shutdown()
                        exit(0)
                    }
                }
            }
            source.resume()
            sources.withLock { $0.append(UncheckedSource(source: source)) }
        }
    }
}

extension Trap {
    /// Ends the process with `status` at once, as `_exit(2)` does: no atexit handlers or C++
    /// and OpenSSL destructors, which can wait for threads that the hurried exit abandons.
    /// The logger writes each line straight to fd 2, so nothing buffered is lost.
    static func exitNow(_ status: Int32) -> Never {
        _exit(status)
    }

    /// Calls `reload` on every SIGHUP, one at a time, on a Dispatch queue.
    static func onHangup(_ reload: @escaping @Sendable () -> Void) {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(
            signal: SIGHUP, queue: DispatchQueue(label: "swiftd.reload"))
        source.setEventHandler(handler: reload)
        source.resume()
        hangupSource.withLock { $0 = UncheckedSource(source: source) }
    }

    /// Keeps the SIGHUP source alive for the daemon's lifetime.
    private static let hangupSource = Mutex<UncheckedSource?>(nil)
}

extension Daemon {
    /// Registers every handler of the daemon object.
    func registerHandlers() throws {
        try registerContainerHandlers()
        try registerImageHandlers()
        try registerEventHandlers()
        try registerExecHandlers()
        try registerArchiveHandlers()
        try registerCopyHandlers()
        try registerSystemHandlers()
        try registerRegistryHandlers()
        try engine.register("info") { [self] job in
            let all = allContainers()
            var info = InfoResponse(
                ID: engineID, Driver: graph.driver.rawValue, DockerRootDir: configuration.root,
                ServerVersion: SwiftdVersion.version)
            let registry = Self.registrySettings.values
            let cidrs = registry.insecureRegistries.filter { $0.contains("/") }
            info.RegistryConfig.InsecureRegistryCIDRs = ["127.0.0.0/8"] + cidrs
            info.RegistryConfig.Mirrors = registry.mirrors
            info.RegistryConfig.IndexConfigs["docker.io"]?.Mirrors = registry.mirrors
            for host in registry.insecureRegistries where !host.contains("/") {
                info.RegistryConfig.IndexConfigs[host] = InfoResponse.IndexInfo(
                    Name: host, Mirrors: [], Secure: false, Official: false)
            }
            info.LiveRestoreEnabled = configuration.liveRestore
            info.Containers = all.count
            info.ContainersRunning = all.filter(\.isRunning).count
            info.ContainersStopped = all.count - info.ContainersRunning
            info.Images = graph.images().count
            info.CgroupVersion = "\(exec.cgroupVersion)"
            info.NCPU = ProcessInfo.processInfo.activeProcessorCount
            info.MemTotal = Int64(ProcessInfo.processInfo.physicalMemory)
            info.Name = ProcessInfo.processInfo.hostName
            info.KernelVersion = kernelRelease()
            info.OperatingSystem = (try? FileSystem.readString("/etc/os-release"))?
                .split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
                .map { String($0.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "Linux"
            info.SystemTime = timestamp()
            info.Debug = log.level <= .debug
            info.IPv4Forwarding = configuration.ipForward
            info.LoggingDriver = configuration.logDriver
            info.NEventsListener = events.subscriberCount
            try await job.stdout.write(Array(try JSONEncoder().encode(info)))
        }
    }
}

extension Daemon {
    /// The engine's ID in `/info`: a UUID made at the first start and kept in the root, as
    /// dockerd keeps its `engine-id`.
    var engineID: String { Self.engineID(root: configuration.root) }

    /// Reads the engine ID stored in `root`, making and storing one at the first call.
    static func engineID(root: String) -> String {
        let path = "\(root)/engine-id"
        if let stored = try? FileSystem.readString(path), !stored.isEmpty {
            return stored.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let id = UUID().uuidString.lowercased()
        try? FileSystem.writeAtomically(path, Array((id + "\n").utf8))
        return id
    }
}

/// Returns the running kernel's release, as `uname -r` prints it.
func kernelRelease() -> String {
    var uts = utsname()
    uname(&uts)
    return withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
