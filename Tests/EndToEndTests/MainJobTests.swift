import Foundation
import Testing

/// The main job through the real daemon and client: import, run on the bridge, and clean-up.
@Suite("main job", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups, mounts and bridges"))
struct MainJobTests {
    func withDaemon(_ body: (DaemonHarness) throws -> Void) throws {
        try DaemonHarness.withDaemon(body)
    }

    @Test("run prints output and exits with the command's code")
    func outputAndExitCodes() throws {
        try withDaemon { daemon in
            let hello = try daemon.client(["run", "--rm", "busybox", "echo", "hello world"])
            #expect(hello.status == 0, "\(hello.stderr)")
            #expect(hello.stdout == "hello world\n")

            let failing = try daemon.client(["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(failing.status == 3)
            #expect(failing.stdout == "out\n")
            #expect(failing.stderr == "err\n")

            let environment = try daemon.client(["run", "--rm", "-e", "GREETING=bonjour", "busybox", "sh", "-c", "echo $GREETING"])
            #expect(environment.stdout == "bonjour\n")
        }
    }

    @Test("container hostname, PID 1 and eth0")
    func isolationAndNetwork() throws {
        try withDaemon { daemon in
            let result = try daemon.client([
                "run", "--rm", "busybox", "sh", "-c",
                "hostname; echo pid=$$; ip -4 -o addr show eth0; ip route; ping -c 1 -W 3 \(daemon.gateway)",
            ])
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\n\(daemon.daemonLog)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.count == 12, "hostname is the short container ID: \(lines)")
            #expect(lines.contains("pid=1"))
            #expect(result.stdout.contains("inet \(daemon.subnetPrefix)."))
            #expect(result.stdout.contains("default via \(daemon.gateway)"))
            #expect(result.stdout.contains("1 packets received"))
        }
    }

    @Test("two containers reach each other on the bridge")
    func containersReachEachOther() throws {
        try withDaemon { daemon in
            let server = try daemon.client(["run", "-d", "--name", "target", "busybox", "sleep", "60"])
            #expect(server.status == 0, "\(server.stderr)")
            let inspect = try daemon.client(["inspect", "target"])
            let address = try #require(
                inspect.stdout.split(separator: "\"").first { $0.hasPrefix(daemon.subnetPrefix + ".") && $0 != daemon.gateway })
            let ping = try daemon.client(["run", "--rm", "busybox", "ping", "-c", "1", "-W", "3", String(address)])
            #expect(ping.status == 0, "\(ping.stdout)\(ping.stderr)")
            #expect(ping.stdout.contains("1 packets received"))
            let removed = try daemon.client(["rm", "-f", "target"])
            #expect(removed.status == 0)

            // rm -f of a running container leaves no mount, veth or cgroup of it. The veth goes
            // with the container's network namespace, which the kernel destroys a little later.
            #expect(daemon.mountPoints(under: daemon.root).isEmpty)
            #expect(try DaemonHarness.eventually(5) {
                try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", "master", daemon.bridge]).stdout.isEmpty
            })
            let cgroup = try #require(daemon.cgroupName)
            let containerCgroups = try DaemonHarness.capture("/usr/bin/find", ["/sys/fs/cgroup/memory", "-path", "*\(cgroup)/*", "-type", "d"]).stdout
            #expect(containerCgroups.isEmpty)
        }
    }

    @Test("a process over the memory limit is killed with exit 137")
    func memoryLimit() throws {
        try withDaemon { daemon in
            // busybox tail keeps the whole last line in memory, and /dev/zero has no newline.
            let result = try daemon.client(["run", "--name", "hog", "-m", "16m", "busybox", "sh", "-c", "head -c 200000000 /dev/zero | tail"])
            #expect(result.status == 137, "\(result.stderr)")
            let inspect = try daemon.client(["inspect", "hog"])
            #expect(inspect.stdout.contains("\"OOMKilled\": true"), "\(inspect.stdout)")
            let small = try daemon.client(["run", "--rm", "-m", "1m", "busybox", "true"])
            #expect(small.status == 125)
            #expect(small.stderr.contains("Minimum memory limit allowed is 6MB"))
        }
    }

    @Test("ps, logs, stop and rm manage a detached container")
    func lifeCycle() throws {
        try withDaemon { daemon in
            let started = try daemon.client(["run", "-d", "--name", "ticker", "busybox", "sh", "-c", "echo started; exec sleep 60"])
            #expect(started.status == 0)
            let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.count == 64)

            let ps = try daemon.client(["ps"])
            #expect(ps.stdout.contains("ticker"))
            #expect(ps.stdout.contains(String(id.prefix(12))))
            #expect(ps.stdout.contains("Up "))

            var logs = try daemon.client(["logs", "ticker"])
            for _ in 0..<50 where logs.stdout.isEmpty {
                Thread.sleep(forTimeInterval: 0.05)
                logs = try daemon.client(["logs", "ticker"])
            }
            #expect(logs.stdout == "started\n")

            let stop = try daemon.client(["stop", "-t", "1", "ticker"])
            #expect(stop.status == 0)
            #expect(stop.stdout == "ticker\n")
            let all = try daemon.client(["ps", "-a"])
            #expect(all.stdout.contains("Exited (137)"))
            let running = try daemon.client(["ps", "-q"])
            #expect(running.stdout.isEmpty)

            let conflict = try daemon.client(["run", "-d", "--name", "ticker", "busybox", "true"])
            #expect(conflict.status == 125)
            #expect(conflict.stderr.contains("is already in use"))

            let removed = try daemon.client(["rm", "ticker"])
            #expect(removed.status == 0)
            let none = try daemon.client(["ps", "-aq"])
            #expect(none.stdout.isEmpty)
            let missing = try daemon.client(["rm", "ticker"])
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("No such container: ticker"))
        }
    }

    @Test("a missing command exits 127 and a file that is not executable 126")
    func commandErrors() throws {
        try withDaemon { daemon in
            let missing = try daemon.client(["run", "--rm", "busybox", "nosuchcommand"])
            #expect(missing.status == 127)
            #expect(missing.stderr.contains("executable file not found"))
            let notExecutable = try daemon.client(["run", "--rm", "busybox", "/etc/passwd"])
            #expect(notExecutable.status == 126)
            #expect(notExecutable.stderr.contains("permission denied"))
        }
    }

    @Test("an unknown image is a 404 and exit 125")
    func unknownImage() throws {
        try withDaemon { daemon in
            let result = try daemon.client(["run", "--rm", "127.0.0.1:9/no/such:image", "true"])
            #expect(result.status == 125)
            #expect(result.stderr.contains("No such image: 127.0.0.1:9/no/such:image"))
        }
    }

    @Test("images and a broken import")
    func importAndImages() throws {
        try withDaemon { daemon in
            let images = try daemon.client(["images"])
            #expect(images.status == 0)
            #expect(images.stdout.contains("busybox"))
            #expect(images.stdout.contains("latest"))

            let broken = "\(daemon.work)/broken.tar"
            let tar = try Data(contentsOf: URL(fileURLWithPath: "\(daemon.work)/busybox.tar"))
            try tar.prefix(70_000).write(to: URL(fileURLWithPath: broken))
            let result = try daemon.client(["import", broken, "broken"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("Error response from daemon"))
            let after = try daemon.client(["images", "-q"])
            #expect(after.stdout.split(separator: "\n").count == 1)
            let tmp = (try? FileManager.default.contentsOfDirectory(atPath: "\(daemon.root)/tmp")) ?? []
            #expect(tmp.isEmpty)
        }
    }

    @Test("nothing of swiftd is left on the host after the daemon stops")
    func leavesNothingBehind() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        try harness.importBusybox()
        let detached = try harness.client(["run", "-d", "busybox", "sleep", "60"])
        #expect(detached.status == 0)
        let exited = try harness.client(["run", "busybox", "true"])
        #expect(exited.status == 0)
        // The container's host-side veth: tests running at the same time add and remove links
        // of their own, so only this daemon's links are checked.
        let ours = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link", "show", "master", harness.bridge])
            .stdout.split(separator: "\n").compactMap { line in
                line.split(separator: ":").dropFirst().first.map {
                    String($0.trimmingCharacters(in: .whitespaces).split(separator: "@")[0])
                }
            }
        #expect(!ours.isEmpty, "no veth on \(harness.bridge)")
        #expect(harness.stop() == 0, "daemon log:\n\(harness.daemonLog)")

        #expect(harness.mountPoints(under: harness.work).isEmpty)
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!links.contains(harness.bridge))
        let left = try Self.linkNames().intersection(ours + [harness.bridge])
        #expect(left.isEmpty, "links left: \(left)")
        // Every rule of the daemon names its bridge; another test's daemon may use the subnet.
        let rules = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        #expect(!rules.contains(harness.bridge))
        let cgroup = try #require(harness.cgroupName)
        for controller in ["memory", "pids", "cpu"] {
            let cgroups = try DaemonHarness.capture("/usr/bin/find", ["/sys/fs/cgroup/\(controller)", "-maxdepth", "4", "-name", cgroup]).stdout
            #expect(cgroups.isEmpty, "left in \(controller): \(cgroups)")
        }
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
        #expect(!FileManager.default.fileExists(atPath: harness.socket))
    }

    /// The names of the host's network links.
    static func linkNames() throws -> Set<String> {
        let output = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        return Set(output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":")
            return fields.count > 1 ? String(fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@")[0]) : nil
        })
    }

    @Test("a second daemon on the same pidfile is refused, naming the running pid")
    func pidfileGuard() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        let pid = try String(contentsOfFile: harness.pidfile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let second = try DaemonHarness.capture(DaemonHarness.binary, [
            "-d", "-H", "unix://\(harness.work)/second.sock", "-g", "\(harness.work)/second", "-p", harness.pidfile,
            "-b", "none",
        ])
        #expect(second.status == 1)
        #expect(second.stderr.contains("process \(pid) is running"), "\(second.stderr)")
        #expect(harness.stop() == 0)
    }

    @Test("the client without a daemon prints one line and exits 1")
    func noDaemon() throws {
        let result = try DaemonHarness.capture(DaemonHarness.binary, ["-H", "unix:///tmp/swiftd-no-such-\(UInt32.random(in: 0...UInt32.max)).sock", "ps"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("cannot connect to swiftd at unix:///tmp/swiftd-no-such-"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("ping, unknown paths and old versions")
    func rawAPI() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        let ping = try DaemonHarness.capture("/usr/bin/curl", ["-si", "--unix-socket", harness.socket, "http://x/_ping"])
        #expect(ping.stdout.contains("Api-Version: 1.45"))
        #expect(ping.stdout.contains("Cache-Control: no-cache, no-store, must-revalidate"))
        #expect(ping.stdout.hasSuffix("OK"))
        let head = try DaemonHarness.capture("/usr/bin/curl", ["-sI", "--unix-socket", harness.socket, "http://x/v1.45/_ping"])
        #expect(head.stdout.hasPrefix("HTTP/1.1 200"))
        let oldPing = try DaemonHarness.capture("/usr/bin/curl", ["-s", "-w", " %{http_code}", "--unix-socket", harness.socket, "http://x/v1.12/_ping"])
        #expect(oldPing.stdout.hasSuffix(" 400"))
        let postPing = try DaemonHarness.capture("/usr/bin/curl", ["-s", "-X", "POST", "-w", " %{http_code}", "--unix-socket", harness.socket, "http://x/_ping"])
        #expect(postPing.stdout.hasSuffix(" 405"))
        let missing = try DaemonHarness.capture("/usr/bin/curl", ["-s", "-w", " %{http_code}", "--unix-socket", harness.socket, "http://x/v1.45/nope"])
        #expect(missing.stdout == "{\"message\":\"page not found\"}\n 404")
        let old = try DaemonHarness.capture("/usr/bin/curl", ["-s", "-w", " %{http_code}", "--unix-socket", harness.socket, "http://x/v1.12/version"])
        #expect(old.stdout.hasSuffix(" 400"))
        #expect(old.stdout.contains("Minimum supported API version is 1.24"))
        #expect(harness.stop() == 0)
    }
}
