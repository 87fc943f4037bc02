import SwiftdIPTables
import SwiftdNetlink

/// The iptables rules of one bridge, kept in chains shared by every swiftd bridge on the host.
///
/// nat: `POSTROUTING -j SWIFTD-POSTROUTING`, and in that chain, per bridge,
/// `-s SUBNET ! -o BRIDGE -j MASQUERADE`. filter: `FORWARD -j SWIFTD-FORWARD`, and in that
/// chain, per bridge, `-o BRIDGE -j ACCEPT`, `-i BRIDGE ! -o BRIDGE -j ACCEPT` and
/// `-i BRIDGE -o BRIDGE -j ACCEPT`. The jumps go at the top of the built-in chains, as Docker
/// inserts its rules. A bridge's rules are recognised by naming the bridge as an interface, so
/// several daemons with different bridges share the chains. A chain and the jump to it go when
/// the last bridge's rules go.
enum BridgeRules {
    static let natChain = "SWIFTD-POSTROUTING"
    static let filterChain = "SWIFTD-FORWARD"

    /// Returns the built-in chain, the shared chain and the bridge's rules for each table.
    static func layout(bridge: String, subnet: IPv4Subnet)
        -> [(table: IPTablesTableName, builtin: String, chain: String, rules: [IPTablesRule])]
    {
        [
            (
                .nat, "POSTROUTING", natChain,
                [
                    IPTablesRule(
                        source: subnet.description, outInterface: bridge,
                        outInterfaceNegated: true, target: "MASQUERADE")
                ]
            ),
            (
                .filter, "FORWARD", filterChain,
                [
                    IPTablesRule(outInterface: bridge, target: "ACCEPT"),
                    IPTablesRule(
                        inInterface: bridge, outInterface: bridge, outInterfaceNegated: true,
                        target: "ACCEPT"),
                    IPTablesRule(inInterface: bridge, outInterface: bridge, target: "ACCEPT"),
                ]
            ),
        ]
    }

    /// Replaces the bridge's rules (stale ones from an earlier run included) with the rules
    /// for `subnet`, creating the chains and jumps as needed. Each table changes in one commit.
    static func install(bridge: String, subnet: IPv4Subnet) throws {
        for part in layout(bridge: bridge, subnet: subnet) {
            try IPTablesTable.modify(part.table) { table in
                try table.createChainIfMissing(part.chain)
                try table.deleteRules(from: part.chain) { $0.mentions(interface: bridge) }
                for rule in part.rules { try table.appendRule(rule, to: part.chain) }
                try table.insertRule(IPTablesRule(target: part.chain), into: part.builtin)
            }
        }
    }

    /// Removes every rule naming `bridge` from the shared chains, and each chain with the jump
    /// to it once the chain is empty.
    static func remove(bridge: String) throws {
        let placeholder = IPv4Subnet(containing: IPv4Address(0), prefixLength: 32)
        for part in layout(bridge: bridge, subnet: placeholder) {
            try IPTablesTable.modify(part.table) { table in
                guard table.chainExists(part.chain) else { return }
                try table.deleteRules(from: part.chain) { $0.mentions(interface: bridge) }
                guard try table.rules(in: part.chain).isEmpty else { return }
                try table.deleteRule(IPTablesRule(target: part.chain), from: part.builtin)
                if try table.references(to: part.chain) == 0 {
                    try table.deleteChain(part.chain)
                }
            }
        }
    }
}
