import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// New memory settings for a running container: each nil field stays as it is.
public struct MemoryUpdate: Sendable, Equatable {
    /// The memory limit in bytes.
    public var limit: Int64?
    /// Memory plus swap in bytes; -1 is unlimited.
    public var swap: Int64?

    public init(limit: Int64? = nil, swap: Int64? = nil) {
        self.limit = limit
        self.swap = swap
    }
}

extension ExecDriver {
    /// Changes the limits of a running container (`docker update`) by writing its cgroup
    /// files: the memory limit and swap in an order the kernel accepts, then the CPU, cpuset,
    /// pids and memory reservation settings that `resources` sets. Settings left nil keep
    /// their values. A failed memory write puts the memory limit back.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` when the kernel rejects a memory limit (below
    ///   the container's usage, say) or a new limit is above the current swap limit.
    ///   `ExecError.invalidSpec` for a setting the host has no cgroup file for, and
    ///   `SystemCallError` from other cgroup writes.
    public func updateResources(
        containerID: String, memory: MemoryUpdate, resources: ContainerResources
    ) throws {
        try cgroups.update(memory, id: containerID)
        var rest = resources
        rest.memorySwap = nil
        rest.oomKillDisable = false
        try cgroups.apply(rest, memoryLimit: nil, id: containerID)
    }
}

extension Cgroups {
    /// Writes a new memory limit and swap limit. On v1 the kernel rejects a memory limit
    /// above `memory.memsw.limit_in_bytes`, so the swap limit is written first when it grows
    /// past the old memory limit, and the memory limit first otherwise.
    func update(_ memory: MemoryUpdate, id: String) throws {
        guard memory.limit != nil || memory.swap != nil else { return }
        guard let memoryBase else {
            throw ExecError.invalidSpec("no memory cgroup controller on this host")
        }
        let path = "\(memoryBase)/\(id)"

        if version == 2 {
            // NOTE: cgroup v2 reclaims or OOM-kills rather than rejecting a memory.max below
            // the usage, so a limit below the usage is not reported as an error there.
            if let limit = memory.limit { try writeMemory("\(path)/memory.max", limit, path) }
            if let swap = memory.swap {
                let file = "\(path)/memory.swap.max"
                guard FileSystem.exists(file) else {
                    throw ExecError.invalidSpec("the kernel has no memory.swap.max for MemorySwap")
                }
                let limit = try memory.limit ?? Int64(clamping: Self.number(in: "\(path)/memory.max"))
                try writeMemory(file, swap < 0 ? nil : swap - limit, path)
            }
            return
        }

        let limitFile = "\(path)/memory.limit_in_bytes"
        let swapFile = "\(path)/memory.memsw.limit_in_bytes"
        let accountsSwap = FileSystem.exists(swapFile)
        if memory.swap != nil && !accountsSwap {
            throw ExecError.invalidSpec(
                "the kernel has no memory.memsw.limit_in_bytes for MemorySwap (swap accounting is off)")
        }
        let oldLimit = try Self.number(in: limitFile)

        guard let swap = memory.swap else {
            guard let limit = memory.limit else { return }
            if accountsSwap, UInt64(limit) > (try Self.number(in: swapFile)) {
                throw SwiftdError(
                    .invalidArgument,
                    "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
            }
            try writeMemory(limitFile, limit, path)
            return
        }

        let swapValue: Int64? = swap < 0 ? nil : swap
        if swap < 0 || oldLimit < UInt64(swap) {
            try writeMemory(swapFile, swapValue, path)
            if let limit = memory.limit { try writeMemory(limitFile, limit, path) }
        } else {
            if let limit = memory.limit { try writeMemory(limitFile, limit, path) }
            do {
                try writeMemory(swapFile, swapValue, path)
            } catch {
                // Best effort: the caller keeps the old settings, so the cgroup should too.
                try? FileSystem.write(limitFile, oldLimit == UInt64.max ? "-1" : "\(oldLimit)")
                throw error
            }
        }
    }

    /// Writes a memory file (nil is unlimited) and turns the kernel's rejection into an
    /// invalid-argument error that names the container's current usage.
    private func writeMemory(_ file: String, _ value: Int64?, _ path: String) throws {
        let text = value.map { "\($0)" } ?? (version == 1 ? "-1" : "max")
        do {
            try FileSystem.write(file, text)
        } catch let error as SystemCallError where error.errno == EBUSY || error.errno == EINVAL {
            let usageFile = version == 1 ? "memory.usage_in_bytes" : "memory.current"
            let usage = (try? Self.number(in: "\(path)/\(usageFile)")).map { "\($0)" } ?? "unknown"
            let name = file.split(separator: "/").last.map(String.init) ?? file
            throw SwiftdError(
                .invalidArgument,
                "unable to set \(name) to \(text) (current usage: \(usage)): \(error.reason)")
        }
    }
}
