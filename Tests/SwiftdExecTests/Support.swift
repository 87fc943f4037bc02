import Foundation
import SwiftdExec
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the tests run as root, as the container tests need.
let isRoot = getuid() == 0

/// A unique name for test resources (cgroups, directories, container IDs).
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// A busybox root directory in a temporary directory, removed by `remove()`.
struct TestRootfs {
    let path: String

    static let applets = [
        "sh", "echo", "cat", "hostname", "ls", "id", "tail", "head", "sleep", "true", "false",
        "grep", "readlink", "env", "test", "wc", "mkdir", "touch", "stty", "tty", "unshare",
        "mount", "seq", "rm",
    ]

    init() throws {
        path = "/tmp/\(uniqueName("swiftd-exec-rootfs"))"
        for directory in ["bin", "proc", "dev", "sys", "etc", "tmp"] {
            try FileSystem.createDirectory("\(path)/\(directory)", mode: 0o755)
        }
        chmod(path, 0o755)
        let busybox = try FileSystem.read("/bin/busybox")
        try FileSystem.writeAtomically("\(path)/bin/busybox", busybox, mode: 0o755)
        for applet in Self.applets where symlink("busybox", "\(path)/bin/\(applet)") != 0 {
            throw SystemCallError(call: "symlink", subject: applet, errno: errno)
        }
    }

    func remove() {
        try? FileSystem.removeTree(path)
    }
}

/// What a container printed and how it ended.
struct RunResult {
    var status: ExitStatus
    var stdout: String
    var stderr: String
    var pid: Int32
}

/// Reads `fd` until EOF and closes it.
func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    close(fd)
    return String(decoding: bytes, as: UTF8.self)
}

/// Runs `spec` to completion with piped stdout and stderr, removes its cgroups, and checks
/// that they are gone.
func run(
    _ driver: ExecDriver, _ spec: ContainerSpec, stdin: Int32? = nil,
    prepare: (Int32) throws -> Void = { _ in }
) async throws -> RunResult {
    let out = try ExecDriver.makePipe()
    let err = try ExecDriver.makePipe()
    let pid: Int32
    do {
        pid = try driver.start(
            spec, stdio: ContainerStdio(stdin: stdin, stdout: out.write, stderr: err.write),
            prepare: prepare)
    } catch {
        for fd in [out.read, out.write, err.read, err.write] { close(fd) }
        throw error
    }
    close(out.write)
    close(err.write)
    // Both pipes are small; the child cannot block on a full one before this reads them.
    let stdout = readAll(out.read)
    let stderr = readAll(err.read)
    let status = await driver.wait(pid: pid)
    try driver.removeCgroups(containerID: spec.id)
    return RunResult(status: status, stdout: stdout, stderr: stderr, pid: pid)
}

/// Runs `body` with a driver whose parent cgroup and rootfs are unique, and removes both
/// afterwards, also when `body` throws.
func withDriver(
    _ body: (ExecDriver, TestRootfs) async throws -> Void
) async throws {
    let driver = try ExecDriver(cgroupParent: uniqueName("swiftd-test"))
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
    try await body(driver, rootfs)
}

/// Makes a spec with a unique container ID.
func makeSpec(_ rootfs: TestRootfs, _ arguments: [String], environment: [String] = [])
    -> ContainerSpec
{
    ContainerSpec(
        id: uniqueName("c"), rootfs: rootfs.path, arguments: arguments, environment: environment,
        hostname: "testhost")
}
