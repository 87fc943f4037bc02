import SwiftdNetlink
import SwiftdSystem
import Synchronization

/// Hands out the addresses of a subnet, each to one holder at a time.
///
/// Never hands out the network address, the broadcast address or the gateway. With a `range`
/// (`--fixed-cidr`) it hands out only the host addresses of that range. Addresses are given
/// in order after the last one handed out, wrapping around, so that a released address is not
/// reused at once. Each address remembers its holder (a container ID, or "" for none), so a
/// holder can reserve its own address again. Thread-safe; no call blocks beyond a short lock.
public final class IPAllocator: Sendable {
    /// The subnet the addresses come from.
    public let subnet: IPv4Subnet
    /// The gateway, which is never handed out.
    public let gateway: IPv4Address
    /// The part of the subnet `allocate()` hands out from.
    public let range: IPv4Subnet
    /// Addresses that are never handed out or reserved, besides the gateway.
    public let excluded: Set<IPv4Address>

    private struct State {
        var taken: [IPv4Address: String] = [:]
        var last: UInt32
    }
    private let state: Mutex<State>

    /// Creates an allocator for `subnet` (prefix length at most 30) that skips `gateway` and
    /// `excluded`, and allocates from `range` (inside `subnet`, prefix at most 30) or else the
    /// whole subnet.
    public init(
        subnet: IPv4Subnet, gateway: IPv4Address, range: IPv4Subnet? = nil,
        excluded: Set<IPv4Address> = []
    ) {
        precondition(subnet.prefixLength <= 30, "a subnet needs room for hosts")
        let range = range ?? subnet
        precondition(
            subnet.contains(range.network) && range.prefixLength >= subnet.prefixLength
                && range.prefixLength <= 30, "the range must be inside the subnet")
        self.subnet = subnet
        self.gateway = gateway
        self.range = range
        self.excluded = excluded
        self.state = Mutex(State(last: gateway.value))
    }

    /// Takes the next free address of the range for `owner`.
    ///
    /// - Throws: `SwiftdError` (`internalError`) when every address is taken.
    public func allocate(owner: String = "") throws -> IPv4Address {
        let first = range.network.value + 1
        let last = range.broadcast.value - 1
        let count = last - first + 1
        return try state.withLock { state in
            var candidate = state.last
            for _ in 0..<count {
                candidate = candidate >= last || candidate < first ? first : candidate + 1
                let address = IPv4Address(candidate)
                if address != gateway && address != subnet.broadcast
                    && state.taken[address] == nil && !excluded.contains(address)
                {
                    state.taken[address] = owner
                    state.last = candidate
                    return address
                }
            }
            throw SwiftdError(.internalError, "no free address left in \(range)")
        }
    }

    /// Marks `address` as taken by `owner`, for an address a restored container already holds.
    /// Reserving an address again for the same non-empty owner does nothing.
    ///
    /// - Throws: `SwiftdError`: `invalidArgument` if the address is outside the subnet or is
    ///   the network, broadcast or gateway address; `conflict` if another holder has it or it
    ///   is excluded.
    public func reserve(_ address: IPv4Address, owner: String = "") throws {
        guard subnet.contains(address), address != subnet.network,
            address != subnet.broadcast, address != gateway
        else {
            throw SwiftdError(.invalidArgument, "address \(address) is not usable in \(subnet)")
        }
        if excluded.contains(address) {
            throw SwiftdError(.conflict, "address \(address) is already in use")
        }
        try state.withLock { state in
            if let holder = state.taken[address], holder.isEmpty || holder != owner {
                throw SwiftdError(.conflict, "address \(address) is already in use")
            }
            state.taken[address] = owner
        }
    }

    /// Returns `address` to the pool; releasing a free address does nothing.
    public func release(_ address: IPv4Address) {
        _ = state.withLock { $0.taken.removeValue(forKey: address) }
    }

    /// The number of addresses handed out.
    public var allocatedCount: Int { state.withLock { $0.taken.count } }

    /// The addresses handed out and their holders.
    public var allocations: [IPv4Address: String] { state.withLock { $0.taken } }
}
