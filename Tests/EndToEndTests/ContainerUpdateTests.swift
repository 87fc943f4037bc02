import Foundation
import Testing

/// `POST /containers/{id}/update` and `swiftd update`: cgroup files of running containers,
/// the stored HostConfig, and the checks.
@Suite(
    "container update", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for namespaces, cgroups and mounts"))
struct ContainerUpdateTests {
    static let isV2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")

    /// Runs a client command and returns its trimmed stdout, expecting success.
    func output(_ daemon: DaemonHarness, _ arguments: [String]) throws -> String {
        let result = try daemon.client(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Finds the container's cgroup directory in a v1 controller, or in the v2 hierarchy, from
    /// the /proc/PID/cgroup of its init.
    func cgroup(_ daemon: DaemonHarness, _ container: String, _ controller: String) throws -> String {
        let pid = try output(daemon, ["inspect", "--format", "{{.State.Pid}}", container])
        let lines = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
            .split(separator: "\n")
        for line in lines {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if Self.isV2, fields[1].isEmpty { return "/sys/fs/cgroup\(fields[2])" }
            if fields[1].split(separator: ",").contains(Substring(controller)) {
                return "/sys/fs/cgroup/\(controller)\(fields[2])"
            }
        }
        throw HarnessError("no \(controller) cgroup for \(container) in /proc/\(pid)/cgroup")
    }

    func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func memoryLimit(_ daemon: DaemonHarness, _ container: String) throws -> String {
        let directory = try cgroup(daemon, container, "memory")
        return try read("\(directory)/\(Self.isV2 ? "memory.max" : "memory.limit_in_bytes")")
    }

    @Test("running container cgroups change")
    func runningContainer() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try output(daemon, ["run", "-d", "-m", "64m", "busybox", "sleep", "300"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let name = try output(daemon, ["inspect", "--format", "{{.Name}}", id])

            let updated = try daemon.client([
                "update", "-m", "96m", "--memory-reservation", "32m", "--cpus", "0.5",
                "--cpu-shares", "512", "--pids-limit", "50", String(id.prefix(12)),
            ])
            #expect(updated.status == 0, "\(updated.stderr)")
            #expect(updated.stdout == "\(id.prefix(12))\n")
            #expect(try memoryLimit(daemon, id) == "\(96 << 20)")
            let memory = try cgroup(daemon, id, "memory")
            let cpu = try cgroup(daemon, id, "cpu")
            let pids = try cgroup(daemon, id, "pids")
            #expect(try read("\(pids)/pids.max") == "50")
            if Self.isV2 {
                #expect(try read("\(cpu)/cpu.max") == "50000 100000")
                #expect(try read("\(memory)/memory.low") == "\(32 << 20)")
            } else {
                #expect(try read("\(cpu)/cpu.cfs_quota_us") == "50000")
                #expect(try read("\(cpu)/cpu.cfs_period_us") == "100000")
                #expect(try read("\(cpu)/cpu.shares") == "512")
                #expect(try read("\(memory)/memory.soft_limit_in_bytes") == "\(32 << 20)")
            }
            let stored = try output(daemon, [
                "inspect", "--format",
                "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}",
                id,
            ])
            #expect(stored == "\(96 << 20) 500000000 512 50")

            // Unlimited again: the stored value and pids.max.
            #expect(try daemon.client(["update", "--pids-limit", "-1", id]).status == 0)
            #expect(try read("\(pids)/pids.max") == "max")

            let until = String(Date().timeIntervalSince1970 + 1)
            let events = try output(daemon, [
                "events", "--since", "0", "--until", until, "--filter", "event=update",
            ])
            #expect(events.split(separator: "\n").count == 2, "\(events)")
            #expect(events.contains("name=\(name.dropFirst())"))
        }
    }

    @Test("memory below usage rejected")
    func memoryBelowUsage() throws {
        try DaemonHarness.withDaemon { daemon in
            // The tmpfs pages of /dev/shm count as the container's memory.
            let id = try output(daemon, [
                "run", "-d", "-m", "64m", "busybox", "sh", "-c",
                "head -c 20971520 /dev/zero > /dev/shm/fill; touch /tmp/filled; sleep 300",
            ])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let filled = Date().addingTimeInterval(10)
            while try daemon.client(["exec", id, "test", "-e", "/tmp/filled"]).status != 0,
                Date() < filled
            {
                Thread.sleep(forTimeInterval: 0.1)
            }

            let response = try RawAPI.request(
                daemon.socket, "POST", "/containers/\(id)/update", body: #"{"Memory": 8388608}"#)
            if Self.isV2 {
                // cgroup v2 reclaims or OOM-kills instead of rejecting the limit.
                return
            }
            #expect(response.hasPrefix("HTTP/1.1 400"), "\(response)")
            #expect(response.contains("current usage"), "\(response)")
            #expect(try memoryLimit(daemon, id) == "\(64 << 20)")
            let stored = try output(daemon, ["inspect", "--format", "{{.HostConfig.Memory}}", id])
            #expect(stored == "\(64 << 20)")
        }
    }

    @Test("restart policy change visible")
    func restartPolicy() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try output(daemon, ["run", "-d", "busybox", "sleep", "300"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            #expect(try daemon.client(["update", "--restart", "on-failure:3", id]).status == 0)
            let policy = try output(daemon, [
                "inspect", "--format",
                "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
                id,
            ])
            #expect(policy == "on-failure 3")

            // The new policy applies at the next exit.
            #expect(try daemon.client(["update", "--restart", "always", id]).status == 0)
            let pid = try output(daemon, ["inspect", "--format", "{{.State.Pid}}", id])
            kill(Int32(pid) ?? 0, SIGKILL)
            let deadline = Date().addingTimeInterval(10)
            var restarts = "0"
            while restarts == "0" && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.2)
                restarts = try output(daemon, ["inspect", "--format", "{{.RestartCount}}", id])
            }
            #expect(restarts != "0")
        }
    }

    @Test("stopped container keeps new settings")
    func stoppedContainer() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try output(daemon, ["create", "busybox", "sleep", "300"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let updated = try daemon.client([
                "update", "-m", "32m", "--pids-limit", "20", "--cpu-quota", "25000", id,
            ])
            #expect(updated.status == 0, "\(updated.stderr)")
            let stored = try output(daemon, [
                "inspect", "--format",
                "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuQuota}}", id,
            ])
            #expect(stored == "\(32 << 20) 20 25000")

            #expect(try daemon.client(["start", id]).status == 0)
            #expect(try memoryLimit(daemon, id) == "\(32 << 20)")
            #expect(try read("\(try cgroup(daemon, id, "pids"))/pids.max") == "20")
            let cpu = try cgroup(daemon, id, "cpu")
            if Self.isV2 {
                #expect(try read("\(cpu)/cpu.max") == "25000 100000")
            } else {
                #expect(try read("\(cpu)/cpu.cfs_quota_us") == "25000")
            }
        }
    }

    @Test("invalid values rejected with 400")
    func invalidValues() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try output(daemon, ["run", "-d", "--cpu-quota", "50000", "busybox", "sleep", "300"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let cases: [(String, String)] = [
                (#"{"Memory": 1024}"#, "Minimum memory limit allowed is 6MB"),
                (#"{"Memory": -5}"#, "must not be negative"),
                (#"{"MemorySwap": 33554432}"#, "always set the Memory limit"),
                (#"{"CpuPeriod": 10}"#, "CPU cfs period"),
                (#"{"CpuQuota": 10}"#, "CPU cfs quota"),
                (#"{"NanoCpus": 500000000}"#, "Nano CPUs cannot be updated as CPU Quota"),
                (#"{"CpuShares": 1}"#, "invalid CpuShares"),
                (#"{"CpusetCpus": "0-x"}"#, "Invalid value 0-x for cpuset cpus"),
                (#"{"BlkioWeight": 300}"#, "BlkioWeight"),
                (#"{"KernelMemory": 4194304}"#, "KernelMemory"),
                (#"{"RestartPolicy": {"Name": "sometimes"}}"#, "invalid restart policy"),
                (#"{"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}"#, "maximum retry count"),
                (#"{"Memory": "lots"}"#, "invalid JSON"),
            ]
            for (body, message) in cases {
                let response = try RawAPI.request(
                    daemon.socket, "POST", "/containers/\(id)/update", body: body)
                #expect(response.hasPrefix("HTTP/1.1 400"), "\(body): \(response)")
                #expect(response.contains(message), "\(body): \(response)")
            }
            // Zero values and null fields, as the docker CLI sends them, change nothing.
            let unchanged = try RawAPI.request(
                daemon.socket, "POST", "/containers/\(id)/update",
                body: #"{"BlkioWeight": 0, "KernelMemory": 0, "Ulimits": null, "CgroupParent": "", "Memory": 0}"#)
            #expect(unchanged.hasPrefix("HTTP/1.1 200"), "\(unchanged)")
            #expect(unchanged.contains(#"{"Warnings":[]}"#))
            let stored = try output(daemon, ["inspect", "--format", "{{.HostConfig.CpuQuota}}", id])
            #expect(stored == "50000")

            let missing = try RawAPI.request(
                daemon.socket, "POST", "/containers/no-such-container/update", body: "{}")
            #expect(missing.hasPrefix("HTTP/1.1 404"), "\(missing)")
            let client = try daemon.client(["update", "-m", "1k", id])
            #expect(client.status == 1)
            #expect(client.stderr.contains("Minimum memory limit"))
            let noFlags = try daemon.client(["update", id])
            #expect(noFlags.status == 125)
            #expect(noFlags.stderr.contains("one or more flags"))
        }
    }

    @Test("AutoRemove keeps restart policy")
    func autoRemove() throws {
        try DaemonHarness.withDaemon { daemon in
            let id = try output(daemon, ["run", "-d", "--rm", "busybox", "sleep", "300"])
            defer { _ = try? daemon.client(["rm", "-f", id]) }
            let response = try RawAPI.request(
                daemon.socket, "POST", "/containers/\(id)/update",
                body: #"{"RestartPolicy": {"Name": "always"}}"#)
            #expect(response.hasPrefix("HTTP/1.1 400"), "\(response)")
            #expect(
                response.contains(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container"))
            let client = try daemon.client(["update", "--restart", "unless-stopped", id])
            #expect(client.status == 1)
            #expect(client.stderr.contains("AutoRemove is enabled"))
            #expect(try daemon.client(["update", "--restart", "no", id]).status == 0)
            let policy = try output(daemon, [
                "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", id,
            ])
            #expect(policy == "no")
        }
    }
}
