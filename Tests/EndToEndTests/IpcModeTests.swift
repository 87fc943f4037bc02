import Foundation
import Testing

/// `--ipc none`, `private` and `shareable`: the IPC namespace and `/dev/shm` of a container.
@Suite(
    "IPC modes", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct IpcModeTests {
    @Test("ipc none has no shm")
    func ipcNone() throws {
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client([
                "run", "--name", "noipc", "--ipc", "none", "busybox", "sh", "-c",
                "readlink /proc/self/ns/ipc; grep -c ' /dev/shm ' /proc/self/mounts; test -e /dev/shm; echo $?",
            ])
            defer { _ = try? daemon.client(["rm", "-f", "noipc"]) }
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(run.stdout)")
            #expect(lines.first != hostIPC)
            #expect(lines.first?.hasPrefix("ipc:[") == true, "\(run.stdout)")
            #expect(lines.dropFirst().first == "0", "mounts at /dev/shm: \(run.stdout)")
            #expect(lines.last == "1", "/dev/shm exists: \(run.stdout)")
            let mode = try daemon.client(["inspect", "--format", "{{.HostConfig.IpcMode}}", "noipc"])
            #expect(mode.stdout == "none\n")

            // The default keeps its /dev/shm.
            let plain = try daemon.client(["run", "--rm", "busybox", "grep", "-c", " /dev/shm ", "/proc/self/mounts"])
            #expect(plain.stdout == "1\n", "\(plain.stderr)")
        }
    }

    @Test("private and shareable donors")
    func privateAndShareable() throws {
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        try DaemonHarness.withDaemon { daemon in
            defer { _ = try? daemon.client(["rm", "-f", "shared", "private", "noipc"]) }
            for (name, mode) in [("shared", "shareable"), ("private", "private"), ("noipc", "none")] {
                let started = try daemon.client(["run", "-d", "--name", name, "--ipc", mode, "busybox", "sleep", "60"])
                #expect(started.status == 0, "\(mode): \(started.stderr)")
                let inspect = try daemon.client(["inspect", "--format", "{{.HostConfig.IpcMode}}", name])
                #expect(inspect.stdout == "\(mode)\n")
            }
            let donor = try daemon.client(["exec", "shared", "readlink", "/proc/self/ns/ipc"])
            #expect(donor.stdout != "\(hostIPC)\n")
            let joined = try daemon.client(["run", "--rm", "--ipc", "container:shared", "busybox", "readlink", "/proc/self/ns/ipc"])
            #expect(joined.status == 0, "\(joined.stderr)")
            #expect(joined.stdout == donor.stdout)
            let own = try daemon.client(["exec", "private", "readlink", "/proc/self/ns/ipc"])
            #expect(own.stdout != "\(hostIPC)\n")
            #expect(own.stdout != donor.stdout)

            for name in ["private", "noipc"] {
                let rejected = try daemon.client(["run", "--rm", "--ipc", "container:\(name)", "busybox", "true"])
                #expect(rejected.status != 0)
                #expect(rejected.stderr.contains("non-shareable IPC"), "\(name): \(rejected.stderr)")
            }
        }
    }
}
