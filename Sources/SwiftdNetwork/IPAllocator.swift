import SwiftdNetlink
import SwiftdSystem
import Synchronization

/// Hands out the addresses of a subnet, each to one holder at a time.
///
/// Never hands out the network address, the broadcast address or the gateway. Addresses are
/// given in order after the last one handed out, wrapping around, so that a released address
/// is not reused at once. Thread-safe; no call blocks beyond a short lock.
public final class IPAllocator: Sendable {
    /// The subnet the addresses come from.
    public let subnet: IPv4Subnet
    /// The gateway, which is never handed out.
    public let gateway: IPv4Address

    private struct State {
        var taken: Set<IPv4Address> = []
        var last: UInt32
    }
    private let state: Mutex<State>

    /// Creates an allocator for `subnet` (prefix length at most 30) that skips `gateway`.
    public init(subnet: IPv4Subnet, gateway: IPv4Address) {
        precondition(subnet.prefixLength <= 30, "a subnet needs room for hosts")
        self.subnet = subnet
        self.gateway = gateway
        self.state = Mutex(State(last: gateway.value))
    }

    /// Takes the next free address.
    ///
    /// - Throws: `SwiftdError` (`internalError`) when every address is taken.
    public func allocate() throws -> IPv4Address {
        let first = subnet.network.value + 1
        let last = subnet.broadcast.value - 1
        let count = last - first + 1
        return try state.withLock { state in
            var candidate = state.last
            for _ in 0..<count {
                candidate = candidate >= last || candidate < first ? first : candidate + 1
                let address = IPv4Address(candidate)
                if address != gateway && !state.taken.contains(address) {
                    state.taken.insert(address)
                    state.last = candidate
                    return address
                }
            }
            throw SwiftdError(.internalError, "no free address left in \(subnet)")
        }
    }

    /// Marks `address` as taken, for an address a restored container already holds.
    ///
    /// - Throws: `SwiftdError`: `invalidArgument` if the address is outside the subnet or is
    ///   the network, broadcast or gateway address; `conflict` if it is already taken.
    public func reserve(_ address: IPv4Address) throws {
        guard subnet.contains(address), address != subnet.network,
            address != subnet.broadcast, address != gateway
        else {
            throw SwiftdError(.invalidArgument, "address \(address) is not usable in \(subnet)")
        }
        try state.withLock { state in
            guard state.taken.insert(address).inserted else {
                throw SwiftdError(.conflict, "address \(address) is already in use")
            }
        }
    }

    /// Returns `address` to the pool; releasing a free address does nothing.
    public func release(_ address: IPv4Address) {
        _ = state.withLock { $0.taken.remove(address) }
    }

    /// The number of addresses handed out.
    public var allocatedCount: Int { state.withLock { $0.taken.count } }
}
