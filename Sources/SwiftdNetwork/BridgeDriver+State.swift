import Foundation
import SwiftdNetlink
import SwiftdSystem

/// The allocations file of a bridge: its subnet and the address of each container.
struct AllocationState: Codable, Equatable {
    var subnet: String
    /// Container address to container ID.
    var addresses: [String: String]
}

extension BridgeDriver {
    /// Reserves in `allocator` the addresses saved in `path` by an earlier run. A missing file
    /// is fine; a file for another subnet is ignored (the bridge moved), as are addresses the
    /// allocator refuses, with a warning.
    ///
    /// - Throws: `SystemCallError` if the file exists but cannot be read; `SwiftdError`
    ///   (`internalError`) if it is not valid JSON.
    static func loadAllocations(_ path: String, into allocator: IPAllocator, log: Logger) throws {
        guard FileSystem.exists(path) else { return }
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
            return
        }
        for (text, owner) in state.addresses.sorted(by: { $0.key < $1.key }) {
            do {
                guard let address = IPv4Address(text) else {
                    throw SwiftdError(.invalidArgument, "bad address \(text)")
                }
                try allocator.reserve(address, owner: owner)
            } catch {
                log.warning(
                    "saved address not restored",
                    [("file", path), ("address", text), ("error", "\(error)")])
            }
        }
    }

    /// Writes the current allocations to the state file, if there is one. A failure is logged:
    /// the allocation in memory stands, and the next write carries it.
    func saveAllocations() {
        guard let statePath else { return }
        stateLock.withLock { _ in
            let state = AllocationState(
                subnet: network.description,
                addresses: Dictionary(
                    uniqueKeysWithValues: allocator.allocations.map {
                        ($0.key.description, $0.value)
                    }
                ))
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try FileSystem.writeAtomically(statePath, Array(try encoder.encode(state)))
            } catch {
                log.warning("cannot save addresses", [("file", statePath), ("error", "\(error)")])
            }
        }
    }

    /// Releases the saved addresses of containers not in `containerIDs` (for example, removed
    /// while the daemon was down), and returns how many were released.
    @discardableResult
    public func releaseAddresses(notHeldBy containerIDs: Set<String>) -> Int {
        let stale = allocator.allocations.filter { !containerIDs.contains($0.value) }
        for address in stale.keys { allocator.release(address) }
        if !stale.isEmpty { saveAllocations() }
        return stale.count
    }
}
