import Foundation
import SwiftdExec
import SwiftdSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The cgroup2 mount of a hybrid host (v1 controllers plus a unified hierarchy without
/// controllers). The kernel runs the device programs of this hierarchy for its processes even
/// while v1 controllers are in use.
let unifiedRoot = "/sys/fs/cgroup/unified"

let canAttachDevicePrograms = isRoot && FileSystem.exists("\(unifiedRoot)/cgroup.procs")

/// Creates a unique cgroup below this process's own cgroup in the cgroup2 hierarchy, runs
/// `body` with its path, then kills what is left in it and removes it, also when `body` throws.
func withUnifiedCgroup(_ body: (String) async throws -> Void) async throws {
    let membership = try FileSystem.readString("/proc/self/cgroup")
    let own = membership.split(separator: "\n").first { $0.hasPrefix("0::") }?.dropFirst(3) ?? "/"
    let path = "\(unifiedRoot)\(own == "/" ? "" : String(own))/\(uniqueName("swd-test"))"
    if mkdir(path, 0o755) != 0 {
        throw SystemCallError(call: "mkdir", subject: path, errno: errno)
    }
    defer {
        for _ in 0..<200 {
            let procs = (try? FileSystem.readString("\(path)/cgroup.procs")) ?? ""
            for pid in procs.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            if rmdir(path) == 0 || errno == ENOENT { break }
            usleep(10_000)
        }
        #expect(!FileSystem.exists(path), "cgroup \(path) left behind")
    }
    try await body(path)
}

/// Runs `/bin/sh -c script` with the cgroup path as `$1`, and returns its exit status and
/// output. The script moves itself into the cgroup, so its own exec is not checked. Scripts
/// use `true <` rather than `: <` because a failed redirection of a special built-in such as
/// `:` ends a POSIX shell.
func runShell(_ script: String, cgroup: String) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script, "sh", cgroup]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: stdout, as: UTF8.self),
        String(decoding: stderr, as: UTF8.self)
    )
}

@Suite(
    "Device programs in the kernel", .serialized,
    .enabled(
        if: canAttachDevicePrograms, "needs root and a cgroup2 mount at /sys/fs/cgroup/unified"))
struct DeviceProgramKernelTests {
    @Test("program denies unlisted devices")
    func enforcesRules() async throws {
        try await withUnifiedCgroup { cgroup in
            let rules = [try DeviceRule(parsing: "c 1:3 rwm")]
            try BPF.attachDeviceProgram(
                DeviceProgram.instructions(allowing: rules), toCgroup: cgroup)
            #expect(try BPF.deviceProgramCount(cgroup: cgroup) == 1)

            let script = """
                echo $$ > "$1/cgroup.procs" || exit 10
                true < /dev/null && echo null-read
                true > /dev/null && echo null-written
                true < /dev/zero && echo zero-read
                exit 0
                """
            let result = try runShell(script, cgroup: cgroup)
            #expect(result.status == 0)
            #expect(result.stdout == "null-read\nnull-written\n")
            #expect(
                result.stderr.contains("/dev/zero: Operation not permitted"), "\(result.stderr)")
        }
    }

    @Test("kernel verifier accepts generated programs")
    func verifierAccepts() async throws {
        let ruleSets: [[String]] = [
            [], Device.defaultRules, ["a"],
            ["c *:* r", "b 7:* rw", "c 1:3 r", "c 1:3 w", "b 2147483647:0 m"],
            Device.defaultRules + (0..<200).map { "c 240:\($0) rw" },
        ]
        for rules in ruleSets {
            try await withUnifiedCgroup { cgroup in
                let parsed = try rules.map(DeviceRule.init(parsing:))
                try BPF.attachDeviceProgram(
                    DeviceProgram.instructions(allowing: parsed), toCgroup: cgroup)
                #expect(try BPF.deviceProgramCount(cgroup: cgroup) == 1, "\(rules.prefix(3))")
            }
        }
    }

    @Test("load error names the verifier's reason")
    func rejectsBadProgram() async throws {
        try await withUnifiedCgroup { cgroup in
            // Reads register 0 before anything is written to it: the verifier rejects that.
            let error = #expect(throws: SystemCallError.self) {
                try BPF.attachDeviceProgram([.exit], toCgroup: cgroup)
            }
            #expect(error?.call == "bpf(BPF_PROG_LOAD)")
            #expect(error?.errno == EACCES)
            #expect(error?.subject.contains("R0 !read_ok") == true, "\(error?.subject ?? "")")
            let count = try BPF.deviceProgramCount(cgroup: cgroup)
            #expect(count == 0)
        }
    }

    @Test("v2 container gets only its devices")
    func containerDevices() async throws {
        let driver = try ExecDriver(
            cgroupParent: uniqueName("swiftd-test"), cgroupRoot: unifiedRoot)
        let rootfs: TestRootfs
        do {
            rootfs = try TestRootfs()
        } catch {
            try? driver.removeParentCgroups()
            throw error
        }
        defer {
            rootfs.remove()
            try? driver.removeParentCgroups()
        }
        #expect(driver.cgroupVersion == 2)

        // /dev/loop-control (c 10:237) is not among the default devices; opening it has no
        // effect on the host.
        let script = """
            true < /dev/null && echo null-read
            head -c 3 /dev/zero | wc -c
            mknod /dev/lc2 c 10 237 && echo mknod-ok
            true < /dev/lc2 && echo opened
            exit 0
            """
        let plain = try await run(driver, makeSpec(rootfs, ["sh", "-c", script]))
        #expect(plain.stdout == "null-read\n3\nmknod-ok\n")
        #expect(plain.stderr.contains("/dev/lc2: Operation not permitted"), "\(plain.stderr)")

        var spec = makeSpec(rootfs, ["sh", "-c", script])
        spec.devices = [
            try Device(hostPath: "/dev/loop-control", path: "/dev/lc", permissions: "rw")
        ]
        let withDevice = try await run(driver, spec)
        #expect(withDevice.stdout == "null-read\n3\nmknod-ok\nopened\n")
        #expect(withDevice.stderr == "")
    }
}
