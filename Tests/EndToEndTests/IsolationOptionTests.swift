import Foundation
import Testing

/// Isolation and resource options of `run`, and pause, through the client.
@Suite("isolation options", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct IsolationOptionTests {
    @Test("default, privileged and dropped capabilities")
    func capabilities() throws {
        try DaemonHarness.withDaemon { daemon in
            let plain = try daemon.client(["run", "--rm", "busybox", "grep", "-E", "CapEff|Seccomp:", "/proc/self/status"])
            #expect(plain.stdout.contains("00000000a80425fb"))
            #expect(plain.stdout.contains("Seccomp:\t2"))
            let privileged = try daemon.client(["run", "--rm", "--privileged", "busybox", "grep", "-E", "CapEff|Seccomp:", "/proc/self/status"])
            #expect(!privileged.stdout.contains("00000000a80425fb"))
            #expect(privileged.stdout.contains("Seccomp:\t0"))
            let dropped = try daemon.client(["run", "--rm", "--cap-drop", "ALL", "busybox", "grep", "CapEff", "/proc/self/status"])
            #expect(dropped.stdout.contains("0000000000000000"))
            let unknown = try daemon.client(["run", "--rm", "--cap-add", "NOSUCH", "busybox", "true"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("NOSUCH"))
            let unconfined = try daemon.client(["run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status"])
            #expect(unconfined.stdout.contains("Seccomp:\t0"))
            let masked = try daemon.client(["run", "--rm", "busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/hostname"])
            #expect(masked.status != 0)
        }
    }

    @Test("read-only root, tmpfs and a pids limit")
    func filesystemAndLimits() throws {
        try DaemonHarness.withDaemon { daemon in
            let readOnly = try daemon.client(["run", "--rm", "--read-only", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                "touch /file || echo root is read-only; touch /scratch/file && echo tmpfs is writable"])
            #expect(readOnly.stdout.contains("root is read-only"))
            #expect(readOnly.stdout.contains("tmpfs is writable"))
            let limited = try daemon.client(["run", "--rm", "--pids-limit", "4", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait"])
            #expect(limited.stderr.contains("can't fork") || limited.stderr.contains("Resource temporarily unavailable"), "\(limited.stderr)")
            let badCPU = try daemon.client(["run", "--rm", "--cpus", "lots", "busybox", "true"])
            #expect(badCPU.status == 125)
        }
    }

    @Test("pause and unpause")
    func pause() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["run", "-d", "--name", "frozen", "busybox", "sleep", "60"]).status == 0)
            #expect(try daemon.client(["pause", "frozen"]).status == 0)
            #expect(try daemon.client(["ps"]).stdout.contains("(Paused)"))
            let again = try daemon.client(["pause", "frozen"])
            #expect(again.status == 1)
            #expect(again.stderr.contains("already paused"))
            #expect(try daemon.client(["unpause", "frozen"]).status == 0)
            #expect(!(try daemon.client(["ps"]).stdout.contains("(Paused)")))
            #expect(try daemon.client(["pause", "frozen"]).status == 0)
            // Stopping a paused container thaws it first.
            #expect(try daemon.client(["stop", "-t", "1", "frozen"]).status == 0)
            #expect(try daemon.client(["ps", "-a"]).stdout.contains("Exited"))
        }
    }
}

/// `swiftd exec` in running containers.
@Suite("exec", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct ExecTests {
    @Test("runs commands in a running container's namespaces")
    func execRuns() throws {
        try DaemonHarness.withDaemon { daemon in
            #expect(try daemon.client(["run", "-d", "--name", "host", "--hostname", "inside", "busybox", "sleep", "60"]).status == 0)
            let hostname = try daemon.client(["exec", "host", "hostname"])
            #expect(hostname.status == 0, "\(hostname.stderr)")
            #expect(hostname.stdout == "inside\n")
            let pid1 = try daemon.client(["exec", "host", "cat", "/proc/1/cmdline"])
            #expect(pid1.stdout.hasPrefix("sleep"))
            let code = try daemon.client(["exec", "-e", "CODE=4", "host", "sh", "-c", "echo err >&2; exit $CODE"])
            #expect(code.status == 4)
            #expect(code.stderr == "err\n")
            let missing = try daemon.client(["exec", "host", "nosuchcommand"])
            #expect(missing.status == 127)
            let workdir = try daemon.client(["exec", "-w", "/tmp", "host", "pwd"])
            #expect(workdir.stdout == "/tmp\n")
            #expect(try daemon.client(["stop", "-t", "0", "host"]).status == 0)
            let stopped = try daemon.client(["exec", "host", "true"])
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("is not running"))
        }
    }
}
