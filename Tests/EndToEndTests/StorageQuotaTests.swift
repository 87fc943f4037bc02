import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--storage-opt` size limits: rejected where the root's file system has no project quotas,
/// and enforced on a loop-mounted ext4 with project quotas where the kernel supports them.
@Suite("storage options", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct StorageQuotaEndToEndTests {
    @Test("size without project quotas rejected")
    func sizeWithoutQuotas() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }

        // The default size needs project quotas under the root: the daemon does not start.
        #expect {
            try daemon.start(extraArguments: ["-s", "overlay2", "--storage-opt", "overlay2.size=10G"])
        } throws: { error in
            "\(error)".contains("Storage option overlay2.size not supported. Filesystem does not support Project Quota")
        }
        #expect {
            try daemon.start(extraArguments: ["-s", "overlay2", "--storage-opt", "overlay2.bogus=1"])
        } throws: { error in
            "\(error)".contains("invalid --storage-opt overlay2.bogus=1: overlay2: unknown option overlay2.bogus")
        }
        #expect {
            try daemon.start(extraArguments: ["-s", "vfs", "--storage-opt", "size=lots"])
        } throws: { error in
            "\(error)".contains("invalid --storage-opt size=lots: invalid size: 'lots'")
        }

        try daemon.start(extraArguments: ["-s", "overlay2"])
        try daemon.importBusybox()
        let cases = [
            ("size=1M", "400", "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"),
            ("bogus=1", "400", "Unknown option bogus"),
            ("size=abc", "400", "invalid size: 'abc'"),
        ]
        for (option, status, message) in cases {
            let created = try daemon.client(["create", "--storage-opt", option, "busybox", "true"])
            #expect(created.status != 0, "\(option): \(created.stdout)")
            #expect(created.stderr.contains(message), "\(option): \(created.stderr)")

            let parts = option.split(separator: "=").map(String.init)
            let body = #"{"Image":"busybox","Cmd":["true"],"HostConfig":{"StorageOpt":{"\#(parts[0])":"\#(parts[1])"}}}"#
            let answer = try post(daemon, "/containers/create", body: body)
            #expect(answer.status == status, "\(option): \(answer)")
            #expect(answer.body.contains(message), "\(option): \(answer.body)")
        }
        let malformed = try daemon.client(["create", "--storage-opt", "size", "busybox", "true"])
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("invalid storage option \"size\""), "\(malformed.stderr)")
        // Nothing of the rejected containers is left.
        #expect(try daemon.client(["ps", "-a", "-q"]).stdout.isEmpty)
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    @Test(
        "size limits a container's writes",
        .enabled(if: LoopFileSystem.projectQuotasWork, "needs a kernel with ext4 project quotas"))
    func sizeLimitsWrites() throws {
        let daemon = try DaemonHarness()
        let backing: LoopFileSystem
        do {
            backing = try LoopFileSystem(image: "\(daemon.work)/quota.img", mountPoint: daemon.root)
        } catch {
            daemon.cleanUp()
            throw error
        }
        defer {
            daemon.stop()
            daemon.endContainers()
            for point in daemon.mountPoints(under: daemon.root) where point != daemon.root {
                _ = try? DaemonHarness.capture("/usr/bin/umount", [point])
            }
            backing.remove()
            daemon.cleanUp()
        }

        try daemon.start()
        try daemon.importBusybox()
        let write2M = ["dd", "if=/dev/zero", "of=/big", "bs=1024", "count=2048"]
        let write512K = ["dd", "if=/dev/zero", "of=/small", "bs=1024", "count=512"]
        let over = try daemon.client(["run", "--rm", "--storage-opt", "size=1M", "busybox"] + write2M)
        #expect(over.status != 0, "\(over.stdout)")
        #expect(over.stderr.contains("Disk quota exceeded"), "\(over.stderr)")
        let under = try daemon.client(["run", "--rm", "--storage-opt", "size=1M", "busybox"] + write512K)
        #expect(under.status == 0, "\(under.stderr)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")

        // The daemon's default applies to every container, and a container's own size wins.
        try daemon.start(extraArguments: ["--storage-opt", "overlay2.size=1M"])
        let limited = try daemon.client(["run", "--rm", "busybox"] + write2M)
        #expect(limited.status != 0, "\(limited.stdout)")
        #expect(limited.stderr.contains("Disk quota exceeded"), "\(limited.stderr)")
        let larger = try daemon.client(["run", "--rm", "--storage-opt", "size=4M", "busybox"] + write2M)
        #expect(larger.status == 0, "\(larger.stderr)")
        #expect(daemon.stop() == 0, "daemon log:\n\(daemon.daemonLog)")
    }

    /// Posts a JSON body and returns the response's status code and body.
    private func post(_ daemon: DaemonHarness, _ path: String, body: String) throws
        -> (status: String, body: String)
    {
        let output = try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-sS", "-X", "POST", "-H", "Content-Type: application/json", "-w", "\n%{http_code}",
                "--data-binary", body, "--unix-socket", daemon.socket, "http://x/v1.45\(path)",
            ]
        ).stdout
        let parts = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(parts.last ?? ""), parts.dropLast().joined(separator: "\n"))
    }
}

/// A 64 MiB ext4 file system with project quotas, in a file attached to a loop device and
/// mounted with `prjquota`.
struct LoopFileSystem {
    let image: String
    let mountPoint: String
    let device: String

    /// Makes the file system in `image` and mounts it at `mountPoint` (created if missing).
    /// On a failure, it detaches what it attached.
    ///
    /// - Throws: `HarnessError` with the failing command's output.
    init(image: String, mountPoint: String) throws {
        self.image = image
        self.mountPoint = mountPoint
        try Self.run("/usr/bin/truncate", ["-s", "64M", image])
        try Self.run("/usr/sbin/mkfs.ext4", ["-q", "-O", "quota,project", image])
        device = try Self.run("/usr/sbin/losetup", ["--find", "--show", image])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            try Self.run("/usr/bin/mount", ["-o", "prjquota", device, mountPoint])
        } catch {
            _ = try? DaemonHarness.capture("/usr/sbin/losetup", ["-d", device])
            try? FileManager.default.removeItem(atPath: image)
            throw error
        }
    }

    /// Unmounts the file system, detaches the loop device and removes the image file.
    func remove() {
        if (try? DaemonHarness.capture("/usr/bin/umount", [mountPoint]))?.status != 0 {
            _ = try? DaemonHarness.capture("/usr/bin/umount", ["-l", mountPoint])
        }
        _ = try? DaemonHarness.capture("/usr/sbin/losetup", ["-d", device])
        try? FileManager.default.removeItem(atPath: image)
    }

    /// Whether such a file system mounts here, found once by making and removing one. A kernel
    /// built without `CONFIG_QFMT_V2` cannot mount ext4 with the `quota` feature. There the test
    /// that needs one is skipped, and the mount's error goes to stderr.
    static let projectQuotasWork: Bool = {
        let directory = "/tmp/swiftd-quota-probe-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let probe = try LoopFileSystem(image: directory + ".img", mountPoint: directory)
            probe.remove()
            return true
        } catch {
            FileHandle.standardError.write(Data("project quotas are not available: \(error)\n".utf8))
            return false
        }
    }()

    @discardableResult
    private static func run(_ path: String, _ arguments: [String]) throws -> String {
        let result = try DaemonHarness.capture(path, arguments)
        guard result.status == 0 else {
            throw HarnessError("\(path) \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }
}
