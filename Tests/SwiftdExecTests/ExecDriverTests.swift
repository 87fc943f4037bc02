import Foundation
import Synchronization
import SwiftdExec
import SwiftdSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// Serialized: the fd-leak test counts this process's descriptors.
@Suite("ExecDriver", .serialized, .enabled(if: isRoot, "needs root for namespaces and cgroups"))
struct ExecDriverTests {
    @Test("detects cgroup v1 on this hybrid host")
    func detectsCgroupVersion() throws {
        let driver = try ExecDriver(cgroupParent: uniqueName("swiftd-test"))
        defer { try? driver.removeParentCgroups() }
        let expected = FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1
        #expect(driver.cgroupVersion == expected)
    }

    @Test("passes output through pipes and reports exit codes 0, 1 and 3")
    func outputAndExitCodes() async throws {
        try await withDriver { driver, rootfs in
            let hello = try await run(
                driver, makeSpec(rootfs, ["sh", "-c", "echo hello; echo oops >&2"]))
            #expect(hello.stdout == "hello\n")
            #expect(hello.stderr == "oops\n")
            #expect(hello.status == ExitStatus(code: 0))

            let failing = try await run(driver, makeSpec(rootfs, ["false"]))
            #expect(failing.status == ExitStatus(code: 1))
            let three = try await run(driver, makeSpec(rootfs, ["sh", "-c", "exit 3"]))
            #expect(three.status == ExitStatus(code: 3))
        }
    }

    @Test("reads stdin from the given descriptor")
    func stdin() async throws {
        try await withDriver { driver, rootfs in
            let input = try ExecDriver.makePipe()
            try FileSystem.writeAll(input.write, Array("from the host\n".utf8))
            close(input.write)
            defer { close(input.read) }
            let result = try await run(driver, makeSpec(rootfs, ["cat"]), stdin: input.read)
            #expect(result.stdout == "from the host\n")
        }
    }

    @Test("sets the environment, default PATH, hostname, and runs as PID 1")
    func environmentHostnameAndPid() async throws {
        try await withDriver { driver, rootfs in
            let script = "echo $FOO; echo $PATH; hostname; echo $$"
            let result = try await run(
                driver, makeSpec(rootfs, ["sh", "-c", script], environment: ["FOO=bar baz"]))
            #expect(
                result.stdout
                    == "bar baz\n\(ContainerSpec.defaultPath)\ntesthost\n1\n")
        }
    }

    @Test("mounts /proc, /dev with its devices, and /sys read-only")
    func filesystems() async throws {
        try await withDriver { driver, rootfs in
            let script = """
                cat /proc/1/cmdline | head -c 2; echo
                echo x > /dev/null && echo null-ok
                head -c 4 /dev/zero | wc -c
                ls /dev | grep -c -E '^(null|zero|full|random|urandom|tty|pts|ptmx|shm|mqueue)$'
                readlink /dev/ptmx; readlink /dev/fd; readlink /dev/stdin
                test -c /dev/pts/ptmx && echo pts-ok
                touch /sys/x 2>/dev/null || echo sys-ro
                test -d /sys/kernel && echo sys-ok
                """
            let result = try await run(driver, makeSpec(rootfs, ["sh", "-c", script]))
            #expect(
                result.stdout == """
                    sh
                    null-ok
                    4
                    10
                    pts/ptmx
                    /proc/self/fd
                    /proc/self/fd/0
                    pts-ok
                    sys-ro
                    sys-ok

                    """)
            #expect(result.status.code == 0, "stderr: \(result.stderr)")
        }
    }

    @Test("grants Docker's default capabilities")
    func capabilities() async throws {
        try await withDriver { driver, rootfs in
            let result = try await run(
                driver,
                makeSpec(rootfs, ["grep", "-E", "Cap(Eff|Bnd|Prm|Amb)", "/proc/self/status"]))
            #expect(
                result.stdout == """
                    CapPrm:\t00000000a80425fb
                    CapEff:\t00000000a80425fb
                    CapBnd:\t00000000a80425fb
                    CapAmb:\t0000000000000000

                    """)
        }
    }

    @Test("runs as the given uid, gid and groups, without effective capabilities")
    func user() async throws {
        try await withDriver { driver, rootfs in
            var spec = makeSpec(rootfs, ["sh", "-c", "id; grep CapEff /proc/self/status"])
            spec.uid = 1000
            spec.gid = 1001
            spec.additionalGroups = [10, 20]
            let result = try await run(driver, spec)
            #expect(
                result.stdout
                    == "uid=1000 gid=1001 groups=10,20\nCapEff:\t0000000000000000\n")
        }
    }

    @Test("reports a missing command as executableNotFound and removes the cgroups")
    func missingCommand() async throws {
        try await withDriver { driver, rootfs in
            let spec = makeSpec(rootfs, ["nosuch"])
            await #expect(throws: ExecError.executableNotFound("nosuch")) {
                _ = try await run(driver, spec)
            }
            #expect(
                ExecError.executableNotFound("nosuch").message
                    == "exec: \"nosuch\": executable file not found in $PATH")
            #expect(ExecError.executableNotFound("nosuch").exitCode == 127)
            await #expect(throws: ExecError.executableNotFound("/bin/nosuch")) {
                _ = try await run(driver, makeSpec(rootfs, ["/bin/nosuch"]))
            }
            for path in driver.cgroupPaths(containerID: spec.id) {
                #expect(!FileSystem.exists(path), "\(path) is left")
            }
        }
    }

    @Test("reports a file without execute permission as permissionDenied")
    func notExecutable() async throws {
        try await withDriver { driver, rootfs in
            try FileSystem.writeAtomically(
                "\(rootfs.path)/bin/plain", Array("#!/bin/sh\n".utf8), mode: 0o644)
            await #expect(throws: ExecError.permissionDenied("/bin/plain")) {
                _ = try await run(driver, makeSpec(rootfs, ["/bin/plain"]))
            }
            await #expect(throws: ExecError.permissionDenied("plain")) {
                _ = try await run(driver, makeSpec(rootfs, ["plain"]))
            }
            #expect(ExecError.permissionDenied("plain").exitCode == 126)
        }
    }

    @Test("reports a missing working directory with its stage")
    func missingWorkingDirectory() async throws {
        try await withDriver { driver, rootfs in
            var spec = makeSpec(rootfs, ["true"])
            spec.workingDirectory = "/nowhere"
            await #expect(
                throws: ExecError.setupFailed(
                    stage: "chdir to the working directory", errno: ENOENT)
            ) {
                _ = try await run(driver, spec)
            }
        }
    }

    @Test("enforces the memory limit: an OOM kill gives 137 and oomKilled")
    func memoryLimit() async throws {
        try await withDriver { driver, rootfs in
            var spec = makeSpec(
                rootfs, ["sh", "-c", "head -c 200000000 /dev/zero | tail > /dev/null"])
            spec.memoryLimit = 32 * 1024 * 1024
            let result = try await run(driver, spec)
            #expect(result.status.code == 137)
            #expect(result.status.oomKilled)

            let small = try await run(driver, { () -> ContainerSpec in
                let script = "head -c 1000000 /dev/zero | tail | wc -c"
                var spec = makeSpec(rootfs, ["sh", "-c", script])
                spec.memoryLimit = 32 * 1024 * 1024
                return spec
            }())
            #expect(small.status == ExitStatus(code: 0))
            #expect(small.stdout == "1000000\n")
        }
    }

    @Test("shares the host network namespace when asked, and has its own otherwise")
    func networkNamespace() async throws {
        try await withDriver { driver, rootfs in
            let host = try #require(
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net"))
            var spec = makeSpec(rootfs, ["readlink", "/proc/self/ns/net"])
            let own = try await run(driver, spec)
            #expect(own.stdout.hasPrefix("net:["))
            #expect(own.stdout != host + "\n")
            spec.id = uniqueName("c")
            spec.newNetworkNamespace = false
            let shared = try await run(driver, spec)
            #expect(shared.stdout == host + "\n")
        }
    }

    @Test("calls prepare with the pid before the command runs, in the container's cgroups")
    func prepare() async throws {
        try await withDriver { driver, rootfs in
            let spec = makeSpec(rootfs, ["cat", "/proc/self/cgroup"])
            var seen: Int32?
            var exeBeforeExec = ""
            let result = try await run(driver, spec) { pid in
                seen = pid
                exeBeforeExec =
                    (try? FileManager.default.destinationOfSymbolicLink(
                        atPath: "/proc/\(pid)/exe")) ?? ""
            }
            #expect(seen == result.pid)
            // Before execve the child is still a copy of this test process.
            let ownExe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            #expect(exeBeforeExec == ownExe)
            #expect(result.status == ExitStatus(code: 0))
            // One line per hierarchy of the container, each ending in its cgroup.
            let joined = result.stdout.split(separator: "\n").filter { $0.hasSuffix("/\(spec.id)") }
            #expect(joined.count == driver.cgroupPaths(containerID: spec.id).count, "\(result.stdout)")
        }
    }

    @Test("a throwing prepare kills the child and removes its cgroups")
    func prepareFails() async throws {
        struct Refused: Error, Equatable {}
        try await withDriver { driver, rootfs in
            let spec = makeSpec(rootfs, ["true"])
            var childPid: Int32 = 0
            await #expect(throws: Refused()) {
                _ = try await run(driver, spec) { pid in
                    childPid = pid
                    throw Refused()
                }
            }
            #expect(kill(childPid, 0) != 0)
            for path in driver.cgroupPaths(containerID: spec.id) {
                #expect(!FileSystem.exists(path), "\(path) is left")
            }
        }
    }

    @Test("removeCgroups kills what is left and removes the directories")
    func removeCgroupsKills() async throws {
        try await withDriver { driver, rootfs in
            let spec = makeSpec(rootfs, ["sleep", "100"])
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(null) }
            let pid = try driver.start(
                spec, stdio: ContainerStdio(stdout: null, stderr: null), prepare: { _ in })
            try driver.removeCgroups(containerID: spec.id)
            let status = await driver.wait(pid: pid)
            #expect(status == ExitStatus(code: 137, signal: SIGKILL))
            for path in driver.cgroupPaths(containerID: spec.id) {
                #expect(!FileSystem.exists(path), "\(path) is left")
            }
        }
    }

    @Test("keeps the status of a child that exited before anyone waited")
    func earlyExit() async throws {
        try await withDriver { driver, rootfs in
            let spec = makeSpec(rootfs, ["sh", "-c", "exit 5"])
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(null) }
            let pid = try driver.start(
                spec, stdio: ContainerStdio(stdout: null, stderr: null), prepare: { _ in })
            try await Task.sleep(for: .milliseconds(300))
            #expect(await driver.wait(pid: pid) == ExitStatus(code: 5))
            try driver.removeCgroups(containerID: spec.id)
        }
    }

    @Test("reports the start latency without load")
    func startLatency() async throws {
        try await withDriver { driver, rootfs in
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            defer { close(null) }
            var latencies: [Duration] = []
            let clock = ContinuousClock()
            for _ in 0..<50 {
                let spec = makeSpec(rootfs, ["true"])
                let started = clock.now
                let pid = try driver.start(
                    spec, stdio: ContainerStdio(stdout: null, stderr: null), prepare: { _ in })
                latencies.append(clock.now - started)
                #expect(await driver.wait(pid: pid) == ExitStatus(code: 0))
                try driver.removeCgroups(containerID: spec.id)
            }
            let sorted = latencies.sorted()
            print("exec start latency over 50 without load: median \(sorted[25]), "
                + "min \(sorted[0]), max \(sorted[49])")
        }
    }

    @Test("50 starts under thread load leak no descriptors; reports the start latency")
    func repeatedStartsUnderLoad() async throws {
        try await withDriver { driver, rootfs in
            let stop = LoadFlag()
            let threads = (0..<4).map { _ in
                let thread = Thread {
                    var sink: [String] = []
                    while !stop.isSet {
                        sink.append(String(repeating: "x", count: Int.random(in: 1...4096)))
                        if sink.count > 64 { sink.removeAll(keepingCapacity: false) }
                    }
                }
                thread.start()
                return thread
            }
            defer { stop.set() }
            _ = threads

            let before = try FileSystem.list("/proc/self/fd").count
            var latencies: [Duration] = []
            let clock = ContinuousClock()
            for index in 0..<50 {
                let spec = makeSpec(rootfs, ["sh", "-c", "echo \(index)"])
                let out = try ExecDriver.makePipe()
                let started = clock.now
                let pid: Int32
                do {
                    pid = try driver.start(
                        spec, stdio: ContainerStdio(stdout: out.write, stderr: out.write),
                        prepare: { _ in })
                } catch {
                    close(out.read)
                    close(out.write)
                    throw error
                }
                latencies.append(clock.now - started)
                close(out.write)
                #expect(readAll(out.read) == "\(index)\n")
                #expect(await driver.wait(pid: pid) == ExitStatus(code: 0))
                try driver.removeCgroups(containerID: spec.id)
            }
            // A leak adds descriptors. One can also close meanwhile: the pipe of an earlier
            // test's child process, released late on another thread.
            let after = try FileSystem.list("/proc/self/fd").count
            #expect(after <= before)
            let sorted = latencies.sorted()
            print("exec start latency over 50: median \(sorted[25]), min \(sorted[0]), "
                + "max \(sorted[49])")
        }
    }
}

/// A flag the load threads poll.
final class LoadFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
