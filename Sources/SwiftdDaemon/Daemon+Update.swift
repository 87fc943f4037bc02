import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdExec
import SwiftdSystem

/// The body of `POST /containers/{id}/update`: the resource settings swiftd can change, and
/// the restart policy. A zero, empty or absent value leaves the setting as it is, as in
/// dockerd.
struct ContainerUpdateRequest: Decodable {
    var Memory: Int64?
    var MemorySwap: Int64?
    var MemoryReservation: Int64?
    var NanoCpus: Int64?
    var CpuShares: Int64?
    var CpuPeriod: Int64?
    var CpuQuota: Int64?
    var CpusetCpus: String?
    var CpusetMems: String?
    /// 0 or -1 makes the number of processes unlimited; null leaves it.
    var PidsLimit: Int64?
    var RestartPolicy: RestartPolicy?

    /// The JSON keys of the fields above.
    static let fields: Set<String> = [
        "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod",
        "CpuQuota", "CpusetCpus", "CpusetMems", "PidsLimit", "RestartPolicy",
    ]

    /// Decodes `body`, rejecting any other `Resources` field that is set (not null, zero,
    /// false or empty), such as `BlkioWeight`, because swiftd cannot change it.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` naming the field; `DecodingError` for a
    ///   field of the wrong type.
    init(json body: String) throws {
        let data = Data(body.utf8)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SwiftdError(.invalidArgument, "invalid update: the body must be a JSON object")
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key })
        where !Self.fields.contains(key) && Self.isSet(value) {
            throw SwiftdError(
                .invalidArgument,
                "invalid update: swiftd cannot update \(key); it can update "
                    + Self.fields.sorted().joined(separator: ", "))
        }
        self = try JSONDecoder().decode(Self.self, from: data)
    }

    private static func isSet(_ value: Any) -> Bool {
        switch value {
        case is NSNull: false
        case let number as NSNumber: number != 0
        case let text as String: !text.isEmpty
        case let list as [Any]: !list.isEmpty
        case let map as [String: Any]: !map.isEmpty
        default: true
        }
    }
}

/// The response of `POST /containers/{id}/update`.
struct ContainerUpdateResponse: Encodable {
    var Warnings: [String]
}

extension Daemon {
    /// Registers `container_update`.
    func registerUpdateHandlers() throws {
        try engine.register("container_update") { [self] job in try await updateContainer(job) }
    }

    /// `POST /containers/{id}/update`: checks the new settings as `create` does, writes them
    /// to the cgroups of a running (or paused) container, and then stores them in the
    /// container's `HostConfig`. A stopped container gets only the stored settings, which its
    /// next start applies.
    func updateContainer(_ job: Job) async throws {
        let container = try container(try job.argument("name"))
        let request = try ContainerUpdateRequest(json: job.environment["body"] ?? "{}")
        let old = container.record.hostConfig
        var updated = try Self.merge(request, into: old, autoRemove: old.AutoRemove == true)
        try checkUpdate(request, merged: &updated)

        if container.isRunning {
            do {
                try exec.updateResources(
                    containerID: container.id, memory: Self.memoryUpdate(request, updated),
                    resources: Self.resourceUpdate(request, updated))
            } catch where !container.isRunning {
                // It stopped meanwhile: its cgroups are gone, and the next start applies the
                // stored settings.
                log.debug("container stopped during update", [("id", container.id)])
            } catch let error as any ClassifiedError {
                throw SwiftdError(error.kind, "Cannot update container \(container.id): \(error.message)")
            } catch {
                throw SwiftdError(.internalError, "Cannot update container \(container.id): \(error)")
            }
        }
        try container.update { record in
            // Merged again onto the current record, so that a concurrent change stays.
            if let current = try? Self.merge(request, into: record.hostConfig, autoRemove: false) {
                record.hostConfig = current
            }
        }
        emit(container, "update")
        try await job.stdout.write(Array(try JSONEncoder().encode(ContainerUpdateResponse(Warnings: []))))
    }

    /// Checks the values of the request and the merged settings as `create` checks them.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` naming the field and the rule it breaks.
    private func checkUpdate(_ request: ContainerUpdateRequest, merged: inout HostConfig) throws {
        if let memory = request.Memory, memory != 0 {
            if memory < 0 { throw SwiftdError(.invalidArgument, "invalid Memory: must not be negative") }
            if memory < 6 * 1024 * 1024 {
                throw SwiftdError(.invalidArgument, "Minimum memory limit allowed is 6MB")
            }
        }
        if let nano = request.NanoCpus, nano < 0 {
            throw SwiftdError(.invalidArgument, "invalid NanoCpus: must not be negative")
        }
        if let shares = request.CpuShares, shares != 0, shares < 2 {
            throw SwiftdError(.invalidArgument, "invalid CpuShares \(shares): must be at least 2")
        }
        try validateRestartPolicy(merged)
        try validateResources(&merged)
    }

    /// Applies the set fields of `request` to `old` as dockerd's `UpdateContainer` does,
    /// including its checks that NanoCpus never mixes with CpuPeriod or CpuQuota.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for a conflict with the stored settings, or a
    ///   restart policy other than "no" for a container with AutoRemove.
    static func merge(
        _ request: ContainerUpdateRequest, into old: HostConfig, autoRemove: Bool
    ) throws -> HostConfig {
        let nano = request.NanoCpus ?? 0
        let period = request.CpuPeriod ?? 0
        let quota = request.CpuQuota ?? 0
        if nano > 0 && (old.CpuPeriod ?? 0) > 0 {
            throw SwiftdError(.invalidArgument, "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
        }
        if nano > 0 && (old.CpuQuota ?? 0) > 0 {
            throw SwiftdError(.invalidArgument, "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
        }
        if period > 0 && (old.NanoCpus ?? 0) > 0 {
            throw SwiftdError(.invalidArgument, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
        }
        if quota > 0 && (old.NanoCpus ?? 0) > 0 {
            throw SwiftdError(.invalidArgument, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
        }

        var host = old
        if let value = request.CpuShares, value != 0 { host.CpuShares = value }
        if nano != 0 { host.NanoCpus = nano }
        if period != 0 { host.CpuPeriod = period }
        if quota != 0 { host.CpuQuota = quota }
        if let value = request.CpusetCpus, !value.isEmpty { host.CpusetCpus = value }
        if let value = request.CpusetMems, !value.isEmpty { host.CpusetMems = value }
        if let memory = request.Memory, memory != 0 {
            let swap = old.MemorySwap ?? 0
            if swap > 0 && memory > swap && (request.MemorySwap ?? 0) == 0 {
                throw SwiftdError(.invalidArgument, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
            }
            host.Memory = memory
        }
        if let value = request.MemorySwap, value != 0 { host.MemorySwap = value }
        if let value = request.MemoryReservation, value != 0 { host.MemoryReservation = value }
        if let value = request.PidsLimit { host.PidsLimit = value }

        if let policy = request.RestartPolicy, let name = policy.Name, !name.isEmpty {
            if autoRemove && name != "no" {
                throw SwiftdError(.invalidArgument, "Restart policy cannot be updated because AutoRemove is enabled for the container")
            }
            host.RestartPolicy = policy
        }
        return host
    }

    /// Returns the memory and swap limits to write: the requested ones, with the stored
    /// memory limit when only the swap limit changes (the swap limit counts memory too).
    static func memoryUpdate(_ request: ContainerUpdateRequest, _ merged: HostConfig) -> MemoryUpdate {
        var update = MemoryUpdate()
        if let memory = request.Memory, memory != 0 { update.limit = memory }
        if let swap = request.MemorySwap, swap != 0 {
            update.swap = swap
            update.limit = merged.Memory
        }
        return update
    }

    /// Builds the CPU, cpuset, pids and reservation settings to write. A change to any of
    /// NanoCpus, CpuPeriod and CpuQuota rewrites the CFS quota from all three merged values.
    static func resourceUpdate(_ request: ContainerUpdateRequest, _ merged: HostConfig) -> ContainerResources {
        var resources = ContainerResources()
        if let shares = request.CpuShares, shares != 0 { resources.cpuShares = shares }
        if [request.NanoCpus, request.CpuPeriod, request.CpuQuota].contains(where: { ($0 ?? 0) != 0 }) {
            if let nano = merged.NanoCpus, nano > 0 { resources.cpus = Double(nano) / 1_000_000_000 }
            if let period = merged.CpuPeriod, period != 0 { resources.cpuPeriod = period }
            if let quota = merged.CpuQuota, quota != 0 { resources.cpuQuota = quota }
        }
        if let cpus = request.CpusetCpus, !cpus.isEmpty { resources.cpusetCpus = cpus }
        if let mems = request.CpusetMems, !mems.isEmpty { resources.cpusetMems = mems }
        resources.pidsLimit = request.PidsLimit
        if let reservation = request.MemoryReservation, reservation != 0 {
            resources.memoryReservation = reservation
        }
        return resources
    }
}
