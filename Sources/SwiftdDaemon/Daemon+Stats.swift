import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdExec
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// Registers `top` and `stats`.
    func registerStatsHandlers() throws {
        try engine.register("top") { [self] job in try await top(job) }
        try engine.register("stats") { [self] job in try await stats(job) }
    }

    /// `GET /containers/{id}/top?ps_args=`: the container's processes. Without `ps_args` the
    /// table of `ps -ef` is built from `/proc` of the pids in the container's cgroup; with them,
    /// `ps` runs with those arguments and its lines are filtered to the container's pids, as
    /// dockerd does.
    func top(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        guard container.isRunning else {
            throw SwiftdError(.conflict, "Container \(container.id) is not running")
        }
        let pids = try exec.processes(containerID: container.id)
        let arguments = (job.environment["ps_args"] ?? "").split(separator: " ").map(String.init)
        let response =
            arguments.isEmpty || arguments == ["-ef"]
            ? ProcessTable(pids: pids) : try await ProcessTable(ps: arguments, pids: pids)
        try await job.stdout.write(Array(try JSONEncoder().encode(response)))
    }

    /// `GET /containers/{id}/stats?stream=0|1&one-shot=`: CPU, memory, pids and network
    /// counters in the Engine API's shape; streamed once a second until the container stops
    /// or the client goes away, or one document (after a second's sample for `precpu_stats`
    /// unless `one-shot=1`).
    func stats(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        let stream = job.environment["stream"].map { $0 == "1" || $0 == "true" } ?? true
        let oneShot = job.environment.bool("one-shot")
        var previous = sample(container)
        if !stream {
            if !oneShot && container.isRunning {
                try await Task.sleep(for: .seconds(1))
                let current = sample(container)
                try await job.stdout.write(document(container, current, previous))
            } else {
                try await job.stdout.write(document(container, previous, nil))
            }
            return
        }
        try await job.stdout.write(document(container, previous, nil))
        while container.isRunning {
            try await Task.sleep(for: .seconds(1))
            let current = sample(container)
            try await job.stdout.write(document(container, current, previous))
            previous = current
        }
    }

    private func sample(_ container: Container) -> StatsSample {
        let record = container.record
        let cgroup = record.state.Running ? try? exec.stats(containerID: container.id) : nil
        return StatsSample(
            time: Date(), cgroup: cgroup, systemNanoseconds: Self.systemCPUNanoseconds(),
            networks: record.state.Pid > 0 ? Self.networkCounters(pid: record.state.Pid) : [:])
    }

    private func document(_ container: Container, _ current: StatsSample, _ previous: StatsSample?)
        throws -> [UInt8]
    {
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        func cpuStats(_ sample: StatsSample?) -> [String: Any] {
            guard let sample, sample.cgroup != nil else {
                return ["cpu_usage": ["total_usage": 0], "throttling_data": [:]]
            }
            return [
                "cpu_usage": ["total_usage": sample.cgroup?.cpuUsageNanoseconds ?? 0],
                "system_cpu_usage": sample.systemNanoseconds, "online_cpus": cpus,
                "throttling_data": [
                    "periods": 0, "throttled_periods": 0, "throttled_time": 0,
                ],
            ]
        }
        var memory: [String: Any] = [:]
        if let cgroup = current.cgroup {
            memory = ["usage": cgroup.memoryUsage, "stats": [:]]
            // An unlimited cgroup reports a huge number; dockerd shows the host's memory then.
            let hostMemory = UInt64(sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE)))
            memory["limit"] = min(cgroup.memoryLimit, hostMemory)
        }
        var networks: [String: Any] = [:]
        for (name, counters) in current.networks { networks[name] = counters }
        var object: [String: Any] = [
            "id": container.id, "name": "/\(container.name)",
            "read": timestamp(current.time),
            "preread": previous.map { timestamp($0.time) } ?? "0001-01-01T00:00:00Z",
            "num_procs": 0,
            "pids_stats": current.cgroup.map { ["current": $0.pids] } ?? [:],
            "cpu_stats": cpuStats(current), "precpu_stats": cpuStats(previous),
            "memory_stats": memory, "blkio_stats": [:], "storage_stats": [:],
        ]
        if !networks.isEmpty { object["networks"] = networks }
        var bytes = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        bytes.append(10)
        return bytes
    }

    /// The host's total CPU time in nanoseconds, from the first line of `/proc/stat`.
    static func systemCPUNanoseconds() -> UInt64 {
        guard let text = try? FileSystem.readString("/proc/stat"),
            let line = text.split(separator: "\n").first
        else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
        let perSecond = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        return ticks.reduce(0, +) * (1_000_000_000 / perSecond)
    }

    /// The interface counters of the network namespace of `pid`, from `/proc/PID/net/dev`,
    /// without the loopback interface.
    static func networkCounters(pid: Int32) -> [String: [String: UInt64]] {
        guard let text = try? FileSystem.readString("/proc/\(pid)/net/dev") else { return [:] }
        var result: [String: [String: UInt64]] = [:]
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let values = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", values.count >= 12 else { continue }
            result[name] = [
                "rx_bytes": values[0], "rx_packets": values[1], "rx_errors": values[2],
                "rx_dropped": values[3], "tx_bytes": values[8], "tx_packets": values[9],
                "tx_errors": values[10], "tx_dropped": values[11],
            ]
        }
        return result
    }
}

/// One reading of a container's counters.
struct StatsSample: Sendable {
    var time: Date
    var cgroup: ContainerStats?
    var systemNanoseconds: UInt64
    var networks: [String: [String: UInt64]]
}

/// `GET /containers/{id}/top`'s response.
struct ProcessTable: Codable, Sendable {
    var Titles: [String]
    var Processes: [[String]]

    /// Builds `ps -ef`'s columns from `/proc`: UID, PID, PPID, C, STIME, TTY, TIME, CMD.
    /// A process that exits meanwhile is left out.
    init(pids: [Int32]) {
        Titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        let ticks = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let uptime = (try? FileSystem.readString("/proc/uptime"))
            .flatMap { $0.split(separator: " ").first }.flatMap { Double($0) } ?? 0
        let boot = Date().addingTimeInterval(-uptime)
        let clock = DateFormatter()
        clock.dateFormat = "HH:mm"
        Processes = pids.compactMap { pid in
            guard let stat = try? FileSystem.readString("/proc/\(pid)/stat"),
                let close = stat.lastIndex(of: ")"),
                let status = try? FileSystem.readString("/proc/\(pid)/status")
            else { return nil }
            // Fields after the command name, which may hold spaces: state is field 3.
            let fields = stat[stat.index(after: close)...].split(separator: " ").map(String.init)
            guard fields.count > 20 else { return nil }
            let ppid = fields[1]
            let cpuTicks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
            let started = (Double(fields[19]) ?? 0) / ticks
            let elapsed = max(uptime - started, 0.001)
            let percent = Int(cpuTicks / ticks / elapsed * 100)
            let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first
                .map(String.init) ?? "?"
            let seconds = Int(cpuTicks / ticks)
            let time = String(
                format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
            let raw = (try? FileSystem.read("/proc/\(pid)/cmdline")) ?? []
            var command = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                .joined(separator: " ")
            if command.isEmpty {
                let open = stat.firstIndex(of: "(").map { stat.index(after: $0) } ?? close
                command = "[\(stat[open..<close])]"
            }
            let tty = Int(fields[4]) ?? 0
            return [
                uid, "\(pid)", ppid, "\(percent)",
                clock.string(from: boot.addingTimeInterval(started)),
                tty == 0 ? "?" : "pts/\(tty & 0xff)", time, command,
            ]
        }
    }

    /// Runs `ps` with `arguments` and keeps its header and the lines whose PID column names
    /// one of `pids`.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` when `ps` fails or prints no PID column.
    init(ps arguments: [String], pids: [Int32]) async throws {
        let output = try await offPool { () -> Result<(Int32, String), any Error> in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/ps")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            do {
                try process.run()
            } catch {
                return .failure(error)
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return .success((process.terminationStatus, String(decoding: data, as: UTF8.self)))
        }.get()
        let lines = output.1.split(separator: "\n").map(String.init)
        guard output.0 == 0, let header = lines.first else {
            throw SwiftdError(.invalidArgument, "ps \(arguments.joined(separator: " ")) failed: \(output.1)")
        }
        let titles = header.split(separator: " ").map(String.init)
        guard let column = titles.firstIndex(of: "PID") else {
            throw SwiftdError(.invalidArgument, "Couldn't find PID field in ps output")
        }
        let wanted = Set(pids)
        Titles = titles
        Processes = lines.dropFirst().compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= titles.count, let pid = Int32(fields[column]),
                wanted.contains(pid)
            else { return nil }
            // The last column (the command) keeps its spaces.
            return Array(fields.prefix(titles.count - 1))
                + [fields.dropFirst(titles.count - 1).joined(separator: " ")]
        }
    }
}
