import Foundation
import Testing

/// Restart policies: back-off restarts, their limit, `docker stop`, and a daemon restart.
@Suite(
    "container restart policies", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerRestartTests {
    /// Polls the container's inspect document until `done` holds (at most `seconds`).
    func waitFor(
        _ daemon: DaemonHarness, _ id: String, seconds: Double = 15,
        _ done: (ContainerJSON) -> Bool
    ) throws -> ContainerJSON {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try ContainerJSON(daemon, id)
        while !done(last) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            last = try ContainerJSON(daemon, id)
        }
        return last
    }

    @Test("on-failure:2 restarts twice, then stays exited")
    func onFailureLimit() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client([
                "run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let done = try waitFor(daemon, id) { $0.restartCount == 2 && $0.status == "exited" }
            #expect(done.restartCount == 2, "\(done.document)")
            #expect(done.status == "exited")
            #expect(done.state["ExitCode"] as? Int == 3)
            Thread.sleep(forTimeInterval: 1)
            #expect(try ContainerJSON(daemon, id).restartCount == 2)

            let success = try daemon.client([
                "run", "-d", "--restart", "on-failure", "busybox", "true",
            ])
            let succeeded = success.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let exited = try waitFor(daemon, succeeded) { $0.status == "exited" }
            Thread.sleep(forTimeInterval: 0.5)
            #expect(exited.restartCount == 0)
            #expect(try ContainerJSON(daemon, succeeded).restartCount == 0)
        }
    }

    @Test("invalid policies are rejected")
    func invalidPolicies() throws {
        try DaemonHarness.withDaemon { daemon in
            let unknown = try daemon.client(["create", "--restart", "sometimes", "busybox"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("invalid restart policy"))
            let withRemove = try daemon.client(["create", "--rm", "--restart", "always", "busybox"])
            #expect(withRemove.status != 0)
            #expect(withRemove.stderr.contains("--restart and --rm"))
        }
    }

    @Test("always restarts after an exit; stop ends it; a daemon restart applies it")
    func alwaysAndStop() throws {
        try DaemonHarness.withDaemon { daemon in
            let run = try daemon.client([
                "run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2",
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let restarted = try waitFor(daemon, id) { $0.restartCount >= 2 }
            #expect(restarted.restartCount >= 2, "\(restarted.document)")

            #expect(try daemon.client(["stop", "-t", "1", id]).status == 0)
            let stopped = try waitFor(daemon, id, seconds: 2) { $0.status == "exited" }
            #expect(stopped.status == "exited", "\(stopped.document)")
            Thread.sleep(forTimeInterval: 1)
            #expect(try ContainerJSON(daemon, id).status == "exited")

            // A container the daemon stopped at its shutdown starts again with the daemon;
            // a container the user stopped does not.
            let long = try daemon.client(["run", "-d", "--restart", "always", "busybox", "sleep", "60"])
            let longID = long.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(daemon.stop() == 0)
            try daemon.start()
            let again = try waitFor(daemon, longID) { $0.status == "running" }
            #expect(again.status == "running", "\(again.document)\n\(daemon.daemonLog)")
            #expect(try ContainerJSON(daemon, id).status == "exited")
            _ = try daemon.client(["rm", "-f", longID])
        }
    }
}
