import SwiftdNetlink
import SwiftdSystem

extension BridgeDriver {
    /// Removes what a driver of `bridgeName` with this state directory left on the host when
    /// its daemon was killed. That is the bridge's iptables rules (DNAT rules of published
    /// ports included) and the saved leases. The bridge goes too if the state directory
    /// records that swiftd made it, and `ip_forward` gets back the value it had before.
    ///
    /// A daemon calls this at start-up for the bridge of its previous run when it now uses
    /// another one, because no driver of that name will run to replace its rules. A bridge
    /// that swiftd did not make keeps everything but its rules. Every step is tried even if
    /// an earlier one fails; the first failure is thrown.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) for a name that no interface can have;
    ///   `IPTablesError`, `NetlinkError` or `SystemCallError` when a step fails.
    public static func removeLeftovers(
        of bridgeName: String, stateDirectory: String, log: Logger
    ) throws {
        guard isValidBridgeName(bridgeName) else {
            throw SwiftdError(.invalidArgument, "invalid bridge name \"\(bridgeName)\"")
        }
        var failures: [any Error] = []
        // Also with --iptables=false now: the old DNAT rules would still catch new ports.
        do { try BridgeRules.remove(bridge: bridgeName) } catch { failures.append(error) }
        let ownershipPath = "\(stateDirectory)/\(bridgeName)-created"
        let owned = FileSystem.exists(ownershipPath)
        if owned {
            do {
                try NetlinkSocket().deleteLink(named: bridgeName)
            } catch let error as NetlinkError where error.isNotFound {
                // Already gone: someone deleted it by hand.
            } catch {
                failures.append(error)
            }
            do { try FileSystem.remove(ownershipPath) } catch { failures.append(error) }
        }
        let ipForwardPath = "\(stateDirectory)/\(bridgeName)-ip-forward"
        if FileSystem.exists(ipForwardPath) {
            do {
                let saved = try FileSystem.readString(ipForwardPath).filter { !$0.isWhitespace }
                if saved == "0" || saved == "1" {
                    try FileSystem.write(Self.ipForwardPath, saved + "\n")
                }
                try FileSystem.remove(ipForwardPath)
            } catch {
                failures.append(error)
            }
        }
        let statePath = "\(stateDirectory)/\(bridgeName)-addresses.json"
        if FileSystem.exists(statePath) {
            do { try FileSystem.remove(statePath) } catch { failures.append(error) }
        }
        log.info(
            "previous bridge cleaned up",
            [("bridge", bridgeName), ("deleted", "\(owned)"), ("errors", "\(failures.count)")])
        if let error = failures.first { throw error }
    }
}
