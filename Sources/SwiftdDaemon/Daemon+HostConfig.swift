import SwiftdAPI
import SwiftdCapabilities
import SwiftdExec
import SwiftdSeccomp
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// Fills in the daemon's default logging driver (`--log-driver`) when the request names
    /// none. When the driver is the default one, adds the daemon's `--log-opt` options that
    /// the request does not set, as dockerd does. Clients such as docker-py read the result
    /// back from inspect.
    ///
    /// - Throws: what `LogOptions(driver:config:)` throws for the driver and options.
    func normalizeLogConfig(_ host: inout HostConfig) throws {
        var type = host.LogConfig?.Type ?? ""
        var config = host.LogConfig?.Config ?? [:]
        if type.isEmpty { type = configuration.logDriver }
        if type == configuration.logDriver {
            config.merge(configuration.logOptions) { requested, _ in requested }
        }
        _ = try LogOptions(driver: type, config: config)
        host.LogConfig = LogConfiguration(Type: type, Config: config)
    }

    /// Reads a `ConsoleSize` of `[height, width]`; nil when absent or zero.
    ///
    /// - Throws: `.invalidArgument` for a size that is not two numbers from 0 to 65535.
    func terminalSize(_ values: [Int]?) throws -> TerminalSize? {
        guard let values else { return nil }
        guard values.count == 2, let rows = UInt16(exactly: values[0]),
            let columns = UInt16(exactly: values[1])
        else {
            throw SwiftdError(.invalidArgument, "invalid ConsoleSize \(values): expected [height, width]")
        }
        return rows == 0 || columns == 0 ? nil : TerminalSize(rows: rows, columns: columns)
    }

    /// Turns the isolation and resource settings of a container's `HostConfig` into its spec.
    ///
    /// - Throws: `.invalidArgument` for a value out of range or a security option swiftd does
    ///   not know, naming the field.
    func applyHostConfig(_ host: HostConfig, to spec: inout ContainerSpec) throws {
        spec.terminalSize = try terminalSize(host.ConsoleSize)
        if host.Privileged == true {
            // As with dockerd, a privileged container runs without a seccomp filter.
            spec.privileged = true
            spec.capabilities = CapabilitySet.all.mask
            spec.seccomp = .unconfined
        }
        var capabilities = CapabilitySet(mask: spec.capabilities)
        if let add = host.CapAdd, !add.isEmpty { capabilities = try capabilities.adding(add) }
        if let drop = host.CapDrop, !drop.isEmpty { capabilities = try capabilities.dropping(drop) }
        spec.capabilities = capabilities.mask
        spec.readonlyRootfs = host.ReadonlyRootfs ?? false
        if let shm = host.ShmSize, shm != 0 {
            guard shm > 0 else { throw SwiftdError(.invalidArgument, "invalid ShmSize: must not be negative") }
            spec.shmSize = shm
        }
        if let nano = host.NanoCpus, nano != 0 {
            guard nano > 0 else { throw SwiftdError(.invalidArgument, "invalid NanoCpus: must not be negative") }
            spec.resources.cpus = Double(nano) / 1_000_000_000
        }
        if let shares = host.CpuShares, shares != 0 {
            guard shares >= 2 else { throw SwiftdError(.invalidArgument, "invalid CpuShares \(shares): must be at least 2") }
            spec.resources.cpuShares = shares
        }
        if let pids = host.PidsLimit, pids > 0 { spec.resources.pidsLimit = pids }
        try applyResources(host, to: &spec)
        for (path, options) in (host.Tmpfs ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard path.hasPrefix("/") else {
                throw SwiftdError(.invalidArgument, "invalid Tmpfs mount \(path): the path must be absolute")
            }
            let list = options.split(separator: ",").map(String.init)
            spec.mounts.append(Mount(source: "tmpfs", destination: path, kind: .tmpfs, options: list))
        }
        for option in host.SecurityOpt ?? [] {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0]
            let value = parts.count > 1 ? parts[1] : ""
            switch (key, value) {
            case ("no-new-privileges", ""), ("no-new-privileges", "true"):
                spec.noNewPrivileges = true
            case ("no-new-privileges", "false"):
                spec.noNewPrivileges = false
            case ("seccomp", "unconfined"):
                spec.seccomp = .unconfined
            case ("seccomp", _) where !value.isEmpty:
                // The docker CLI sends the profile's contents, not its path.
                spec.seccomp = .profile(try SeccompProfile(json: Array(value.utf8)))
            default:
                throw SwiftdError(.invalidArgument, "invalid SecurityOpt \(option): use no-new-privileges or seccomp=unconfined|PROFILE")
            }
        }
    }
}

extension Daemon {
    /// Checks the resource settings of a create request as dockerd does, before anything is
    /// created, and drops `OomKillDisable` where cgroup v2 has no such control.
    ///
    /// - Throws: `.invalidArgument` naming the field and the rule it breaks.
    func validateResources(_ host: inout HostConfig) throws {
        let minimum: Int64 = 6 * 1024 * 1024
        let memory = host.Memory ?? 0
        if let reservation = host.MemoryReservation, reservation != 0 {
            guard reservation > 0 else {
                throw SwiftdError(.invalidArgument, "invalid MemoryReservation: must not be negative")
            }
            guard reservation >= minimum else {
                throw SwiftdError(.invalidArgument, "Minimum memory reservation allowed is 6MB")
            }
            if memory > 0 && memory < reservation {
                throw SwiftdError(.invalidArgument, "Minimum memory limit can not be less than memory reservation limit, see usage")
            }
        }
        if let swap = host.MemorySwap, swap != 0 {
            guard swap >= -1 else {
                throw SwiftdError(.invalidArgument, "invalid MemorySwap \(swap): must be -1 (unlimited) or a size in bytes")
            }
            guard memory > 0 else {
                throw SwiftdError(.invalidArgument, "You should always set the Memory limit when using Memoryswap limit, see usage")
            }
            if swap > 0 && swap < memory {
                throw SwiftdError(.invalidArgument, "Minimum memoryswap limit should be larger than memory limit, see usage")
            }
        }
        let nanoCpus = host.NanoCpus ?? 0
        if let period = host.CpuPeriod, period != 0 {
            guard nanoCpus == 0 else {
                throw SwiftdError(.invalidArgument, "Conflicting options: Nano CPUs and CPU Period cannot both be set")
            }
            guard (1000...1_000_000).contains(period) else {
                throw SwiftdError(.invalidArgument, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
            }
        }
        if let quota = host.CpuQuota, quota != 0 {
            guard nanoCpus == 0 else {
                throw SwiftdError(.invalidArgument, "Conflicting options: Nano CPUs and CPU Quota cannot both be set")
            }
            guard quota == -1 || quota >= 1000 else {
                throw SwiftdError(.invalidArgument, "CPU cfs quota can not be less than 1ms (i.e. 1000)")
            }
        }
        try checkCpuset(host.CpusetCpus, field: "cpus", available: "/sys/devices/system/cpu/online")
        try checkCpuset(host.CpusetMems, field: "mems", available: "/sys/devices/system/node/online")
        if host.OomKillDisable == true && exec.cgroupVersion == 2 {
            // dockerd discards the setting with a warning where the kernel lacks it.
            log.warning("OomKillDisable is not supported on cgroup v2 and was discarded", [])
            host.OomKillDisable = false
        }
        for ulimit in host.Ulimits ?? [] { try checkUlimit(ulimit) }
        _ = try devices(host)
    }

    /// Checks a cpuset list such as `0-2,4` for syntax and against the host's online set.
    private func checkCpuset(_ value: String?, field: String, available path: String) throws {
        guard let value, !value.isEmpty else { return }
        let kind = field == "cpus" ? "CPUs" : "memory nodes"
        guard let requested = Self.parseCpuList(value) else {
            throw SwiftdError(.invalidArgument, "Invalid value \(value) for cpuset \(field)")
        }
        let online = (try? FileSystem.readString(path)).map { $0.filter { !$0.isWhitespace } } ?? "0"
        let present = Self.parseCpuList(online) ?? [0]
        guard requested.isSubset(of: present) else {
            throw SwiftdError(.invalidArgument, "Requested \(kind) are not available - requested \(value), available: \(online)")
        }
    }

    /// Parses the kernel's list format (`0-3,8,10-11`); nil for anything else.
    static func parseCpuList(_ text: String) -> Set<Int>? {
        var result: Set<Int> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                low >= 0, low <= high, high < 65536
            else { return nil }
            result.formUnion(low...high)
        }
        return result
    }

    /// Checks a ulimit's name and order, and that it stays within the daemon's hard limit,
    /// because the container cannot raise a hard limit without CAP_SYS_RESOURCE.
    private func checkUlimit(_ ulimit: UlimitRequest) throws {
        guard let resource = Ulimit.resources[ulimit.Name] else {
            throw SwiftdError(.invalidArgument, "invalid Ulimits: unknown ulimit type \(ulimit.Name)")
        }
        guard ulimit.Soft >= -1, ulimit.Hard >= -1 else {
            throw SwiftdError(.invalidArgument, "invalid Ulimits: \(ulimit.Name) limits must be -1 (unlimited) or at least 0")
        }
        let soft = Self.rlimitValue(ulimit.Soft), hard = Self.rlimitValue(ulimit.Hard)
        guard soft <= hard else {
            throw SwiftdError(.invalidArgument, "invalid Ulimits: \(ulimit.Name) soft limit \(ulimit.Soft) is above the hard limit \(ulimit.Hard)")
        }
        var current = rlimit()
        if getrlimit(__rlimit_resource_t(UInt32(resource)), &current) == 0, hard > UInt64(current.rlim_max) {
            let daemonHard = UInt64(current.rlim_max) == UInt64.max ? "unlimited" : "\(current.rlim_max)"
            throw SwiftdError(.invalidArgument, "invalid Ulimits: \(ulimit.Name) hard limit \(ulimit.Hard) is above the daemon's hard limit \(daemonHard)")
        }
    }

    /// Converts a ulimit value to the form setrlimit takes: -1 becomes RLIM_INFINITY (all bits).
    static func rlimitValue(_ value: Int64) -> UInt64 {
        value < 0 ? UInt64.max : UInt64(value)
    }

    /// Describes the `--device` entries for the exec driver from the host's device nodes.
    ///
    /// - Throws: `.invalidArgument` for a missing host device, a path that is not a device,
    ///   or permissions other than r, w and m.
    func devices(_ host: HostConfig) throws -> [Device] {
        try (host.Devices ?? []).map { mapping in
            let target = mapping.PathInContainer.flatMap { $0.isEmpty ? nil : $0 } ?? mapping.PathOnHost
            let permissions = mapping.CgroupPermissions.flatMap { $0.isEmpty ? nil : $0 } ?? "rwm"
            do {
                return try Device(hostPath: mapping.PathOnHost, path: target, permissions: permissions)
            } catch let ExecError.invalidSpec(message) {
                throw SwiftdError(.invalidArgument, "invalid Devices: \(message)")
            }
        }
    }

    /// Copies the resource settings that `validateResources` accepted into the spec.
    func applyResources(_ host: HostConfig, to spec: inout ContainerSpec) throws {
        spec.runsInit = host.Init == true
        spec.devices = try devices(host)
        spec.ulimits = (host.Ulimits ?? []).map {
            Ulimit(name: $0.Name, soft: Self.rlimitValue($0.Soft), hard: Self.rlimitValue($0.Hard))
        }
        if let swap = host.MemorySwap, swap != 0 { spec.resources.memorySwap = swap }
        if let reservation = host.MemoryReservation, reservation > 0 {
            spec.resources.memoryReservation = reservation
        }
        if let quota = host.CpuQuota, quota != 0 { spec.resources.cpuQuota = quota }
        if let period = host.CpuPeriod, period != 0 { spec.resources.cpuPeriod = period }
        if let cpus = host.CpusetCpus, !cpus.isEmpty { spec.resources.cpusetCpus = cpus }
        if let mems = host.CpusetMems, !mems.isEmpty { spec.resources.cpusetMems = mems }
        spec.resources.oomKillDisable = host.OomKillDisable == true && exec.cgroupVersion == 1
    }
}
