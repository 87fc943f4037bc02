import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Tests of containers that outlive their daemon: each runs under a monitor, which keeps it,
/// its output and its exit status until the next daemon takes it back.
@Suite(
    "live restore", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces and cgroups"))
struct LiveRestoreTests {
    /// Runs a detached container and returns its ID.
    static func runDetached(_ daemon: DaemonHarness, _ arguments: [String]) throws -> String {
        let result = try daemon.client(["run", "-d", "--network", "none"] + arguments)
        try #require(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func inspect(_ daemon: DaemonHarness, _ id: String, _ format: String) throws -> String {
        try daemon.client(["inspect", "-f", format, id]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("container survives daemon SIGKILL")
    func survivesKilledDaemon() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let id = try Self.runDetached(
            daemon, ["busybox", "sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"])
        let pid = try #require(Int32(try Self.inspect(daemon, id, "{{.State.Pid}}")))

        daemon.killDaemon()
        Thread.sleep(forTimeInterval: 1)
        #expect(kill(pid, 0) == 0, "the container died with its daemon")
        try daemon.start(extraArguments: ["--live-restore"])
        #expect(try Self.inspect(daemon, id, "{{.State.Status}} {{.State.Pid}}") == "running \(pid)")

        // Lines written while no daemon ran, and after, reach the log in order.
        let logged = try DaemonHarness.eventually {
            try daemon.client(["logs", id]).stdout.split(separator: "\n").count > 20
        }
        #expect(logged, "\(daemon.daemonLog)")
        let numbers = try daemon.client(["logs", id]).stdout.split(separator: "\n")
            .compactMap { Int($0.split(separator: " ").last ?? "") }
        #expect(numbers == Array(0..<numbers.count))

        let exec = try daemon.client(["exec", id, "echo", "inside"])
        #expect(exec.stdout == "inside\n", "\(exec.stderr)")
        let stop = try daemon.client(["stop", "-t", "1", id])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try Self.inspect(daemon, id, "{{.State.Status}} {{.State.ExitCode}}") == "exited 137")
        #expect(DaemonHarness.eventually { daemon.monitorPids().isEmpty }, "a monitor outlived its container")
        #expect(try daemon.client(["rm", id]).status == 0)
    }

    @Test("exit while daemon away recorded")
    func exitWhileAwayRecorded() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let once = try Self.runDetached(daemon, ["busybox", "sh", "-c", "echo bye; sleep 1; exit 3"])
        let again = try Self.runDetached(
            daemon, ["--restart", "on-failure", "busybox", "sh", "-c", "sleep 1; exit 4"])
        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
        Thread.sleep(forTimeInterval: 2)

        let restart = Date()
        try daemon.start(extraArguments: ["--live-restore"])
        #expect(try Self.inspect(daemon, once, "{{.State.Status}} {{.State.ExitCode}}") == "exited 3")
        // The time of the exit is the monitor's, not the restart's.
        let finished = try Self.inspect(daemon, once, "{{.State.FinishedAt}}")
        let finishedAt = try #require(ISO8601DateFormatter.withFraction.date(from: finished), "\(finished)")
        #expect(finishedAt < restart, "\(finished)")
        #expect(try daemon.client(["logs", once]).stdout == "bye\n")
        // The restart policy applies to an exit that no daemon saw.
        let restarted = try DaemonHarness.eventually {
            try Self.inspect(daemon, again, "{{.RestartCount}}") != "0"
        }
        #expect(restarted, "\(daemon.daemonLog)")
        // One restart, from the exit the monitor reported, and no second start racing it.
        #expect(!daemon.daemonLog.contains("already being started"), "\(daemon.daemonLog)")
        #expect(try daemon.client(["rm", "-f", once, again]).status == 0)
        #expect(DaemonHarness.eventually { daemon.monitorPids().isEmpty })
    }

    @Test("no live restore kills survivors")
    func withoutLiveRestoreKilled() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start()
        try daemon.importBusybox()
        let id = try Self.runDetached(daemon, ["busybox", "sleep", "60"])
        daemon.killDaemon()
        try daemon.start()
        let stopped = try DaemonHarness.eventually {
            try Self.inspect(daemon, id, "{{.State.Status}} {{.State.ExitCode}}") == "exited 137"
        }
        #expect(stopped, "\(daemon.daemonLog)")
        #expect(DaemonHarness.eventually { daemon.monitorPids().isEmpty })
        #expect(try daemon.client(["rm", id]).status == 0)
        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
    }

    @Test("stdin and terminal kept")
    func stdinAndTerminalKept() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let reader = try Self.runDetached(daemon, ["-i", "busybox", "sh", "-c", "read l; echo got $l"])
        let terminal = try Self.runDetached(daemon, ["-t", "busybox", "sh", "-c", "sleep 60"])
        daemon.killDaemon()
        try daemon.start(extraArguments: ["--live-restore"])
        #expect(try Self.inspect(daemon, reader, "{{.State.Status}}") == "running")
        #expect(try Self.inspect(daemon, terminal, "{{.State.Status}}") == "running")

        // The stdin pipe stayed open across the restart, and takes input from the new daemon.
        let attached = try daemon.client(["attach", reader], stdin: Data("hello\n".utf8))
        #expect(attached.stdout == "got hello\n", "\(attached.stderr)")
        #expect(try Self.inspect(daemon, reader, "{{.State.Status}}") == "exited")
        #expect(try daemon.client(["rm", "-f", reader, terminal]).status == 0)
    }

    @Test("published port kept across restart")
    func publishedPortKept() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let before = try NetworkTests.rules(daemon)
        let hostPort = Int.random(in: 24000...24999)
        let run = try daemon.client(
            ["run", "-d", "-p", "127.0.0.1:\(hostPort):80", "busybox"] + NetworkTests.tcpServer(80))
        try #require(run.status == 0, "\(run.stderr)")
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let address = try Self.inspect(daemon, id, "{{.NetworkSettings.IPAddress}}")
        let rules = try NetworkTests.rules(daemon)

        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
        // Through the bridge, the container replies while no daemon runs.
        let direct = try NetworkTests.exchange("tcp", address, "80")
        #expect(direct.stdout.contains("pong"), "\(direct.stderr)")

        try daemon.start(extraArguments: ["--live-restore"])
        #expect(try Self.inspect(daemon, id, "{{.NetworkSettings.IPAddress}}") == address)
        #expect(try NetworkTests.rules(daemon) == rules)
        let proxied = try NetworkTests.exchange("tcp", "127.0.0.1", "\(hostPort)")
        #expect(proxied.stdout.contains("pong"), "\(proxied.stderr)\n\(daemon.daemonLog)")
        #expect(try daemon.client(["rm", "-f", id]).status == 0)
        #expect(try NetworkTests.rules(daemon) == before)
    }

    @Test("unfinished line logged at shutdown")
    func unfinishedLineLogged() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let id = try Self.runDetached(
            daemon, ["busybox", "sh", "-c", "printf 'half '; sleep 2; echo rest; sleep 60"])
        Thread.sleep(forTimeInterval: 0.5)
        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
        let log = try String(contentsOfFile: "\(daemon.root)/containers/\(id)/\(id)-json.log", encoding: .utf8)
        #expect(log.contains(#""log":"half ""#), "\(log)")

        try daemon.start(extraArguments: ["--live-restore"])
        let completed = try DaemonHarness.eventually {
            try daemon.client(["logs", id]).stdout == "half rest\n"
        }
        #expect(completed, "\(daemon.daemonLog)")
        #expect(try daemon.client(["rm", "-f", id]).status == 0)
    }

    @Test("link rules kept across restart")
    func linkRulesKept() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let flags = ["--live-restore", "--icc=false"]
        try daemon.start(extraArguments: flags)
        try daemon.importBusybox()
        let target = try daemon.client(
            ["run", "-d", "--name", "target", "--expose", "80", "busybox"] + NetworkTests.tcpServer(80))
        try #require(target.status == 0, "\(target.stderr)")
        // Several linking containers: some IDs sort before the target's, so some are loaded
        // before the container they link to.
        for index in 0..<4 {
            let linker = try daemon.client(
                ["run", "-d", "--name", "linker\(index)", "--link", "target:one", "busybox", "sleep", "60"])
            try #require(linker.status == 0, "\(linker.stderr)")
        }
        let rules = try NetworkTests.rules(daemon)

        daemon.killDaemon()
        try daemon.start(extraArguments: flags)
        #expect(try NetworkTests.rules(daemon) == rules, "\(daemon.daemonLog)")
        let reply = try daemon.client(["exec", "linker0", "sh", "-c", "nc one 80 </dev/null"])
        #expect(reply.stdout.contains("pong"), "\(reply.stderr)")
        let removed = try daemon.client(["rm", "-f", "target", "linker0", "linker1", "linker2", "linker3"])
        #expect(removed.status == 0, "\(removed.stderr)")
    }

    @Test("client on monitor socket harmless")
    func monitorClientHarmless() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let id = try Self.runDetached(daemon, ["busybox", "sleep", "60"])
        // Connect, send part of a message, and hang up, as a stray client might.
        // Through the directory's descriptor: the full path is longer than sun_path.
        let directory = "\(daemon.root)/containers/\(id)"
        let script = """
            import os, socket, sys, time
            d = os.open(sys.argv[1], os.O_PATH)
            s = socket.socket(socket.AF_UNIX)
            s.connect(f"/proc/self/fd/{d}/monitor.sock")
            s.send(b"xyz")
            time.sleep(0.2)
            s.close()
            """
        let poked = try DaemonHarness.capture("/usr/bin/python3", ["-c", script, directory])
        #expect(poked.status == 0, "\(poked.stderr)")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try Self.inspect(daemon, id, "{{.State.Status}}") == "running", "\(daemon.daemonLog)")
        #expect(try daemon.client(["rm", "-f", id]).status == 0)
    }

    @Test("fast output kept across restart")
    func fastOutputKept() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["--live-restore"])
        try daemon.importBusybox()
        let count = 200_000
        let id = try Self.runDetached(daemon, ["busybox", "sh", "-c", "seq 1 \(count); sleep 60"])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
        try daemon.start(extraArguments: ["--live-restore"])

        let complete = try DaemonHarness.eventually(30) {
            try daemon.client(["logs", "--tail", "1", id]).stdout == "\(count)\n"
        }
        #expect(complete, "\(daemon.daemonLog)")
        let lines = try daemon.client(["logs", id]).stdout.split(separator: "\n")
        #expect(lines.count == count)
        #expect(lines.enumerated().allSatisfy { Int($0.element) == $0.offset + 1 })
        #expect(try daemon.client(["rm", "-f", id]).status == 0)
    }
}

extension ISO8601DateFormatter {
    /// A formatter for the RFC 3339 times with fractional seconds that inspect shows.
    static var withFraction: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
