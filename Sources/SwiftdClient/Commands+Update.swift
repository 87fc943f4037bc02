import Foundation
import SwiftdAPI

extension Commands {
    static let updateFlags: [FlagParser.Flag] = [
        .init(names: ["-m", "--memory"], takesValue: true),
        .init(names: ["--memory-swap"], takesValue: true),
        .init(names: ["--memory-reservation"], takesValue: true),
        .init(names: ["--cpus"], takesValue: true),
        .init(names: ["-c", "--cpu-shares"], takesValue: true),
        .init(names: ["--cpu-period"], takesValue: true),
        .init(names: ["--cpu-quota"], takesValue: true),
        .init(names: ["--cpuset-cpus"], takesValue: true),
        .init(names: ["--cpuset-mems"], takesValue: true),
        .init(names: ["--pids-limit"], takesValue: true),
        .init(names: ["--restart"], takesValue: true),
    ]

    /// The body of `POST /containers/{id}/update`; nil fields are left out and stay as
    /// they are.
    struct UpdateBody: Encodable {
        var Memory: Int64?
        var MemorySwap: Int64?
        var MemoryReservation: Int64?
        var NanoCpus: Int64?
        var CpuShares: Int64?
        var CpuPeriod: Int64?
        var CpuQuota: Int64?
        var CpusetCpus: String?
        var CpusetMems: String?
        var PidsLimit: Int64?
        var RestartPolicy: RestartPolicy?
    }

    /// `swiftd update [OPTIONS] CONTAINER...`: changes the limits and restart policy of
    /// containers, and prints each name as it is updated.
    func update(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser(Self.updateFlags)
        try flags.parse(arguments)
        guard !flags.positional.isEmpty else {
            throw UsageFailure(message: "requires at least 1 argument: CONTAINER")
        }

        var body = UpdateBody()
        body.Memory = try size(flags, "-m", label: "-m, --memory")
        if flags.string("--memory-swap") == "-1" {
            body.MemorySwap = -1
        } else {
            body.MemorySwap = try size(flags, "--memory-swap", label: "--memory-swap")
        }
        body.MemoryReservation = try size(
            flags, "--memory-reservation", label: "--memory-reservation")
        if let cpus = flags.string("--cpus") {
            guard let value = Double(cpus), value >= 0, value < 1e9 else {
                throw UsageFailure(
                    message: "invalid argument \"\(cpus)\" for \"--cpus\" flag: expected a number of CPUs")
            }
            body.NanoCpus = Int64(value * 1_000_000_000)
        }
        body.CpuShares = try number(flags, "-c", label: "-c, --cpu-shares")
        body.CpuPeriod = try number(flags, "--cpu-period", label: "--cpu-period")
        body.CpuQuota = try number(flags, "--cpu-quota", label: "--cpu-quota")
        body.CpusetCpus = flags.string("--cpuset-cpus")
        body.CpusetMems = flags.string("--cpuset-mems")
        body.PidsLimit = try number(flags, "--pids-limit", label: "--pids-limit")
        body.RestartPolicy = try flags.string("--restart").map(Self.parseRestartPolicy)

        let json = Array(try JSONEncoder().encode(body))
        guard json != Array("{}".utf8) else {
            throw UsageFailure(message: "you must provide one or more flags when using this command")
        }
        return try forEach(flags.positional) { name in
            try call("POST", "/containers/\(percentEncode(name))/update", json: json)
        }
    }

    private func size(_ flags: FlagParser, _ name: String, label: String) throws -> Int64? {
        guard let text = flags.string(name) else { return nil }
        guard let bytes = parseMemorySize(text) else {
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"\(label)\" flag: invalid size")
        }
        return bytes
    }

    private func number(_ flags: FlagParser, _ name: String, label: String) throws -> Int64? {
        guard let text = flags.string(name) else { return nil }
        guard let value = Int64(text) else {
            throw UsageFailure(message: "invalid argument \"\(text)\" for \"\(label)\" flag: expected an integer")
        }
        return value
    }
}
