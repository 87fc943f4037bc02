import Foundation
import Testing

/// `-u`, `--ulimit`, the cgroup resource options, `--init`, `--device` and the namespace
/// modes, through the client and the raw API.
@Suite(
    "container options", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups and mounts"))
struct ContainerOptionsTests {
    /// Runs a client command and returns its trimmed stdout, expecting success.
    func output(_ daemon: DaemonHarness, _ arguments: [String]) throws -> String {
        let result = try daemon.client(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Finds the container's cgroup directory in a v1 controller (or the v2 hierarchy) from
    /// the /proc/PID/cgroup of its init.
    func cgroupDirectory(_ daemon: DaemonHarness, _ container: String, controller: String) throws
        -> String
    {
        let pid = try output(daemon, ["inspect", "--format", "{{.State.Pid}}", container])
        let lines = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
            .split(separator: "\n")
        for line in lines {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[1].isEmpty, FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") {
                return "/sys/fs/cgroup\(fields[2])"
            }
            if fields[1].split(separator: ",").contains(Substring(controller)) {
                return "/sys/fs/cgroup/\(controller)\(fields[2])"
            }
        }
        throw HarnessError("no \(controller) cgroup for \(container) in /proc/\(pid)/cgroup")
    }

    func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("the container and an exec join the container's cgroup in every hierarchy")
    func cgroupMembership() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try output(daemon, ["run", "-d", "busybox", "sleep", "60"])
            // The daemon's hierarchies; on a v1 host the named systemd one and the empty v2
            // one are not the daemon's.
            let controllers = ["memory", "pids", "cpu", "cpuset", "devices", "freezer", "blkio"]
            let unified = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
            func check(_ text: String, _ process: String) {
                let lines = text.split(separator: "\n").map(String.init)
                let ours = lines.filter { line in
                    let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                    guard fields.count == 3 else { return false }
                    return unified ? fields[1].isEmpty
                        : fields[1].split(separator: ",").contains { controllers.contains(String($0)) }
                }
                #expect(!ours.isEmpty, "\(process): \(text)")
                for line in ours { #expect(line.hasSuffix("/\(id)"), "\(process): \(line)") }
            }
            let pid = try output(daemon, ["inspect", "--format", "{{.State.Pid}}", id])
            check(try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8), "init")
            check(try output(daemon, ["exec", id, "cat", "/proc/self/cgroup"]), "exec")
            #expect(try daemon.client(["rm", "-f", id]).status == 0)
        }
    }

    @Test("user names resolved in image")
    func userResolution() throws {
        try DaemonHarness.withDaemon { daemon in
            let setup = try daemon.client([
                "run", "--name", "users-base", "busybox", "sh", "-c",
                "echo 'alice:x:1000:1000:Alice:/home/alice:/bin/sh' >> /etc/passwd;"
                    + " echo 'alice:x:1000:' >> /etc/group; echo 'staff:x:50:bob,alice' >> /etc/group",
            ])
            #expect(setup.status == 0, "\(setup.stderr)")
            _ = try output(daemon, ["commit", "users-base", "users"])

            let alice = try output(daemon, ["run", "--rm", "-u", "alice", "users", "sh", "-c", "id -u; id -g; id -G; echo $HOME"])
            let lines = alice.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(alice)")
            #expect(lines.first == "1000")
            #expect(lines.dropFirst().first == "1000")
            #expect(Set((lines.dropFirst(2).first ?? "").split(separator: " ")) == ["1000", "50"])
            #expect(lines.last == "/home/alice")

            let explicitGroup = try output(daemon, ["run", "--rm", "-u", "alice:staff", "users", "sh", "-c", "id -u; id -g; id -G"])
            #expect(explicitGroup == "1000\n50\n50")
            let byNumber = try output(daemon, ["run", "--rm", "-u", "1000", "users", "sh", "-c", "id -u; id -g"])
            #expect(byNumber == "1000\n1000")
            let unknownNumbers = try output(daemon, ["run", "--rm", "-u", "4242:4343", "users", "sh", "-c", "id -u; id -g"])
            #expect(unknownNumbers == "4242\n4343")
            let nobody = try output(daemon, ["run", "--rm", "-u", "nobody:nogroup", "users", "id", "-u"])
            #expect(nobody == "65534")

            let unknownUser = try daemon.client(["run", "--rm", "-u", "nosuch", "users", "true"])
            #expect(unknownUser.status != 0)
            #expect(unknownUser.stderr.contains("unable to find user nosuch: no matching entries in passwd file"), "\(unknownUser.stderr)")
            let unknownGroup = try daemon.client(["run", "--rm", "-u", "alice:nosuch", "users", "true"])
            #expect(unknownGroup.status != 0)
            #expect(unknownGroup.stderr.contains("unable to find group nosuch"), "\(unknownGroup.stderr)")

            // Through the API, starting a container with an unknown user returns 400.
            _ = try output(daemon, ["create", "--name", "ghost", "-u", "ghost", "users", "true"])
            let start = try RawAPI.request(daemon.socket, "POST", "/v1.45/containers/ghost/start")
            #expect(start.hasPrefix("HTTP/1.1 400"), "\(start)")
            #expect(start.contains("unable to find user ghost"))

            _ = try output(daemon, ["run", "-d", "--name", "users-exec", "users", "sleep", "60"])
            #expect(try output(daemon, ["exec", "-u", "alice", "users-exec", "id", "-G"]).split(separator: " ").count == 2)
            #expect(try output(daemon, ["exec", "-u", "nobody", "users-exec", "id", "-u"]) == "65534")
            let execUnknown = try daemon.client(["exec", "-u", "nosuch", "users-exec", "true"])
            #expect(execUnknown.status != 0)
            #expect(execUnknown.stderr.contains("unable to find user nosuch"), "\(execUnknown.stderr)")
            _ = try daemon.client(["rm", "-f", "users-exec", "users-base", "ghost"])
        }
    }

    @Test("ulimits set and capped")
    func ulimits() throws {
        try DaemonHarness.withDaemon { daemon in
            let limits = try output(daemon, ["run", "--rm", "--ulimit", "nofile=512:1024", "--ulimit", "nproc=77", "busybox", "sh", "-c",
                "ulimit -Sn; ulimit -Hn; ulimit -u"])
            #expect(limits == "512\n1024\n77")

            var own = rlimit()
            #expect(getrlimit(__rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)), &own) == 0)
            if UInt64(own.rlim_max) != UInt64.max {
                let above = try daemon.client(["run", "--rm", "--ulimit", "nofile=1:\(own.rlim_max + 1)", "busybox", "true"])
                #expect(above.status != 0)
                #expect(above.stderr.contains("nofile hard limit"), "\(above.stderr)")
            }
            let unknown = try daemon.client(["create", "--ulimit", "bogus=1", "busybox", "true"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("bogus"), "\(unknown.stderr)")
            let inverted = try daemon.client(["create", "--ulimit", "nofile=100:50", "busybox", "true"])
            #expect(inverted.status != 0)
            #expect(inverted.stderr.contains("soft limit"), "\(inverted.stderr)")
            let malformed = try daemon.client(["create", "--ulimit", "nofile", "busybox", "true"])
            #expect(malformed.status == 125)

            let body = #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Ulimits":[{"Name":"core","Soft":10,"Hard":5}]}}"#
            let raw = try RawAPI.request(daemon.socket, "POST", "/v1.45/containers/create", body: body)
            #expect(raw.hasPrefix("HTTP/1.1 400"), "\(raw)")
            #expect(raw.contains("Ulimits"))
        }
    }

    @Test("resource options reach cgroups")
    func resources() throws {
        try DaemonHarness.withDaemon { daemon in
            _ = try output(daemon, [
                "run", "-d", "--name", "limited", "-m", "64m", "--memory-reservation", "32m",
                "--cpu-quota", "50000", "--cpu-period", "200000", "--cpuset-cpus", "0", "--cpuset-mems", "0",
                "busybox", "sleep", "60",
            ])
            let cpu = try cgroupDirectory(daemon, "limited", controller: "cpu")
            let cpuset = try cgroupDirectory(daemon, "limited", controller: "cpuset")
            let memory = try cgroupDirectory(daemon, "limited", controller: "memory")
            let v2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
            if v2 {
                #expect(try read("\(cpu)/cpu.max") == "50000 200000")
                #expect(try read("\(memory)/memory.low") == "\(32 << 20)")
            } else {
                #expect(try read("\(cpu)/cpu.cfs_quota_us") == "50000")
                #expect(try read("\(cpu)/cpu.cfs_period_us") == "200000")
                #expect(try read("\(memory)/memory.soft_limit_in_bytes") == "\(32 << 20)")
            }
            #expect(try read("\(cpuset)/cpuset.cpus") == "0")
            #expect(try read("\(cpuset)/cpuset.mems") == "0")
            let inspect = try output(daemon, ["inspect", "--format",
                "{{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpusetCpus}} {{.HostConfig.MemoryReservation}}", "limited"])
            #expect(inspect == "50000 200000 0 \(32 << 20)")
            _ = try daemon.client(["rm", "-f", "limited"])

            if !v2 {
                _ = try output(daemon, ["run", "-d", "--name", "no-oom-kill", "-m", "64m", "--oom-kill-disable", "busybox", "sleep", "60"])
                let oomMemory = try cgroupDirectory(daemon, "no-oom-kill", controller: "memory")
                #expect(try read("\(oomMemory)/memory.oom_control").contains("oom_kill_disable 1"))
                _ = try daemon.client(["rm", "-f", "no-oom-kill"])
            }
            let swapFile = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes"
            let swapProbe = try cgroupDirectory(daemon, try output(daemon, ["run", "-d", "--name", "swap-probe", "busybox", "sleep", "60"]), controller: "memory")
            let kernelHasSwap = FileManager.default.fileExists(atPath: "\(swapProbe)/\(swapFile)")
            _ = try daemon.client(["rm", "-f", "swap-probe"])
            if kernelHasSwap {
                _ = try output(daemon, ["run", "-d", "--name", "swapped", "-m", "64m", "--memory-swap", "128m", "busybox", "sleep", "60"])
                let swapMemory = try cgroupDirectory(daemon, "swapped", controller: "memory")
                #expect(try read("\(swapMemory)/\(swapFile)") == (v2 ? "\(64 << 20)" : "\(128 << 20)"))
                _ = try daemon.client(["rm", "-f", "swapped"])
            }

            let invalid: [([String], String)] = [
                (["--memory-swap", "32m"], "Memoryswap"),
                (["-m", "64m", "--memory-swap", "32m"], "memoryswap limit should be larger"),
                (["--memory-reservation", "1k"], "memory reservation"),
                (["-m", "16m", "--memory-reservation", "32m"], "less than memory reservation"),
                (["--cpu-period", "10"], "CPU cfs period"),
                (["--cpu-quota", "10"], "CPU cfs quota"),
                (["--cpus", "1", "--cpu-quota", "50000"], "Nano CPUs and CPU Quota"),
                (["--cpuset-cpus", "0-x"], "Invalid value 0-x for cpuset cpus"),
                (["--cpuset-cpus", "4000"], "Requested CPUs are not available"),
                (["--cpuset-mems", "999"], "Requested memory nodes are not available"),
            ]
            for (flags, message) in invalid {
                let result = try daemon.client(["create"] + flags + ["busybox", "true"])
                #expect(result.status != 0, "\(flags)")
                #expect(result.stderr.contains(message), "\(flags): \(result.stderr)")
            }
            let raw = try RawAPI.request(daemon.socket, "POST", "/v1.45/containers/create",
                body: #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"CpuPeriod":5}}"#)
            #expect(raw.hasPrefix("HTTP/1.1 400"), "\(raw)")
            #expect(raw.contains("CPU cfs period"))
        }
    }

    @Test("init reaps zombies and forwards signals")
    func initProcess() throws {
        try DaemonHarness.withDaemon { daemon in
            // The subshell's sleep is orphaned to PID 1; only a reaper there collects it.
            let orphaning = "(sleep 0.1 &); exec sleep 30"
            _ = try output(daemon, ["run", "-d", "--name", "reaped", "--init", "busybox", "sh", "-c", orphaning])
            _ = try output(daemon, ["run", "-d", "--name", "unreaped", "busybox", "sh", "-c", orphaning])
            Thread.sleep(forTimeInterval: 1)
            let reaped = try output(daemon, ["exec", "reaped", "ps", "-o", "pid,stat,comm"])
            #expect(!reaped.split(separator: "\n").contains { $0.contains(" Z") }, "\(reaped)")
            #expect(try output(daemon, ["exec", "reaped", "cat", "/proc/1/comm"]) == "init")
            let unreaped = try output(daemon, ["exec", "unreaped", "ps", "-o", "pid,stat,comm"])
            #expect(unreaped.split(separator: "\n").contains { $0.contains(" Z") }, "\(unreaped)")
            _ = try daemon.client(["rm", "-f", "reaped", "unreaped"])

            let exited = try daemon.client(["run", "--rm", "--init", "busybox", "sh", "-c", "echo out; exit 3"])
            #expect(exited.status == 3)
            #expect(exited.stdout == "out\n")
            let killed = try daemon.client(["run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"])
            #expect(killed.status == 137)
            let missing = try daemon.client(["run", "--rm", "--init", "busybox", "nosuchcommand"])
            #expect(missing.status == 127, "\(missing.stderr)")

            // SIGTERM reaches the command through the reaper: sleep dies of it at once (143),
            // where as PID 1 it would ignore it until the SIGKILL after the timeout (137).
            _ = try output(daemon, ["run", "-d", "--name", "sleeper", "--init", "busybox", "sleep", "30"])
            let started = Date()
            _ = try output(daemon, ["stop", "-t", "20", "sleeper"])
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(try output(daemon, ["inspect", "--format", "{{.State.ExitCode}}", "sleeper"]) == "143")
            _ = try output(daemon, ["run", "-d", "--name", "trapper", "--init", "busybox", "sh", "-c",
                "trap 'exit 42' TERM; while true; do sleep 0.1; done"])
            Thread.sleep(forTimeInterval: 0.3)
            _ = try output(daemon, ["stop", "-t", "20", "trapper"])
            #expect(try output(daemon, ["inspect", "--format", "{{.State.ExitCode}} {{.HostConfig.Init}}", "trapper"]) == "42 true")
            _ = try daemon.client(["rm", "-f", "sleeper", "trapper"])
        }
    }

    @Test("devices made and cgroup-limited")
    func devices() throws {
        try DaemonHarness.withDaemon { daemon in
            let zero = try output(daemon, ["run", "--rm", "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c",
                "stat -c '%F %t:%T' /dev/myzero; head -c 4 /dev/myzero | od -An -tx1"])
            #expect(zero == "character special file 1:5\n 00 00 00 00", "\(zero)")
            let nested = try output(daemon, ["run", "--rm", "--device", "/dev/null:/dev/extra/null2:rw", "busybox", "stat", "-c", "%t:%T", "/dev/extra/null2"])
            #expect(nested == "1:3")

            let devicesV1 = !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
                && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/devices")
            if devicesV1 {
                // A node of a character major that no driver has: opening it fails with ENXIO
                // once the devices cgroup lets it through, and with EPERM where it does not.
                let registered = try String(contentsOfFile: "/proc/devices", encoding: .utf8)
                    .split(separator: "\n").compactMap { Int($0.split(separator: " ").first ?? "") }
                let major = try #require((230...254).reversed().first { !registered.contains($0) })
                let node = "\(daemon.work)/unclaimed"
                #expect(mknod(node, S_IFCHR | 0o666, dev_t(major) << 8 | 77) == 0)
                let readOnly = try daemon.client(["run", "--rm", "--device", "\(node):/dev/unclaimed:r", "busybox", "sh", "-c",
                    "head -c 1 /dev/unclaimed; echo x > /dev/unclaimed"])
                #expect(readOnly.stderr.contains("No such device or address"), "\(readOnly.stderr)")
                #expect(readOnly.stderr.contains("Operation not permitted"), "\(readOnly.stderr)")
                let denied = try daemon.client(["run", "--rm", "busybox", "sh", "-c",
                    "mknod /tmp/unclaimed c \(major) 77 && echo made; head -c 1 /tmp/unclaimed"])
                #expect(denied.stdout == "made\n", "\(denied.stderr)")
                #expect(denied.stderr.contains("Operation not permitted"), "\(denied.stderr)")
            }

            let missing = try daemon.client(["create", "--device", "/dev/nosuchdevice", "busybox", "true"])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("error gathering device information"), "\(missing.stderr)")
            let notDevice = try daemon.client(["create", "--device", "/etc/hostname", "busybox", "true"])
            #expect(notDevice.status != 0)
            #expect(notDevice.stderr.contains("not a character or block device"), "\(notDevice.stderr)")
            let body = #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Devices":[{"PathOnHost":"/dev/zero","PathInContainer":"/dev/z","CgroupPermissions":"rx"}]}}"#
            let raw = try RawAPI.request(daemon.socket, "POST", "/v1.45/containers/create", body: body)
            #expect(raw.hasPrefix("HTTP/1.1 400"), "\(raw)")
            #expect(raw.contains("Devices"))
        }
    }

    @Test("namespace modes host and container")
    func namespaceModes() throws {
        let kernelHostName = try read("/proc/sys/kernel/hostname")
        defer {
            // The UTS modes must never rename the host.
            #expect((try? read("/proc/sys/kernel/hostname")) == kernelHostName)
        }
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        let hostPID = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        let hostInit = try read("/proc/1/comm")
        try DaemonHarness.withDaemon { daemon in
            let shared = try output(daemon, ["run", "--rm", "--ipc", "host", "--pid", "host", "--uts", "host", "busybox", "sh", "-c",
                "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; cat /proc/1/comm; hostname"])
            #expect(shared == "\(hostIPC)\n\(hostPID)\n\(hostInit)\n\(kernelHostName)")
            var shm = stat()
            #expect(stat("/dev/shm", &shm) == 0)
            #expect(try output(daemon, ["run", "--rm", "--ipc", "host", "busybox", "stat", "-c", "%d", "/dev/shm"]) == "\(shm.st_dev)")
            let ownNamespaces = try output(daemon, ["run", "--rm", "busybox", "sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid"])
            #expect(ownNamespaces != "\(hostIPC)\n\(hostPID)")
            let conflict = try daemon.client(["create", "--uts", "host", "-h", "other", "busybox", "true"])
            #expect(conflict.status != 0)
            #expect(conflict.stderr.contains("conflicting options: hostname and the UTS mode"), "\(conflict.stderr)")

            _ = try output(daemon, ["run", "-d", "--name", "donor", "-h", "donorhost", "busybox", "sleep", "60"])
            let donor = try output(daemon, ["exec", "donor", "sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid"])
            let joined = try output(daemon, ["run", "--rm", "--ipc", "container:donor", "--pid", "container:donor", "--uts", "container:donor",
                "busybox", "sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; hostname; cat /proc/1/comm"])
            #expect(joined == "\(donor)\ndonorhost\nsleep")
            #expect(try output(daemon, ["exec", "donor", "hostname"]) == "donorhost")
            let inspect = try output(daemon, ["inspect", "--format", "{{.HostConfig.PidMode}}", try output(daemon, [
                "create", "--pid", "container:donor", "busybox", "true"])])
            #expect(inspect.hasPrefix("container:"))

            _ = try output(daemon, ["create", "--name", "idle", "busybox", "true"])
            let stopped = try daemon.client(["run", "--rm", "--pid", "container:idle", "busybox", "true"])
            #expect(stopped.status != 0)
            #expect(stopped.stderr.contains("cannot join PID of a non running container"), "\(stopped.stderr)")
            let unknown = try daemon.client(["create", "--ipc", "container:nosuch", "busybox", "true"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("nosuch"), "\(unknown.stderr)")
            let invalid = try RawAPI.request(daemon.socket, "POST", "/v1.45/containers/create",
                body: #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"PidMode":"bogus"}}"#)
            #expect(invalid.hasPrefix("HTTP/1.1 400"), "\(invalid)")
            #expect(invalid.contains("invalid PID mode: bogus"))
            _ = try daemon.client(["rm", "-f", "donor", "idle"])
        }
    }

    @Test("volumes-from shares volumes and binds")
    func volumesFrom() throws {
        try DaemonHarness.withDaemon { daemon in
            let directory = "\(daemon.work)/shared-bind"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try "bound\n".write(toFile: "\(directory)/file", atomically: true, encoding: .utf8)
            _ = try output(daemon, ["run", "--name", "source", "-v", "/data", "-v", "\(directory):/bind:ro", "busybox", "sh", "-c", "echo volume > /data/file"])

            let both = try output(daemon, ["run", "--rm", "--volumes-from", "source", "busybox", "cat", "/data/file", "/bind/file"])
            #expect(both == "volume\nbound")
            let writable = try daemon.client(["run", "--rm", "--volumes-from", "source", "busybox", "sh", "-c",
                "echo more >> /data/file && echo data writable; touch /bind/new || echo bind read-only"])
            #expect(writable.stdout == "data writable\nbind read-only\n", "\(writable.stderr)")
            let readOnly = try daemon.client(["run", "--rm", "--volumes-from", "source:ro", "busybox", "sh", "-c",
                "touch /data/new || echo data read-only"])
            #expect(readOnly.stdout == "data read-only\n", "\(readOnly.stderr)")
            // An own mount at the same destination replaces the inherited one.
            let replaced = try output(daemon, ["run", "--rm", "--volumes-from", "source", "--tmpfs", "/data", "-v", "\(directory):/data2",
                "busybox", "sh", "-c", "ls /data | wc -l; cat /data2/file"])
            #expect(replaced == "1\nbound" || replaced == "0\nbound", "\(replaced)")

            let unknown = try daemon.client(["create", "--volumes-from", "nosuch", "busybox", "true"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("nosuch"), "\(unknown.stderr)")
            let badMode = try daemon.client(["create", "--volumes-from", "source:rx", "busybox", "true"])
            #expect(badMode.status != 0)
            #expect(badMode.stderr.contains("invalid mode: rx"), "\(badMode.stderr)")
            _ = try daemon.client(["rm", "-f", "-v", "source"])
        }
    }
}
