import SwiftdAPI
import SwiftdCapabilities
import SwiftdExec
import SwiftdSeccomp
import SwiftdSystem

extension Daemon {
    /// Fills in the `json-file` logging driver that clients such as docker-py read back from
    /// inspect, and rejects the drivers swiftd does not have.
    func normalizeLogConfig(_ host: inout HostConfig) throws {
        let type = host.LogConfig?.Type ?? ""
        guard type.isEmpty || type == "json-file" else {
            throw SwiftdError(.invalidArgument, "invalid logging driver \(type): swiftd writes json-file logs only")
        }
        // TODO: the max-size and max-file options of json-file (log rotation) are not applied.
        host.LogConfig = LogConfiguration(Type: "json-file", Config: host.LogConfig?.Config ?? [:])
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
