import Foundation
import SwiftdNetlink
import SwiftdSystem
import Synchronization

/// The host end of a veth pair whose container has exited, kept with its address until the
/// link is gone.
struct RetiringLink: Sendable {
    let name: String
    let address: IPv4Address
    let since: ContinuousClock.Instant
}

/// The links a bridge driver is retiring, and whether a thread watches them.
struct RetiringLinks: Sendable {
    var links: [RetiringLink] = []
    var isWatched = false
    /// Set at shutdown: links retired after it are deleted at once.
    var isClosed = false
}

extension BridgeDriver {
    /// How long a retiring link may take to disappear with its namespace before the driver
    /// deletes it itself.
    static let retirementGrace: Duration = .seconds(2)

    /// Retires the host end of `endpoint` after its container exited, off the caller's path.
    ///
    /// When the container's last process exits, the kernel destroys its network namespace and
    /// with it both ends of the veth pair, in a batch of its own. Deleting the pair here as
    /// well would cost the exiting container about as much kernel time as creating it. So a
    /// watcher thread waits up to `retirementGrace` for the link to disappear, and deletes it
    /// only if it is still there then (another container shares the namespace). The address
    /// stays allocated until the link is deleted, so no new container gets it while the old
    /// link is still on the bridge. `allocate`, and a request for that very address, reclaim
    /// it at once.
    func retire(_ endpoint: Endpoint, _ address: IPv4Address) {
        let entry = RetiringLink(
            name: endpoint.hostInterface, address: address, since: ContinuousClock.now)
        let (accepted, startWatcher) = retiring.withLock { state -> (Bool, Bool) in
            guard !state.isClosed else { return (false, false) }
            state.links.append(entry)
            defer { state.isWatched = true }
            return (true, !state.isWatched)
        }
        guard accepted else {
            deleteRetired([entry])
            return
        }
        if startWatcher {
            let thread = Thread { [self] in watchRetiringLinks() }
            thread.name = "swiftd-veth-retire"
            thread.start()
        }
    }

    /// Deletes the retiring links at once (all of them, or the one holding `address`) and
    /// releases their addresses. Returns whether there were any.
    @discardableResult
    func reclaimRetiring(address: IPv4Address? = nil) -> Bool {
        let reclaimed = retiring.withLock { state -> [RetiringLink] in
            let matching = state.links.filter { address == nil || $0.address == address }
            state.links.removeAll { address == nil || $0.address == address }
            return matching
        }
        deleteRetired(reclaimed)
        return !reclaimed.isEmpty
    }

    /// Deletes the retiring links and stops accepting new ones, at shutdown.
    func closeRetiring() {
        retiring.withLock { $0.isClosed = true }
        reclaimRetiring()
    }

    /// Allocates the next free address for `owner`. When none is left, it reclaims the
    /// addresses of retiring links first.
    ///
    /// - Throws: `SwiftdError` (`internalError`) when every address is taken.
    func allocate(owner: String) throws -> IPv4Address {
        do {
            return try allocator.allocate(owner: owner)
        } catch {
            guard reclaimRetiring() else { throw error }
            return try allocator.allocate(owner: owner)
        }
    }

    /// Polls the retiring links every 10 ms until none is left. A link that disappeared is
    /// finished, and one older than `retirementGrace` is deleted.
    private func watchRetiringLinks() {
        while true {
            Thread.sleep(forTimeInterval: 0.01)
            let pending = retiring.withLock { state -> [RetiringLink] in
                if state.links.isEmpty { state.isWatched = false }
                return state.links
            }
            guard !pending.isEmpty else { return }
            guard let socket = try? NetlinkSocket() else { continue }
            let now = ContinuousClock.now
            var vanished: [RetiringLink] = []
            var overdue: [RetiringLink] = []
            for link in pending {
                switch Result(catching: { try socket.link(named: link.name) }) {
                case .success(nil):
                    vanished.append(link)
                case .success:
                    if now - link.since >= Self.retirementGrace { overdue.append(link) }
                case .failure:
                    continue
                }
            }
            let finished = Set((vanished + overdue).map(\.name))
            guard !finished.isEmpty else { continue }
            // Only links still listed: `reclaimRetiring` may have reclaimed some meanwhile.
            let claimed = retiring.withLock { state -> [RetiringLink] in
                let listed = state.links.filter { finished.contains($0.name) }
                state.links.removeAll { finished.contains($0.name) }
                return listed
            }
            let overdueNames = Set(overdue.map(\.name))
            deleteRetired(claimed.filter { overdueNames.contains($0.name) }, releasing: false)
            release(claimed)
        }
    }

    /// Deletes the links, where they still exist, and with `releasing` releases their
    /// addresses.
    private func deleteRetired(_ retired: [RetiringLink], releasing: Bool = true) {
        guard !retired.isEmpty else { return }
        let socket = try? NetlinkSocket()
        for link in retired {
            do {
                try socket?.deleteLink(named: link.name)
            } catch let error as NetlinkError where error.isNotFound {
                // The kernel deleted it with the namespace.
            } catch {
                log.warning(
                    "deleting the veth of an exited container failed",
                    [("veth", link.name), ("address", "\(link.address)"), ("error", "\(error)")])
            }
        }
        if releasing { release(retired) }
    }

    private func release(_ retired: [RetiringLink]) {
        guard !retired.isEmpty else { return }
        for link in retired { allocator.release(link.address) }
        saveAllocations()
    }
}
