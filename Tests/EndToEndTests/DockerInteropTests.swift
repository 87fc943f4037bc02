import Foundation
import Testing

/// Archives moved between swiftd and Debian's dockerd (docker.io 20.10) with `save` and `load`.
@Suite(
    "docker interop", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemons"),
    .enabled(
        if: DockerdHarness.isInstalled,
        "needs Debian's docker.io (/usr/sbin/dockerd, /usr/bin/docker): scripts/bench-deps.sh"))
struct DockerInteropTests {
    @Test("docker save loads into swiftd")
    func dockerSaveLoadsIntoSwiftd() throws {
        try DockerdHarness.withDockerd { docker in
            let daemon = try DaemonHarness()
            defer { daemon.cleanUp() }
            try daemon.start()
            let busybox = "\(docker.work)/busybox.tar"
            let built = try DaemonHarness.capture("\(DaemonHarness.repository)/scripts/busybox-image.sh", [busybox])
            try #require(built.status == 0, "\(built.stderr)")

            let imported = try docker.run(["import", busybox])
            try #require(imported.status == 0, "\(imported.stderr)")
            let id = imported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.hasPrefix("sha256:"), "\(imported.stdout)")
            let name = "127.0.0.1:5000/interop/from-docker:v1"
            let tagged = try docker.run(["tag", id, name])
            #expect(tagged.status == 0, "\(tagged.stderr)")
            try move(
                name, id: id, through: "\(docker.work)/docker-saved.tar",
                save: { try docker.run($0) }, load: { try daemon.client($0) })
            let tags = try daemon.client(["inspect", "--format", "{{json .RepoTags}}", id])
            #expect(tags.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\"\(name)\"]", "\(tags.stderr)")
            let echoed = try daemon.client(["run", "--rm", "--network", "none", name, "echo", "hello from docker"])
            #expect(echoed.status == 0, "\(echoed.stderr)")
            #expect(echoed.stdout == "hello from docker\n", "\(echoed.stderr)")
            #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
        }
    }

    @Test("swiftd save loads into docker")
    func swiftdSaveLoadsIntoDocker() throws {
        try DockerdHarness.withDockerd { docker in
            try DaemonHarness.withDaemon { daemon in
                let name = "127.0.0.1:5000/interop/from-swiftd:v1"
                #expect(try daemon.client(["tag", "busybox", name]).status == 0)
                let inspected = try daemon.client(["inspect", "--format", "{{.Id}}", name])
                let id = inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(id.hasPrefix("sha256:"), "\(inspected.stderr)")
                try move(
                    name, id: id, through: "\(daemon.work)/swiftd-saved.tar",
                    save: { try daemon.client($0) }, load: { try docker.run($0) })
                // `--pull never`: a failed load must not send dockerd to a registry.
                let ran = try docker.run(["run", "--rm", "--network", "none", "--pull", "never", name, "echo", "ok"])
                #expect(ran.status == 0, "\(ran.stderr)\ndockerd log:\n\(docker.log)")
                #expect(ran.stdout == "ok\n", "\(ran.stderr)")
            }
        }
    }

    /// Saves `name` with the `save` CLI into `archive`, loads that with the `load` CLI, and
    /// checks that the loading side reports the tag and stores the image as `id`.
    private func move(
        _ name: String, id: String, through archive: String,
        save: ([String]) throws -> CommandResult, load: ([String]) throws -> CommandResult
    ) throws {
        let saved = try save(["save", "-o", archive, name])
        try #require(saved.status == 0, "\(saved.stderr)")
        let loaded = try load(["load", "-i", archive])
        #expect(loaded.status == 0, "\(loaded.stderr)")
        #expect(loaded.stdout.contains("Loaded image: \(name)"), "\(loaded.stdout)")
        let inspected = try load(["inspect", "--format", "{{.Id}}", name])
        #expect(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id, "\(inspected.stderr)")
    }
}

/// Debian's dockerd on a private root, exec root, socket, pidfile and cgroup parent, with no
/// bridge and no iptables rules, started and removed by one test.
///
/// dockerd starts its own containerd (socket under the exec root), and containerd starts a
/// shim per container that re-parents itself away from both. Clean-up ends all of them by pid:
/// the processes whose command line names this harness's directory and those in its cgroup.
final class DockerdHarness: @unchecked Sendable {
    // Safe because: a harness belongs to one test, which uses it from one task at a time.

    static let dockerd = "/usr/sbin/dockerd"
    static let cli = "/usr/bin/docker"
    /// The API version of dockerd 20.10, pinned so that a newer docker CLI at `cli` speaks it.
    static let apiVersion = "1.41"
    /// The paths that dockerd 20.10 creates outside its roots whatever its flags: its trust key,
    /// the plugin directory and containerd's shim socket directory. Each file comes before the
    /// directory that contains it.
    static let hostPaths = [
        "/etc/docker/key.json", "/etc/docker", "/run/docker/plugins", "/run/docker",
        "/run/containerd/s", "/run/containerd",
    ]

    static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: dockerd)
            && FileManager.default.isExecutableFile(atPath: cli)
    }

    let work: String
    let socket: String
    /// The cgroup, under each hierarchy's root, that contains every container.
    let cgroupParent: String
    private var process: Process?
    /// The entries of `hostPaths` that did not exist before the start.
    private var createdPaths: [String] = []

    init() throws {
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        work = "/tmp/swiftd-dockerd-\(token)"
        socket = "\(work)/docker.sock"
        cgroupParent = "swiftd-dockerd-\(token)"
        try FileManager.default.createDirectory(atPath: "\(work)/cli", withIntermediateDirectories: true)
        try Data("{}\n".utf8).write(to: URL(fileURLWithPath: "\(work)/daemon.json"))
    }

    var log: String {
        let text = (try? String(contentsOfFile: "\(work)/dockerd.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(30).joined(separator: "\n")
    }

    /// Starts dockerd and waits until the docker CLI reaches it.
    func start() throws {
        createdPaths = Self.hostPaths.filter { !FileManager.default.fileExists(atPath: $0) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.dockerd)
        process.arguments = [
            "-H", "unix://\(socket)", "--data-root", "\(work)/root", "--exec-root", "\(work)/run",
            "--pidfile", "\(work)/docker.pid", "--config-file", "\(work)/daemon.json",
            "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
            "--cgroup-parent", "/\(cgroupParent)",
        ]
        process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        _ = FileManager.default.createFile(atPath: "\(work)/dockerd.log", contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(work)/dockerd.log"))
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard process.isRunning else {
                throw HarnessError("dockerd exited with \(process.terminationStatus) at start-up:\n\(log)")
            }
            if try run(["version"]).status == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw HarnessError("dockerd did not answer within 60 s:\n\(log)")
    }

    /// Runs the docker CLI against this dockerd only, with an empty environment and its own
    /// configuration directory, so that no context, credential helper or proxy applies.
    func run(_ arguments: [String]) throws -> CommandResult {
        try DaemonHarness.capture(
            "/usr/bin/env",
            [
                "-i", "DOCKER_API_VERSION=\(Self.apiVersion)", "DOCKER_CONFIG=\(work)/cli",
                Self.cli, "-H", "unix://\(socket)",
            ] + arguments)
    }

    /// Stops dockerd, ends what it left running, and removes its mounts, cgroups, directory
    /// and the host paths it created.
    func cleanUp() {
        if let process, process.isRunning {
            let containers = (try? run(["ps", "-aq"]).stdout) ?? ""
            for container in containers.split(separator: "\n") {
                _ = try? run(["rm", "-f", String(container)])
            }
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        for pid in leftoverProcesses() { kill(pid, SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while !leftoverProcesses().isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }

        // Unmount the deepest first. findmnt writes a space in a mount point as \x20.
        let targets = (try? DaemonHarness.capture("/usr/bin/findmnt", ["-rn", "-o", "TARGET"]).stdout) ?? ""
        let mounts = targets.split(separator: "\n").map { $0.replacingOccurrences(of: "\\x20", with: " ") }
            .filter { $0.hasPrefix(work + "/") }
        for point in mounts.sorted(by: { $0.count > $1.count }) {
            _ = try? DaemonHarness.capture("/usr/bin/umount", ["-l", point])
        }
        for directory in cgroupDirectories().sorted(by: { $0.count > $1.count }) {
            rmdir(directory)
        }
        try? FileManager.default.removeItem(atPath: work)
        for path in createdPaths {
            if unlink(path) != 0 { rmdir(path) }
        }
    }

    /// Processes that this dockerd started: those whose command line names `work` (containerd
    /// and its shims) and those in a cgroup under `cgroupParent` (containers).
    func leftoverProcesses() -> [pid_t] {
        var pids = Set<pid_t>()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), pid != getpid(),
                let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            if String(decoding: command, as: UTF8.self).contains(work + "/") { pids.insert(pid) }
        }
        for directory in cgroupDirectories() {
            let procs = (try? String(contentsOfFile: "\(directory)/cgroup.procs", encoding: .utf8)) ?? ""
            for line in procs.split(separator: "\n") { if let pid = pid_t(line) { pids.insert(pid) } }
        }
        return pids.sorted()
    }

    /// `cgroupParent` and every cgroup below it, in each mounted hierarchy.
    func cgroupDirectories() -> [String] {
        var roots = ["/sys/fs/cgroup/\(cgroupParent)"]
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        roots += hierarchies.map { "/sys/fs/cgroup/\($0)/\(cgroupParent)" }
        var found: [String] = []
        for root in roots where FileManager.default.fileExists(atPath: root) {
            found.append(root)
            let below = FileManager.default.enumerator(atPath: root)
            while let relative = below?.nextObject() as? String {
                let path = "\(root)/\(relative)"
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    found.append(path)
                }
            }
        }
        return found
    }

    /// Runs `body` against a started dockerd, then removes everything it made, also on failure.
    static func withDockerd(_ body: (DockerdHarness) throws -> Void) throws {
        let harness = try DockerdHarness()
        defer {
            harness.cleanUp()
            #expect(harness.leftoverProcesses().isEmpty, "processes dockerd left running")
            #expect(!FileManager.default.fileExists(atPath: harness.work))
            #expect(harness.cgroupDirectories().isEmpty)
        }
        try harness.start()
        try body(harness)
    }
}
