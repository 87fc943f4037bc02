import Foundation
import Testing

/// The daemon's start-up and exit paths: flags, the pidfile and root lock, signals and events.
@Suite("daemon life cycle", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct DaemonLifecycleTests {
    /// Runs the daemon binary to completion with `arguments` and a timeout.
    func runDaemon(_ harness: DaemonHarness, _ arguments: [String]) throws -> CommandResult {
        try DaemonHarness.capture("/usr/bin/timeout", ["20", DaemonHarness.binary, "-d",
            "-H", "unix://\(harness.socket)", "-g", harness.root, "-p", harness.pidfile,
            "--exec-root", "\(harness.work)/run"] + arguments)
    }

    @Test("bad flag values exit 1 with one line and leave nothing", arguments: [
        (["--bip", "nonsense"], "--bip nonsense"),
        (["-H", "ftp://127.0.0.1:1"], "-H ftp://127.0.0.1:1"),
        (["-s", "zfs"], "--storage-driver zfs"),
        (["--tls", "--tlscert", "/nonexistent/c.pem", "--tlskey", "/nonexistent/k.pem"], "/nonexistent/c.pem"),
        (["-e", "lxc"], "--exec-driver lxc"),
        (["--registry-mirror", "notaurl"], "--registry-mirror notaurl"),
        (["--insecure-registry", "http://x y"], "--insecure-registry http://x y"),
    ])
    func badValues(_ arguments: [String], _ named: String) throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let result = try runDaemon(harness, ["-b", harness.bridge] + arguments)
        #expect(result.status == 1)
        #expect(result.stderr.contains(named), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: harness.socket))
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!links.contains(harness.bridge))
    }

    @Test("a stray argument prints the usage and exits 64")
    func strayArgument() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let result = try runDaemon(harness, ["stray"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unexpected argument: stray"))
        #expect(result.stderr.contains("Usage: swiftd -d"))
        let help = try DaemonHarness.capture(DaemonHarness.binary, ["-d", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--fixed-cidr"))
    }

    @Test("a --bip that disagrees with the bridge's address stops start-up naming both")
    func bipMismatch() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        _ = try DaemonHarness.capture("/usr/sbin/ip", ["link", "add", harness.bridge, "type", "bridge"])
        _ = try DaemonHarness.capture("/usr/sbin/ip", ["addr", "add", "\(harness.gateway)/24", "dev", harness.bridge])
        let other = harness.subnetPrefix.replacingOccurrences(of: "10.231.", with: "10.232.") + ".1/24"
        let result = try runDaemon(harness, ["-b", harness.bridge, "--bip", other])
        #expect(result.status == 1)
        #expect(result.stderr.contains(other), "\(result.stderr)")
        #expect(result.stderr.contains("\(harness.gateway)/24"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: harness.socket))
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
    }

    @Test("failed restore removes bridge and rules")
    func failedRestore() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        try harness.importBusybox()
        let created = try harness.client(["create", "busybox", "true"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(harness.stop() == 0)

        // A record of a running container that cannot be rewritten fails the restore, which
        // runs after the bridge is set up.
        let directory = "\(harness.root)/containers/\(id)"
        let path = "\(directory)/config.v2.json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var record = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var state = try #require(record["state"] as? [String: Any])
        state["Running"] = true
        record["state"] = state
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: path))
        #expect(try DaemonHarness.capture("/usr/bin/mount", ["--bind", directory, directory]).status == 0)
        #expect(try DaemonHarness.capture("/usr/bin/mount", ["-o", "remount,bind,ro", directory]).status == 0)

        let result = try runDaemon(harness, ["-b", harness.bridge, "--bip", "\(harness.gateway)/24"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("starting the daemon failed"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: harness.socket))
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!links.contains(harness.bridge), "\(result.stderr)")
        let rules = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        #expect(!rules.contains(harness.bridge))
    }

    @Test("user-made bridge outlives the daemon")
    func userBridgeKept() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        _ = try DaemonHarness.capture("/usr/sbin/ip", ["link", "add", harness.bridge, "type", "bridge"])
        _ = try DaemonHarness.capture("/usr/sbin/ip", ["addr", "add", "\(harness.gateway)/24", "dev", harness.bridge])
        try harness.start()
        #expect(harness.stop() == 0)
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(links.contains(harness.bridge))
        let rules = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        #expect(!rules.contains(harness.bridge))
    }

    @Test("a second daemon on the same root is refused even with another pidfile")
    func rootLock() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        let second = try DaemonHarness.capture("/usr/bin/timeout", ["20", DaemonHarness.binary, "-d",
            "-H", "unix://\(harness.work)/second.sock", "-g", harness.root, "-p", "\(harness.work)/second.pid",
            "-b", "none"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("already using the data root \(harness.root)"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(harness.work)/second.pid"))
        #expect(harness.stop() == 0)
    }

    @Test("SIGQUIT exits 131 without cleanup, and the next start cleans up")
    func sigquit() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        let cgroup = try #require(harness.cgroupName)
        let made = try DaemonHarness.capture("/usr/bin/find", ["/sys/fs/cgroup", "-maxdepth", "5", "-name", cgroup]).stdout
        #expect(!made.isEmpty, "no \(cgroup) cgroup after the start")
        let pid = try #require(harness.process?.processIdentifier)
        kill(pid, SIGQUIT)
        harness.process?.waitUntilExit()
        #expect(harness.process?.terminationStatus == 131)
        #expect(FileManager.default.fileExists(atPath: harness.pidfile))

        // The stale pidfile names a dead process: a new daemon takes over and cleans up.
        try harness.start()
        #expect(harness.stop() == 0)
        let stale = try DaemonHarness.capture("/usr/bin/find", ["/sys/fs/cgroup", "-maxdepth", "5", "-name", cgroup]).stdout
        #expect(stale.isEmpty, "\(stale)")
        let rules = try DaemonHarness.capture("/usr/sbin/iptables-legacy-save", []).stdout
        #expect(!rules.contains(harness.bridge))
        #expect(!FileManager.default.fileExists(atPath: harness.pidfile))
        // The bridge that the killed daemon created is adopted and deleted at the clean stop.
        let links = try DaemonHarness.capture("/usr/sbin/ip", ["-o", "link"]).stdout
        #expect(!links.contains(harness.bridge), "\(harness.daemonLog)")
    }

    @Test("SIGTERM grace for running jobs")
    func shutdownGrace() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        // An events stream is a job that runs until the client goes away.
        let events = try harness.followEvents()
        defer { if events.isRunning { events.terminate() } }
        let start = Date()
        let status = harness.stop()
        let elapsed = Date().timeIntervalSince(start)
        #expect(status == 0)
        #expect(elapsed >= 4.5, "shutdown took \(elapsed) s")
        #expect(elapsed < 20, "shutdown took \(elapsed) s")
    }

    @Test("events report a container's life with filters")
    func events() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        try harness.importBusybox()
        let run = try harness.client(["run", "--rm", "--name", "evented", "busybox", "true"])
        #expect(run.status == 0)
        let until = String(Date().timeIntervalSince1970 + 1)
        let all = try harness.client(["events", "--since", "0", "--until", until, "--filter", "container=evented"])
        #expect(all.status == 0, "\(all.stderr)")
        let actions = all.stdout.split(separator: "\n").map { $0.split(separator: " ")[2] }
        #expect(actions == ["create", "start", "die", "destroy"], "\(all.stdout)")
        #expect(all.stdout.contains("name=evented"))
        #expect(all.stdout.contains("exitCode=0"))

        let starts = try harness.client(["events", "--since", "0", "--until", until, "--filter", "event=start", "--filter", "type=container"])
        #expect(starts.stdout.split(separator: "\n").count == 1)
        let images = try harness.client(["events", "--since", "0", "--until", until, "--filter", "type=image"])
        #expect(images.stdout.contains("image import"))
        let json = try harness.client(["events", "--since", "0", "--until", until, "--format", "json", "--filter", "event=die"])
        #expect(json.stdout.contains("\"Action\":\"die\""))
        let fields = try harness.client([
            "events", "--since", "0", "--until", until, "--filter", "event=die", "--format", "{{.Status}} {{.Type}} {{.Time}}",
        ])
        let printed = fields.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        #expect(printed.count == 3, "\(fields.stdout)")
        #expect(printed.first == "die", "\(fields.stdout)")
        #expect(printed.last.flatMap { Int($0) } != nil, "\(fields.stdout)")

        // A local time without a zone and a duration, as the docker CLI takes them.
        var now = time(nil) - 3600
        var parts = tm()
        localtime_r(&now, &parts)
        let hourAgo = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
        for since in [hourAgo, "1h"] {
            let recent = try harness.client(["events", "--since", since, "--until", until, "--filter", "event=destroy"])
            #expect(recent.status == 0, "\(recent.stderr)")
            #expect(recent.stdout.split(separator: "\n").count == 1, "\(since): \(recent.stdout)")
        }
        #expect(harness.stop() == 0)
    }
}

/// Signals and headers that need a running daemon but no containers.
@Suite("daemon signals and headers", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct DaemonSignalTests {
    @Test("a third SIGTERM exits at once")
    func thirdSignal() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start()
        // An events stream keeps shutdown in its 5 s grace period.
        let events = try harness.followEvents()
        defer { if events.isRunning { events.terminate() } }
        let process = try #require(harness.process)
        for _ in 0..<2 {
            kill(process.processIdentifier, SIGTERM)
            Thread.sleep(forTimeInterval: 0.1)
        }
        let third = Date()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let elapsed = Date().timeIntervalSince(third)
        #expect(elapsed < 2, "the third SIGTERM took \(elapsed) s to end the daemon")
        #expect(process.terminationStatus == 128 + SIGTERM)
        // The next start cleans up what the hurried exit left, its cgroups included.
        let cgroup = try #require(harness.cgroupName)
        try harness.start()
        #expect(harness.stop() == 0)
        let cgroups = try DaemonHarness.capture("/usr/bin/find", ["/sys/fs/cgroup", "-maxdepth", "5", "-name", cgroup]).stdout
        #expect(cgroups.isEmpty, "\(cgroups)")
    }

    @Test("SIGQUIT with TLS exits at once")
    func sigquitTLS() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let certificates = try TLSTests.Certificates(in: harness.work)
        let port = TLSTests().freePort()
        try harness.start(extraArguments: [
            "-H", "tcp://127.0.0.1:\(port)", "--tls", "--tlscert", certificates.serverCert,
            "--tlskey", certificates.serverKey,
        ])
        let process = try #require(harness.process)
        let start = Date()
        kill(process.processIdentifier, SIGQUIT)
        process.waitUntilExit()
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 2, "SIGQUIT took \(elapsed) s to end the daemon")
        #expect(process.terminationStatus == 131)
        // A normal start and stop removes the rules that the hurried exit left.
        try harness.start()
        #expect(harness.stop() == 0)
    }

    @Test("socket mode and group fallback")
    func socketMode() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start(extraArguments: ["-G", "nosuchgroup-\(UInt16.random(in: 0...9999))"])
        let attributes = try FileManager.default.attributesOfItem(atPath: harness.socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)
        #expect(harness.daemonLog.contains("socket group not found"))
        #expect(harness.stop() == 0)
    }

    @Test("SIGQUIT with DEBUG logs the running jobs")
    func sigquitDebug() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start(environment: ["DEBUG": "1"])
        let events = try harness.followEvents()
        defer { if events.isRunning { events.terminate() } }
        let process = try #require(harness.process)
        kill(process.processIdentifier, SIGQUIT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 131)
        #expect(harness.daemonLog.contains("running jobs at SIGQUIT"))
        #expect(harness.daemonLog.contains("events"))
        // A normal start and stop cleans up after the hurried exit.
        try harness.start()
        #expect(harness.stop() == 0)
    }

    @Test("ping headers, CORS and early requests")
    func headers() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start(extraArguments: ["--api-enable-cors"])
        let head = try DaemonHarness.capture("/usr/bin/curl", ["-sI", "--unix-socket", harness.socket, "http://x/_ping"])
        #expect(head.stdout.contains("Api-Version: 1.45"))
        #expect(head.stdout.contains("Ostype: linux"))
        #expect(head.stdout.contains("Builder-Version:"))
        #expect(head.stdout.contains("Cache-Control: no-cache, no-store, must-revalidate"))
        #expect(head.stdout.contains("Access-Control-Allow-Origin: *"))
        let preflight = try DaemonHarness.capture("/usr/bin/curl", ["-si", "-X", "OPTIONS", "--unix-socket", harness.socket, "http://x/v1.45/containers/json"])
        #expect(preflight.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(preflight.stdout.contains("Access-Control-Allow-Methods:"))
        #expect(harness.stop() == 0)
    }
}

/// Endpoints that answer as a dockerd without swarm, volumes or plugins does.
@Suite("system endpoints", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct SystemEndpointTests {
    @Test("system df, swarm, volumes and plugins")
    func endpoints() throws {
        try DaemonHarness.withDaemon { daemon in
            func get(_ path: String) throws -> String {
                try DaemonHarness.capture("/usr/bin/curl", ["-s", "-w", " %{http_code}", "--unix-socket", daemon.socket, "http://x/v1.45\(path)"]).stdout
            }
            let df = try get("/system/df")
            #expect(df.hasSuffix(" 200"))
            #expect(df.contains("\"LayersSize\""))
            #expect(df.contains("busybox:latest"))
            let swarm = try get("/swarm")
            #expect(swarm.hasSuffix(" 503"))
            #expect(swarm.contains("This node is not a swarm manager"))
            #expect(try get("/volumes") == #"{"Volumes":[],"Warnings":[]} 200"#)
            #expect(try get("/plugins") == "[] 200")
        }
    }

    @Test("version and info fields")
    func versionAndInfo() throws {
        try DaemonHarness.withDaemon { daemon in
            func get(_ path: String) throws -> [String: Any] {
                let body = try DaemonHarness.capture(
                    "/usr/bin/curl", ["-s", "--unix-socket", daemon.socket, "http://x/v1.45\(path)"]
                ).stdout
                return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            }
            let version = try get("/version")
            #expect(version["Experimental"] as? Bool == false)
            #expect((version["GoVersion"] as? String)?.hasPrefix("swift") == true)
            // make sets the build time from the commit's date; a plain swift build has none.
            let buildTime = ProcessInfo.processInfo.environment["SWIFTD_BUILD_TIME"] ?? ""
            if !buildTime.isEmpty { #expect(version["BuildTime"] as? String == buildTime) }

            let info = try get("/info")
            let id = try #require(info["ID"] as? String)
            #expect(id.count == 36, "\(id)")
            #expect(try get("/info")["ID"] as? String == id)
            let swarm = info["Swarm"] as? [String: Any]
            #expect(swarm?["LocalNodeState"] as? String == "inactive")
            #expect((info["SecurityOptions"] as? [String])?.contains("name=seccomp,profile=builtin") == true)
            let registry = info["RegistryConfig"] as? [String: Any]
            #expect((registry?["InsecureRegistryCIDRs"] as? [String])?.contains("127.0.0.0/8") == true)
            let indexes = registry?["IndexConfigs"] as? [String: Any]
            #expect(indexes?["docker.io"] != nil)
            let plugins = info["Plugins"] as? [String: Any]
            #expect(plugins?["Log"] as? [String] == ["json-file"])
        }
    }

    @Test("swarm and plugin changes answer as dockerd")
    func swarmAndPluginChanges() throws {
        try DaemonHarness.withDaemon { daemon in
            func call(_ method: String, _ path: String) throws -> String {
                try DaemonHarness.capture(
                    "/usr/bin/curl",
                    [
                        "-s", "-X", method, "-w", " %{http_code}", "--unix-socket", daemon.socket,
                        "http://x/v1.45\(path)",
                    ]
                ).stdout
            }
            for path in ["/services", "/nodes", "/tasks", "/secrets", "/configs"] {
                let answer = try call("GET", path)
                #expect(answer.hasSuffix(" 503"), "\(path): \(answer)")
                #expect(answer.contains("This node is not a swarm manager"), "\(path)")
            }
            let initialize = try call("POST", "/swarm/init")
            #expect(initialize.hasSuffix(" 501"), "\(initialize)")
            #expect(initialize.contains("swarm mode is not supported"))
            let leave = try call("POST", "/swarm/leave")
            #expect(leave.hasSuffix(" 503"), "\(leave)")
            #expect(leave.contains("This node is not part of a swarm"))
            let plugin = try call("POST", "/plugins/pull?remote=x")
            #expect(plugin.hasSuffix(" 501"), "\(plugin)")
            #expect(plugin.contains("plugins are not supported"))
            #expect(try call("GET", "/no/such/path") == "{\"message\":\"page not found\"}\n 404")
            let websocket = try call("GET", "/containers/none/attach/ws")
            #expect(websocket.hasSuffix(" 501"), "\(websocket)")
            let build = try call("POST", "/build")
            #expect(build.hasSuffix(" 501"), "\(build)")
            #expect(build.contains("image builds are not supported"))
        }
    }

    @Test("the endpoint table matches the routes")
    func endpointTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
        let check = try DaemonHarness.capture(
            "/usr/bin/python3", ["\(root)/scripts/api-status.py", "--check"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
