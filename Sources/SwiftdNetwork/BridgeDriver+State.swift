import Foundation
import SwiftdNetlink
import SwiftdSystem

/// The state file of a bridge: its subnet, the address of each container, and the published
/// ports of each container address.
struct AllocationState: Codable, Equatable {
    var subnet: String
    /// Container address to container ID.
    var addresses: [String: String]
    /// The published ports, as `publish` returned them, by container address; nil in files
    /// saved before the ports were kept.
    var ports: [String: [PortBinding]]?
}

extension BridgeDriver {
    /// Reserves in `allocator` the addresses saved in `path` by an earlier run, and returns the
    /// saved published ports of those addresses. A missing file is fine; a file for another
    /// subnet is ignored (the bridge moved), as are addresses the allocator rejects, with a
    /// warning.
    ///
    /// - Throws: `SystemCallError` if the file exists but cannot be read; `SwiftdError`
    ///   (`internalError`) if it is not valid JSON.
    static func loadAllocations(_ path: String, into allocator: IPAllocator, log: Logger) throws
        -> [IPv4Address: [PortBinding]]
    {
        guard FileSystem.exists(path) else { return [:] }
        let state: AllocationState
        do {
            state = try JSONDecoder().decode(
                AllocationState.self, from: Data(try FileSystem.read(path)))
        } catch let error as DecodingError {
            throw SwiftdError(.internalError, "cannot parse \(path): \(error)")
        }
        guard state.subnet == allocator.subnet.description else {
            log.warning(
                "saved addresses are for another subnet; ignoring them",
                [("file", path), ("saved", state.subnet), ("now", "\(allocator.subnet)")])
            return [:]
        }
        var ports: [IPv4Address: [PortBinding]] = [:]
        for (text, owner) in state.addresses.sorted(by: { $0.key < $1.key }) {
            do {
                guard let address = IPv4Address(text) else {
                    throw SwiftdError(.invalidArgument, "bad address \(text)")
                }
                try allocator.reserve(address, owner: owner)
                if let saved = state.ports?[text], !saved.isEmpty { ports[address] = saved }
            } catch {
                log.warning(
                    "saved address not restored",
                    [("file", path), ("address", text), ("error", "\(error)")])
            }
        }
        return ports
    }

    /// Writes the current allocations and published ports (those waiting for `reattach`
    /// included) to the state file, if there is one. A failure is logged, and the next write
    /// carries the state in memory.
    ///
    /// Must not be called while holding `published` or `savedPorts`.
    func saveAllocations() {
        guard let statePath else { return }
        stateLock.withLock { _ in
            var ports: [String: [PortBinding]] = savedPorts.withLock { saved in
                Dictionary(uniqueKeysWithValues: saved.map { ($0.key.description, $0.value) })
            }
            for port in published.withLock({ Array($0.values) }) {
                ports[port.containerIP.description, default: []].append(port.binding)
            }
            let state = AllocationState(
                subnet: network.description,
                addresses: Dictionary(
                    uniqueKeysWithValues: allocator.allocations.map {
                        ($0.key.description, $0.value)
                    }
                ),
                ports: ports.isEmpty ? nil : ports.mapValues(Self.sortedBindings))
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try FileSystem.writeAtomically(statePath, Array(try encoder.encode(state)))
            } catch {
                log.warning("cannot save addresses", [("file", statePath), ("error", "\(error)")])
            }
        }
    }

    /// Returns `bindings` in a fixed order, so that the state file changes only with them.
    static func sortedBindings(_ bindings: [PortBinding]) -> [PortBinding] {
        bindings.sorted {
            ($0.proto, $0.hostIP, $0.hostPort, $0.containerPort)
                < ($1.proto, $1.hostIP, $1.hostPort, $1.containerPort)
        }
    }

    /// Releases the saved addresses, and the saved published ports, of containers not in
    /// `containerIDs` (for example, removed while the daemon was down), and returns how many
    /// addresses were released.
    @discardableResult
    public func releaseAddresses(notHeldBy containerIDs: Set<String>) -> Int {
        let stale = allocator.allocations.filter { !containerIDs.contains($0.value) }
        for address in stale.keys { allocator.release(address) }
        let droppedPorts = savedPorts.withLock { saved in
            let released = saved.keys.filter { allocator.allocations[$0] == nil }
            for address in released { saved[address] = nil }
            return !released.isEmpty
        }
        if !stale.isEmpty || droppedPorts { saveAllocations() }
        return stale.count
    }
}
