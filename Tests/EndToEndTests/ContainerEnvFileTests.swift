import Foundation
import Testing

/// `run --env-file` and `create --env-file` through the client.
@Suite(
    "env files", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct ContainerEnvFileTests {
    @Test("env file sets the environment")
    func envFile() throws {
        try DaemonHarness.withDaemon { daemon in
            let first = "\(daemon.work)/first.env"
            let second = "\(daemon.work)/second.env"
            try "# settings\n\nA=from file\n  B=b=c\nPASSED\nUNSET_IN_CLIENT\nC=first\n".write(
                toFile: first, atomically: true, encoding: .utf8)
            try "C=second\r\nD=\n".write(toFile: second, atomically: true, encoding: .utf8)
            let command = "echo \"A=$A\"; echo \"B=$B\"; echo \"P=$PASSED\"; echo \"C=$C\"; echo \"D=${D-unset}\"; "
                + "echo \"E=$E\"; env | grep -c '^UNSET_IN_CLIENT' || true"
            let client = try DaemonHarness.capture(
                "/usr/bin/env",
                ["PASSED=client value", DaemonHarness.binary, "-H", "unix://\(daemon.socket)", "run", "--rm",
                 "--env-file", first, "--env-file", second, "-e", "E=flag", "busybox", "sh", "-c", command])
            #expect(client.status == 0, "\(client.stderr)")
            #expect(client.stdout == "A=from file\nB=b=c\nP=client value\nC=second\nD=\nE=flag\n0\n")

            // create takes the flag too, and -e overrides the file.
            let created = try daemon.client(["create", "--name", "envcreate", "--env-file", second, "-e", "C=flag", "busybox", "true"])
            defer { _ = try? daemon.client(["rm", "-f", "envcreate"]) }
            #expect(created.status == 0, "\(created.stderr)")
            let env = try daemon.client(["inspect", "--format", "{{json .Config.Env}}", "envcreate"])
            #expect(env.stdout.contains("\"C=flag\""), "\(env.stdout)")
            #expect(env.stdout.contains("\"D=\""), "\(env.stdout)")
            #expect(!env.stdout.contains("\"C=second\""), "\(env.stdout)")
        }
    }

    @Test("missing env file exits 125")
    func missingFile() throws {
        try DaemonHarness.withDaemon { daemon in
            let missing = "\(daemon.work)/missing.env"
            let run = try daemon.client(["run", "--rm", "--env-file", missing, "busybox", "true"])
            #expect(run.status == 125)
            #expect(run.stderr == "swiftd: open \(missing): no such file or directory\n")
            let bad = "\(daemon.work)/bad.env"
            try "GOOD=1\nBAD KEY=2\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let create = try daemon.client(["create", "--env-file", bad, "busybox", "true"])
            #expect(create.status == 125)
            #expect(create.stderr == "swiftd: poorly formatted environment: variable 'BAD KEY' contains whitespaces\n")
            // Nothing was created.
            #expect(try daemon.client(["ps", "-aq"]).stdout == "")
        }
    }
}
