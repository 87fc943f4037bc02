import SwiftdAPI

extension Commands {
    static let resourceFlags: [FlagParser.Flag] = [
        .init(names: ["--ulimit"], takesValue: true),
        .init(names: ["--memory-swap"], takesValue: true),
        .init(names: ["--memory-reservation"], takesValue: true),
        .init(names: ["--cpu-quota"], takesValue: true),
        .init(names: ["--cpu-period"], takesValue: true),
        .init(names: ["--cpuset-cpus"], takesValue: true),
        .init(names: ["--cpuset-mems"], takesValue: true),
        .init(names: ["--oom-kill-disable"], takesValue: false),
        .init(names: ["--init"], takesValue: false),
        .init(names: ["--device"], takesValue: true),
        .init(names: ["--ipc"], takesValue: true),
        .init(names: ["--pid"], takesValue: true),
        .init(names: ["--uts"], takesValue: true),
        .init(names: ["--volumes-from"], takesValue: true),
    ]

    /// Sets the limits, `--init`, devices and namespace modes in the create request's host
    /// config. The daemon checks the values against the host.
    ///
    /// - Throws: `UsageFailure` for a value that does not parse.
    func applyResourceFlags(_ flags: FlagParser, to hostConfig: inout HostConfig) throws {
        let ulimits = try flags.strings("--ulimit").map(Self.parseUlimit)
        if !ulimits.isEmpty { hostConfig.Ulimits = ulimits }
        if let swap = flags.string("--memory-swap") {
            // -1 is unlimited swap, as docker takes it.
            guard let bytes = swap == "-1" ? -1 : parseMemorySize(swap) else {
                throw UsageFailure(message: "invalid argument \"\(swap)\" for \"--memory-swap\" flag: invalid size")
            }
            hostConfig.MemorySwap = bytes
        }
        if let reservation = flags.string("--memory-reservation") {
            guard let bytes = parseMemorySize(reservation) else {
                throw UsageFailure(message: "invalid argument \"\(reservation)\" for \"--memory-reservation\" flag: invalid size")
            }
            hostConfig.MemoryReservation = bytes
        }
        hostConfig.CpuQuota = try integer(flags, "--cpu-quota")
        hostConfig.CpuPeriod = try integer(flags, "--cpu-period")
        hostConfig.CpusetCpus = flags.string("--cpuset-cpus")
        hostConfig.CpusetMems = flags.string("--cpuset-mems")
        if flags.bool("--oom-kill-disable") { hostConfig.OomKillDisable = true }
        if flags.bool("--init") { hostConfig.Init = true }
        let devices = try flags.strings("--device").map(Self.parseDevice)
        if !devices.isEmpty { hostConfig.Devices = devices }
        hostConfig.IpcMode = flags.string("--ipc")
        hostConfig.PidMode = flags.string("--pid")
        hostConfig.UTSMode = flags.string("--uts")
        let volumesFrom = flags.strings("--volumes-from")
        if !volumesFrom.isEmpty { hostConfig.VolumesFrom = volumesFrom }
    }

    private func integer(_ flags: FlagParser, _ name: String) throws -> Int64? {
        guard let text = flags.string(name) else { return nil }
        guard let value = Int64(text) else {
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"\(name)\" flag: expected an integer")
        }
        return value
    }

    /// Parses `NAME=SOFT[:HARD]`; a missing hard limit equals the soft one, as in docker.
    static func parseUlimit(_ text: String) throws -> UlimitRequest {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let limits = parts.count == 2 ? parts[1].split(separator: ":", omittingEmptySubsequences: false) : []
        guard parts.count == 2, (1...2).contains(limits.count),
            let soft = Int64(limits[0]), let hard = Int64(limits.last ?? "")
        else {
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"--ulimit\" flag: expected NAME=SOFT[:HARD]")
        }
        return UlimitRequest(Name: parts[0], Soft: soft, Hard: hard)
    }

    /// Parses `HOST[:CONTAINER[:PERMISSIONS]]`, where `HOST:PERMISSIONS` is allowed too.
    static func parseDevice(_ text: String) throws -> DeviceMapping {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let isPermissions = { (value: String) in
            !value.isEmpty && value.count <= 3 && value.allSatisfy { "rwm".contains($0) }
        }
        var device = DeviceMapping(PathOnHost: parts[0])
        switch parts.count {
        case 1:
            break
        case 2 where isPermissions(parts[1]):
            device.CgroupPermissions = parts[1]
        case 2:
            device.PathInContainer = parts[1]
        case 3 where isPermissions(parts[2]):
            device.PathInContainer = parts[1]
            device.CgroupPermissions = parts[2]
        default:
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"--device\" flag: expected HOST[:CONTAINER[:rwm]]")
        }
        guard device.PathOnHost.hasPrefix("/") else {
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"--device\" flag: the host path must be absolute")
        }
        return device
    }
}
