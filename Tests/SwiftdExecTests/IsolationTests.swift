import Foundation
import SwiftdCapabilities
import SwiftdExec
import SwiftdSeccomp
import SwiftdSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a shell script in a container made from `configure`, and checks it exits 0.
private func script(
    _ driver: ExecDriver, _ rootfs: TestRootfs, _ text: String,
    configure: (inout ContainerSpec) -> Void = { _ in }
) async throws -> String {
    var spec = makeSpec(rootfs, ["sh", "-c", text])
    configure(&spec)
    let result = try await run(driver, spec)
    #expect(result.status.code == 0, "stderr: \(result.stderr)")
    return result.stdout
}

@Suite("Isolation", .serialized, .enabled(if: isRoot, "needs root for namespaces and cgroups"))
struct IsolationTests {
    @Test("masks Docker's paths, makes /proc/sys read-only, and sizes /dev/shm")
    func maskedAndReadonlyPaths() async throws {
        try await withDriver { driver, rootfs in
            let text = """
                cat /proc/keys | wc -c
                ls /proc/acpi | wc -l
                grep -c -E ' /proc/(keys|timer_list|acpi) ' /proc/mounts
                echo inside > /proc/sys/kernel/hostname 2>/dev/null || echo sys-ro
                touch /sys/x 2>/dev/null || echo sysfs-ro
                grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'
                """
            let out = try await script(driver, rootfs, text) { $0.shmSize = 1 << 20 }
            #expect(out == "0\n0\n3\nsys-ro\nsysfs-ro\nsize=1024k\n")
            let defaultShm = try await script(
                driver, rootfs, "grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'")
            #expect(defaultShm == "size=65536k\n")
        }
    }

    @Test("privileged: nothing masked, /proc/sys and /sys writable, all capabilities")
    func privileged() async throws {
        try await withDriver { driver, rootfs in
            let text = """
                grep -c ' /proc/keys ' /proc/mounts
                echo inside > /proc/sys/kernel/hostname && hostname
                grep CapEff /proc/self/status
                grep Seccomp: /proc/self/status
                """
            let spec = { (spec: inout ContainerSpec) in
                spec.privileged = true
                spec.capabilities = CapabilitySet.all.mask
                spec.seccomp = .unconfined
            }
            let out = try await script(driver, rootfs, text, configure: spec)
            let status = try FileSystem.readString("/proc/self/status")
            let bounding = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
            let mask = UInt64(bounding?.split(separator: "\t").last ?? "", radix: 16) ?? 0
            let expected = CapabilitySet(mask: CapabilitySet.all.mask & mask)
            #expect(out == "0\ninside\nCapEff:\t\(expected)\nSeccomp:\t0\n")
        }
    }

    @Test("a read-only rootfs with a writable tmpfs, and no_new_privs")
    func readonlyRootfsAndNoNewPrivileges() async throws {
        try await withDriver { driver, rootfs in
            let text = """
                touch /x 2>/dev/null || echo root-ro
                echo hi > /scratch/file && cat /scratch/file
                grep ' /scratch ' /proc/mounts | grep -o 'size=[0-9]*k,mode=700'
                grep NoNewPrivs /proc/self/status
                """
            let out = try await script(driver, rootfs, text) { spec in
                spec.readonlyRootfs = true
                spec.noNewPrivileges = true
                spec.mounts = [
                    Mount(
                        source: "tmpfs", destination: "/scratch", kind: .tmpfs,
                        options: ["size=2m", "mode=700"])
                ]
            }
            #expect(out == "root-ro\nhi\nsize=2048k,mode=700\nNoNewPrivs:\t1\n")
            #expect(!FileSystem.exists("\(rootfs.path)/x"))
        }
    }

    @Test("bind mounts a directory read-only and a file, creating mount points")
    func bindMounts() async throws {
        try await withDriver { driver, rootfs in
            let host = "/tmp/\(uniqueName("swiftd-bind"))"
            try FileSystem.createDirectory(host, mode: 0o755)
            defer { try? FileSystem.removeTree(host) }
            try FileSystem.write("\(host)/greeting", "hello from the host\n")
            let text = """
                cat /data/ro/greeting
                touch /data/ro/new 2>/dev/null || echo bind-ro
                cat /etc/greeting.txt
                """
            let out = try await script(driver, rootfs, text) { spec in
                spec.mounts = [
                    Mount(source: host, destination: "/data/ro", kind: .bind, options: ["ro"]),
                    Mount(
                        source: "\(host)/greeting", destination: "/etc/greeting.txt",
                        kind: .bind),
                ]
            }
            #expect(out == "hello from the host\nbind-ro\nhello from the host\n")
            #expect(!FileSystem.exists("\(host)/new"))
        }
    }

    @Test("a symlink in the image cannot point a mount outside the rootfs")
    func mountSymlinkEscape() async throws {
        try await withDriver { driver, rootfs in
            let outside = "/tmp/\(uniqueName("swiftd-outside"))"
            try FileSystem.createDirectory(outside, mode: 0o755)
            defer { try? FileSystem.removeTree(outside) }
            // Absolute and relative links that lead out of the rootfs on the host.
            #expect(symlink(outside, "\(rootfs.path)/abs") == 0)
            #expect(symlink("../../../../../../..\(outside)", "\(rootfs.path)/rel") == 0)
            let text = "echo x > /abs/sub/file; echo y > /rel/sub2/file; cat /abs/sub/file"
            let out = try await script(driver, rootfs, text) { spec in
                spec.mounts = [
                    Mount(source: "tmpfs", destination: "/abs/sub", kind: .tmpfs),
                    Mount(source: "tmpfs", destination: "/rel/sub2", kind: .tmpfs),
                ]
            }
            #expect(out == "x\n")
            #expect(try FileSystem.list(outside).isEmpty)
            #expect(FileSystem.isDirectory("\(rootfs.path)\(outside)/sub"))
            #expect(FileSystem.isDirectory("\(rootfs.path)\(outside)/sub2"))
        }
    }

    @Test("Docker's seccomp profile is active and blocks unshare; unconfined has none")
    func seccompDefault() async throws {
        try await withDriver { driver, rootfs in
            let text = """
                grep Seccomp: /proc/self/status
                unshare -n true 2>&1 | grep -o 'Operation not permitted'
                mkdir /tmp/ok && echo mkdir-ok
                """
            let out = try await script(driver, rootfs, text)
            #expect(out == "Seccomp:\t2\nOperation not permitted\nmkdir-ok\n")
            let none = try await script(driver, rootfs, "grep Seccomp: /proc/self/status") {
                $0.seccomp = .unconfined
            }
            #expect(none == "Seccomp:\t0\n")
            // With CAP_SYS_ADMIN the profile allows unshare (the conditional part).
            let admin = try await script(driver, rootfs, "unshare -u true && echo unshare-ok") {
                $0.capabilities |= UInt64(1) << 21
            }
            #expect(admin == "unshare-ok\n")
        }
    }

    @Test("a custom profile in Docker's JSON format blocks mkdir")
    func seccompCustomProfile() async throws {
        let json = """
            {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                          {"name": "rmdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
            """
        let profile = try SeccompProfile(json: Array(json.utf8))
        #expect(profile.rules.count == 2)
        try await withDriver { driver, rootfs in
            let text = """
                mkdir /tmp/d 2>&1 | grep -o 'Operation not permitted'
                rmdir /tmp 2>&1 | grep -o 'Permission denied'
                touch /tmp/f && echo touch-ok
                """
            let out = try await script(driver, rootfs, text) { $0.seccomp = .profile(profile) }
            #expect(out == "Operation not permitted\nPermission denied\ntouch-ok\n")
        }
        #expect(throws: SeccompError.self) {
            try SeccompProfile(json: Array(#"{"defaultAction": "SCMP_ACT_NOPE"}"#.utf8))
        }
    }

    @Test("compiles Docker's profile to a filter of plausible size")
    func seccompCompile() throws {
        let plain = try SeccompProfile.dockerDefault.compile(
            capabilities: Set(CapabilitySet.dockerDefault.names))
        let admin = try SeccompProfile.dockerDefault.compile(
            capabilities: Set(CapabilitySet.all.names))
        print("seccomp default filter: \(plain.instructionCount) instructions")
        #expect(plain.instructionCount > 300 && plain.instructionCount <= 4096)
        #expect(admin.bytes != plain.bytes)
    }

    @Test("writes CPU and pids limits; the pids limit stops fork")
    func cpuAndPidsLimits() async throws {
        try await withDriver { driver, rootfs in
            var spec = makeSpec(
                rootfs,
                ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>&1; echo done"])
            spec.resources.cpuShares = 512
            spec.resources.cpus = 0.5
            spec.resources.pidsLimit = 4
            spec.resources.memoryReservation = 64 << 20
            var files: [String: String] = [:]
            let result = try await run(driver, spec) { _ in
                for path in driver.cgroupPaths(containerID: spec.id) {
                    for name in [
                        "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "pids.max",
                        "memory.soft_limit_in_bytes", "cpu.max", "cpu.weight",
                    ] where FileSystem.exists("\(path)/\(name)") {
                        files[name] = try FileSystem.readString("\(path)/\(name)")
                            .trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
            #expect(result.stdout.contains("Resource temporarily unavailable"))
            if driver.cgroupVersion == 1 {
                #expect(files["cpu.shares"] == "512")
                #expect(files["cpu.cfs_quota_us"] == "50000")
                #expect(files["cpu.cfs_period_us"] == "100000")
                #expect(files["memory.soft_limit_in_bytes"] == "\(64 << 20)")
            } else {
                #expect(files["cpu.max"] == "50000 100000")
            }
            #expect(files["pids.max"] == "4")
        }
    }

    @Test("pause freezes a busy loop, resume thaws it; stats are non-zero")
    func pauseResumeAndStats() async throws {
        try await withDriver { driver, rootfs in
            var spec = makeSpec(rootfs, ["sh", "-c", "while true; do :; done"])
            spec.memoryLimit = 64 << 20
            let pid = try driver.start(
                spec, stdio: ContainerStdio(stdout: 2, stderr: 2), prepare: { _ in })
            defer {
                kill(pid, SIGKILL)
                _ = ChildReaper.shared.exitStatusBlocking(of: pid)
                try? driver.removeCgroups(containerID: spec.id)
            }
            usleep(100_000)
            let running = try driver.stats(containerID: spec.id)
            #expect(running.memoryUsage > 0)
            #expect(running.memoryLimit == 64 << 20)
            #expect(running.cpuUsageNanoseconds > 0)
            #expect(running.pids == 1)

            let start = ContinuousClock.now
            try driver.pause(containerID: spec.id)
            let pauseTime = ContinuousClock.now - start
            let frozen = try driver.stats(containerID: spec.id).cpuUsageNanoseconds
            usleep(200_000)
            let later = try driver.stats(containerID: spec.id).cpuUsageNanoseconds
            #expect(later == frozen)
            try driver.resume(containerID: spec.id)
            usleep(200_000)
            let resumed = try driver.stats(containerID: spec.id).cpuUsageNanoseconds
            #expect(resumed > later + 50_000_000)
            print("pause took \(pauseTime)")
        }
    }

    @Test("a tty container sees /dev/pts/0 and the size set by resize")
    func terminal() async throws {
        try await withDriver { driver, rootfs in
            var spec = makeSpec(rootfs, ["sh", "-c", "tty; read line; stty size"])
            spec.tty = true
            let process = try driver.startWithTerminal(spec) { _ in }
            defer { try? driver.removeCgroups(containerID: spec.id) }
            try ExecDriver.resize(terminal: process.master, rows: 33, columns: 101)
            try FileSystem.writeAll(process.master, Array("go\n".utf8))
            // The master reads EIO once the slave's last holder exits.
            let output = readAll(process.master)
            let status = await driver.wait(pid: process.pid)
            #expect(status.code == 0)
            #expect(output.contains("/dev/pts/0\r\n"))
            #expect(output.contains("33 101\r\n"))
            #expect(throws: ExecError.self) {
                try driver.start(spec, stdio: ContainerStdio(stdout: 2, stderr: 2)) { _ in }
            }
        }
    }

    @Test("sets ulimits and refuses one above the daemon's hard limit")
    func ulimits() async throws {
        try await withDriver { driver, rootfs in
            let out = try await script(driver, rootfs, "ulimit -n; ulimit -Hn") {
                $0.ulimits = [Ulimit(name: "nofile", soft: 100, hard: 200)]
            }
            #expect(out == "100\n200\n")
            var current = rlimit()
            getrlimit(__rlimit_resource_t(7), &current)
            var spec = makeSpec(rootfs, ["true"])
            spec.ulimits = [Ulimit(name: "nofile", soft: 1, hard: UInt64(current.rlim_max) + 1)]
            await #expect(throws: ExecError.self) { _ = try await run(driver, spec) }
            #expect(!FileSystem.exists(driver.cgroupPaths(containerID: spec.id)[0]))
        }
    }

    @Test("exec runs commands in a running container's namespaces and cgroups")
    func exec() async throws {
        try await withDriver { driver, rootfs in
            let spec = makeSpec(rootfs, ["sleep", "30"])
            let pid = try driver.start(
                spec, stdio: ContainerStdio(stdout: 2, stderr: 2), prepare: { _ in })
            defer {
                kill(pid, SIGKILL)
                _ = ChildReaper.shared.exitStatusBlocking(of: pid)
                try? driver.removeCgroups(containerID: spec.id)
            }
            let text = """
                hostname; cat /proc/1/cmdline; echo; echo $$; grep Seccomp: /proc/self/status
                cat /proc/self/cgroup | grep -c \(spec.id)
                """
            let out = try ExecDriver.makePipe()
            var started = ContinuousClock.now
            let command = try driver.exec(
                containerPid: pid, spec: ProcessSpec(arguments: ["sh", "-c", text]),
                stdio: ContainerStdio(stdout: out.write, stderr: 2))
            let latency = ContinuousClock.now - started
            close(out.write)
            let output = readAll(out.read)
            let status = await driver.wait(pid: command)
            #expect(status.code == 0)
            let lines = output.split(separator: "\n")
            #expect(lines.count == 5)
            #expect(lines.first == "testhost")
            #expect(lines.dropFirst().first?.hasPrefix("sleep") == true)
            #expect(lines.dropFirst(2).first != "1")
            #expect(lines.dropFirst(3).first == "Seccomp:\t2")
            #expect((Int(lines.last ?? "") ?? 0) > 0)
            print("exec start latency: \(latency)")

            started = ContinuousClock.now
            #expect(throws: ExecError.executableNotFound("nope")) {
                try driver.exec(
                    containerPid: pid, spec: ProcessSpec(arguments: ["nope"]),
                    stdio: ContainerStdio(stdout: 2, stderr: 2))
            }
            #expect(throws: ExecError.self) {
                try driver.exec(
                    containerPid: 1, spec: ProcessSpec(arguments: ["true"]),
                    stdio: ContainerStdio(stdout: 2, stderr: 2))
            }
        }
    }
}
