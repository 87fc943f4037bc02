import SwiftdIPTables
import SwiftdNetlink

/// The iptables rules of one bridge, kept in chains shared by every swiftd bridge on the host.
///
/// nat: `POSTROUTING -j SWIFTD-POSTROUTING`, and in that chain, per bridge,
/// `-s SUBNET ! -o BRIDGE -j MASQUERADE`; `PREROUTING -m addrtype --dst-type LOCAL -j SWIFTD`
/// and `OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j SWIFTD`, with the DNAT rules of
/// published ports in SWIFTD after each non-internal bridge's `-i BRIDGE -j RETURN`. filter: `FORWARD -j SWIFTD-FORWARD`, and in that chain, per
/// bridge, `-i BRIDGE -o BRIDGE -j ACCEPT` (or `DROP` without inter-container communication),
/// `-o BRIDGE -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-o BRIDGE -j SWIFTD-PORTS`
/// and `-i BRIDGE ! -o BRIDGE -j ACCEPT`, as dockerd writes its FORWARD rules. `SWIFTD-PORTS`
/// (dockerd's filter `DOCKER` chain) decides on new connections into a bridge from other
/// interfaces: the ACCEPT rules of published ports go at its top, and each bridge's
/// `! -i BRIDGE -o BRIDGE -j DROP` at its end, as Docker 28 drops direct routing to
/// unpublished ports. Without that DROP, the FORWARD policy
/// (ACCEPT unless the host sets it) would let a host that routes to a bridge subnet reach every
/// container port. The jumps go at the top of the built-in chains, as Docker inserts its rules.
/// Every rule of a bridge names the bridge as an interface, which is how several daemons with
/// different bridges share the chains and how stale rules are found. A chain and the jumps to it
/// go when the last bridge's rules go.
///
/// Bridges are isolated from each other as Docker's two isolation stages do it: the top of
/// `SWIFTD-FORWARD` jumps to `SWIFTD-ISOLATION-STAGE-1`, which sends what leaves each bridge
/// for another interface (`-i BRIDGE ! -o BRIDGE`) to `SWIFTD-ISOLATION-STAGE-2`, which drops
/// what goes out to any bridge (`-o BRIDGE -j DROP`). Traffic to and from other interfaces
/// returns to `SWIFTD-FORWARD`.
enum BridgeRules {
    static let natChain = "SWIFTD-POSTROUTING"
    static let filterChain = "SWIFTD-FORWARD"
    static let portChain = "SWIFTD"
    /// The filter chain that decides on new connections into a bridge from other interfaces.
    static let publishedChain = "SWIFTD-PORTS"
    static let inputChain = "SWIFTD-INPUT"
    static let isolationChain1 = "SWIFTD-ISOLATION-STAGE-1"
    static let isolationChain2 = "SWIFTD-ISOLATION-STAGE-2"
    /// The chain of internal bridges' rules against traffic to the host's other addresses,
    /// made only while an internal bridge exists.
    static let internalChain = Chain(
        table: .filter, name: inputChain, jumps: [("INPUT", IPTablesRule(target: inputChain))])

    /// A shared chain and the rules in built-in chains that jump to it. Chain names are unique
    /// across the two tables, because `rules` keys a bridge's rules by chain name alone.
    struct Chain {
        let table: IPTablesTableName
        let name: String
        let jumps: [(builtin: String, rule: IPTablesRule)]
    }

    static let chains: [Chain] = [
        Chain(
            table: .nat, name: natChain,
            jumps: [("POSTROUTING", IPTablesRule(target: natChain))]),
        Chain(
            table: .nat, name: portChain,
            jumps: [
                ("PREROUTING", IPTablesRule(destinationIsLocal: true, target: portChain)),
                (
                    "OUTPUT",
                    IPTablesRule(
                        destination: "127.0.0.0/8", destinationNegated: true,
                        destinationIsLocal: true, target: portChain)
                ),
            ]),
        // Each chain comes after the chains that its rules and jumps need: `SWIFTD-FORWARD`
        // jumps to `SWIFTD-PORTS` and to stage 1, and stage 1 to stage 2. `remove` goes in
        // the reverse order.
        Chain(table: .filter, name: publishedChain, jumps: []),
        Chain(
            table: .filter, name: filterChain,
            jumps: [("FORWARD", IPTablesRule(target: filterChain))]),
        Chain(table: .filter, name: isolationChain2, jumps: []),
        Chain(
            table: .filter, name: isolationChain1,
            jumps: [(filterChain, IPTablesRule(target: isolationChain1))]),
    ]

    /// Returns the rules that keep the traffic of `bridge` from other bridges, by chain.
    static func isolationRules(bridge: String) -> [String: [IPTablesRule]] {
        [
            isolationChain1: [
                IPTablesRule(
                    inInterface: bridge, outInterface: bridge, outInterfaceNegated: true,
                    target: isolationChain2)
            ],
            isolationChain2: [IPTablesRule(outInterface: bridge, target: "DROP")],
        ]
    }

    /// The bridge's own rules, by chain. Without `masquerade` the bridge gets no MASQUERADE
    /// rule. A bridge that is not internal gets a RETURN rule at the top of `SWIFTD`. An internal bridge gets no MASQUERADE rule either, and rules
    /// that drop what enters or leaves it through any other interface and what it sends to
    /// the host's addresses outside its subnet; these go at the top of their chains, before
    /// other bridges' ACCEPT rules.
    static func rules(
        bridge: String, subnet: IPv4Subnet, interContainer: Bool, isInternal: Bool,
        masquerade: Bool = true
    ) -> (append: [String: [IPTablesRule]], top: [String: [IPTablesRule]]) {
        guard !isInternal else {
            let append = [
                filterChain: [
                    IPTablesRule(
                        inInterface: bridge, outInterface: bridge,
                        target: interContainer ? "ACCEPT" : "DROP")
                ]
            ]
            let top = [
                filterChain: [
                    IPTablesRule(
                        inInterface: bridge, outInterface: bridge, outInterfaceNegated: true,
                        target: "DROP"),
                    IPTablesRule(
                        inInterface: bridge, inInterfaceNegated: true, outInterface: bridge,
                        target: "DROP"),
                ],
                inputChain: [
                    IPTablesRule(
                        destination: subnet.description, destinationNegated: true,
                        inInterface: bridge, target: "DROP")
                ],
            ]
            return (append.merging(isolationRules(bridge: bridge)) { $0 + $1 }, top)
        }
        var append = [
            filterChain: [
                IPTablesRule(
                    inInterface: bridge, outInterface: bridge,
                    target: interContainer ? "ACCEPT" : "DROP"),
                IPTablesRule(
                    outInterface: bridge, connectionStates: [.related, .established],
                    target: "ACCEPT"),
                IPTablesRule(outInterface: bridge, target: publishedChain),
                IPTablesRule(
                    inInterface: bridge, outInterface: bridge, outInterfaceNegated: true,
                    target: "ACCEPT"),
            ],
            publishedChain: [
                IPTablesRule(
                    inInterface: bridge, inInterfaceNegated: true, outInterface: bridge,
                    target: "DROP")
            ],
        ]
        // What comes in from the bridge skips the DNAT rules, so a container reaches a port
        // published on another bridge through the userland proxy; DNAT would send it across
        // the isolation rules, which drop it. dockerd adds the same rule with its proxy on.
        let top = [portChain: [IPTablesRule(inInterface: bridge, target: "RETURN")]]
        if masquerade {
            append[natChain] = [
                IPTablesRule(
                    source: subnet.description, outInterface: bridge,
                    outInterfaceNegated: true, target: "MASQUERADE")
            ]
        }
        return (append.merging(isolationRules(bridge: bridge)) { $0 + $1 }, top)
    }

    /// Replaces the bridge's rules (stale ones from an earlier run included, published ports
    /// and links too) with the rules for `subnet`, creating the chains and jumps as needed.
    /// Each table changes in one commit.
    static func install(
        bridge: String, subnet: IPv4Subnet, interContainer: Bool = true, isInternal: Bool = false,
        masquerade: Bool = true
    ) throws {
        let own = rules(
            bridge: bridge, subnet: subnet, interContainer: interContainer, isInternal: isInternal,
            masquerade: masquerade)
        let used = isInternal ? chains + [internalChain] : chains
        for tableName in [IPTablesTableName.nat, .filter] {
            try IPTablesTable.modify(tableName) { table in
                if !isInternal, table.chainExists(inputChain) {
                    try table.deleteRules(from: inputChain) { $0.mentions(interface: bridge) }
                }
                for chain in used where chain.table == tableName {
                    try table.createChainIfMissing(chain.name)
                    try table.deleteRules(from: chain.name) { $0.mentions(interface: bridge) }
                    for rule in own.append[chain.name] ?? [] {
                        try table.appendRule(rule, to: chain.name)
                    }
                    for rule in own.top[chain.name] ?? [] {
                        try table.insertRule(rule, into: chain.name)
                    }
                    for jump in chain.jumps {
                        try table.insertRule(jump.rule, into: jump.builtin)
                    }
                }
            }
        }
    }

    /// Removes every rule naming `bridge` from the shared chains, and each chain with the jumps
    /// to it once the chain is empty.
    static func remove(bridge: String) throws {
        for tableName in [IPTablesTableName.nat, .filter] {
            try IPTablesTable.modify(tableName) { table in
                for chain in (chains + [internalChain]).reversed() where chain.table == tableName {
                    guard table.chainExists(chain.name) else { continue }
                    try table.deleteRules(from: chain.name) { $0.mentions(interface: bridge) }
                    guard try table.rules(in: chain.name).isEmpty else { continue }
                    for jump in chain.jumps {
                        try table.deleteRule(jump.rule, from: jump.builtin)
                    }
                    if try table.references(to: chain.name) == 0 {
                        try table.deleteChain(chain.name)
                    }
                }
            }
        }
    }

    /// Applies `changes` (rule, chain, add or delete) in one commit per table; appends go to the
    /// end of the chain, or to the top when `top` is set. If anything fails, nothing changes.
    ///
    /// Before adding rules, the shared chains of the table and the jumps to them are created
    /// again if missing, because another daemon's shutdown deletes a chain that is empty at
    /// that moment, such as `SWIFTD` while no port is published.
    static func apply(_ changes: [RuleChange]) throws {
        for tableName in [IPTablesTableName.nat, .filter] {
            let mine = changes.filter { $0.table == tableName }
            if mine.isEmpty { continue }
            try IPTablesTable.modify(tableName) { table in
                if mine.contains(where: \.add) {
                    for chain in chains where chain.table == tableName {
                        try table.createChainIfMissing(chain.name)
                        for jump in chain.jumps {
                            try table.insertRule(jump.rule, into: jump.builtin)
                        }
                    }
                }
                for change in mine {
                    if !change.add {
                        try table.deleteRule(change.rule, from: change.chain)
                    } else if change.top {
                        try table.insertRule(change.rule, into: change.chain)
                    } else {
                        try table.appendRule(change.rule, to: change.chain)
                    }
                }
            }
        }
    }
}

/// One rule to add to or delete from a shared chain.
struct RuleChange {
    var table: IPTablesTableName
    var chain: String
    var rule: IPTablesRule
    var add: Bool
    var top = false
}
