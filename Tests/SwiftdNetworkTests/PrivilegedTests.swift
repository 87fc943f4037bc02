import Foundation
import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

/// Tests against the real kernel: they create bridges, namespaces and iptables rules with
/// unique names and remove them also on failure. They run one at a time because the driver
/// changes the host-wide ip_forward setting.
@Suite("Kernel", .serialized, .enabled(if: TestSupport.isRoot, "needs CAP_NET_ADMIN"))
struct PrivilegedTests {
    @Suite("NetlinkSocket")
    struct NetlinkSocketTests {
        @Test("creates a bridge with an address, finds it, and deletes it")
        func bridgeLifecycle() throws {
            let name = "swdt" + TestSupport.hex(6)
            let socket = try NetlinkSocket()
            defer { TestSupport.removeBridge(name) }
            try socket.createBridge(named: name, mtu: 1400)
            let duplicate = #expect(throws: NetlinkError.self) {
                try socket.createBridge(named: name, mtu: 1400)
            }
            #expect(duplicate?.alreadyExists == true)
            #expect(duplicate?.description.contains(name) == true)
            try socket.addAddress(IPv4Address("10.213.250.1")!, prefixLength: 24, toLink: name)
            try socket.setLinkUp(name)

            let link = try #require(try socket.link(named: name))
            #expect(link.kind == "bridge")
            #expect(link.mtu == 1400)
            #expect(link.isUp)
            #expect(link.addresses.map(\.description) == ["10.213.250.1/24"])
            #expect(try socket.link(index: link.index)?.name == name)
            let shown = try TestSupport.run(["ip", "-4", "addr", "show", "dev", name]).output
            #expect(shown.contains("inet 10.213.250.1/24"))
            #expect(
                try socket.ipv4Routes().contains {
                    $0.destination.description == "10.213.250.0" && $0.prefixLength == 24
                        && $0.linkIndex == link.index
                })

            try socket.deleteLink(named: name)
            #expect(try socket.link(named: name) == nil)
            let missing = #expect(throws: NetlinkError.self) {
                try socket.deleteLink(named: name)
            }
            #expect(missing?.isNotFound == true)
        }

        @Test("configures a veth end inside another process's namespace")
        func vethInNamespace() throws {
            let host = "swdv" + TestSupport.hex(6)
            let peer = "swdp" + TestSupport.hex(6)
            let namespace = try NetworkNamespaceProcess()
            defer { namespace.stop() }
            let socket = try NetlinkSocket()
            defer { _ = try? socket.deleteLink(named: host) }
            try socket.createVethPair(
                named: host, peerName: peer, mtu: 1500, peerMACAddress: [2, 0x42, 1, 2, 3, 4])
            try socket.moveLink(peer, toNetworkNamespaceOf: namespace.pid)
            #expect(try socket.link(named: peer) == nil)

            let clock = ContinuousClock()
            let start = clock.now
            let inside = try NetlinkSocket(networkNamespaceOf: namespace.pid)
            let opened = clock.now - start
            print("netns socket opened in \(opened)")
            #expect(try inside.link(named: host) == nil)
            try inside.renameLink(peer, to: "eth0")
            try inside.addAddress(IPv4Address("10.213.251.2")!, prefixLength: 24, toLink: "eth0")
            try inside.setLinkUp("eth0")
            try inside.addDefaultRoute(via: IPv4Address("10.213.251.1")!, link: "eth0")

            let link = try namespace.run(["ip", "link", "show", "eth0"]).output
            #expect(link.contains("02:42:01:02:03:04"))
            let routes = try namespace.run(["ip", "-4", "route"]).output
            #expect(routes.contains("default via 10.213.251.1 dev eth0"))
            // The caller's own thread stayed in the host namespace.
            #expect(try NetlinkSocket().link(named: host) != nil)
        }

        @Test("reports a missing process as a system call error")
        func missingProcess() {
            #expect(throws: SystemCallError.self) {
                try NetlinkSocket(networkNamespaceOf: Int32.max)
            }
        }
    }

    @Suite("IPTablesTable")
    struct IPTablesTableTests {
        @Test("appends without duplicates, lists, deletes and removes a chain")
        func chainLifecycle() throws {
            let chain = "SWIFTD-T" + TestSupport.hex(6).uppercased()
            let bridge = "swdt" + TestSupport.hex(6)
            defer {
                _ = try? IPTablesTable.modify(.nat) { try $0.deleteChain(chain) }
            }
            let masquerade = IPTablesRule(
                source: "10.213.252.0/24", outInterface: bridge, outInterfaceNegated: true,
                target: "MASQUERADE")
            let accept = IPTablesRule(
                inInterface: bridge, outInterface: bridge, target: "ACCEPT")
            let added = try IPTablesTable.modify(.nat) { table in
                try table.createChainIfMissing(chain)
                return [
                    try table.appendRule(masquerade, to: chain),
                    try table.appendRule(masquerade, to: chain),
                    try table.appendRule(accept, to: chain),
                ]
            }
            #expect(added == [true, false, true])
            #expect(
                try IPTablesTable.modify(.nat) { try $0.rules(in: chain) } == [masquerade, accept])

            // Golden text: what iptables-legacy itself prints for these rules.
            let shown = try TestSupport.run(["iptables-legacy", "-t", "nat", "-S", chain]).output
            #expect(
                shown == """
                    -N \(chain)
                    -A \(chain) -s 10.213.252.0/24 ! -o \(bridge) -j MASQUERADE
                    -A \(chain) -i \(bridge) -o \(bridge) -j ACCEPT

                    """)
            #expect("-A \(chain) \(masquerade)" == shown.split(separator: "\n")[1])

            let deleted = try IPTablesTable.modify(.nat) {
                try $0.deleteRule(masquerade, from: chain)
            }
            #expect(deleted == 1)
            try IPTablesTable.modify(.nat) { try $0.deleteChain(chain) }
            #expect(try TestSupport.savedRules(mentioning: chain).isEmpty)
        }

        @Test("builds a conntrack state match")
        func conntrackMatch() throws {
            let chain = "SWIFTD-T" + TestSupport.hex(6).uppercased()
            let bridge = "swdt" + TestSupport.hex(6)
            defer { _ = try? IPTablesTable.modify(.filter) { try $0.deleteChain(chain) } }
            let established = IPTablesRule(
                outInterface: bridge, connectionStates: [.related, .established], target: "ACCEPT")
            let fresh = IPTablesRule(
                outInterface: bridge, connectionStates: [.new], target: "DROP")
            let added = try IPTablesTable.modify(.filter) { table in
                try table.createChainIfMissing(chain)
                return [
                    try table.appendRule(established, to: chain),
                    try table.appendRule(established, to: chain),
                    try table.appendRule(fresh, to: chain),
                ]
            }
            #expect(added == [true, false, true])

            // Golden text: what iptables-legacy itself prints for these rules.
            let printed = try TestSupport.run(["iptables-legacy", "-S", chain]).output
            #expect(
                printed == """
                    -N \(chain)
                    -A \(chain) -o \(bridge) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
                    -A \(chain) -o \(bridge) -m conntrack --ctstate NEW -j DROP

                    """)
            #expect("-A \(chain) \(established)" == printed.split(separator: "\n")[1])
            // iptables finds the rule that libiptc wrote, so both build the same entry.
            let check = try TestSupport.run(
                [
                    "iptables-legacy", "-C", chain, "-o", bridge, "-m", "conntrack", "--ctstate",
                    "RELATED,ESTABLISHED", "-j", "ACCEPT",
                ])
            #expect(check.status == 0)

            let deleted = try IPTablesTable.modify(.filter) { table in
                try table.deleteRule(established, from: chain)
            }
            #expect(deleted == 1)
            let left = try IPTablesTable.modify(.filter) { try $0.rules(in: chain) }
            #expect(left.map(\.target) == ["DROP"])
        }

        @Test("commits nothing when the body throws")
        func rollsBack() throws {
            let chain = "SWIFTD-T" + TestSupport.hex(6).uppercased()
            defer { _ = try? IPTablesTable.modify(.filter) { try $0.deleteChain(chain) } }
            #expect(throws: SwiftdTestError.self) {
                try IPTablesTable.modify(.filter) { table in
                    try table.createChainIfMissing(chain)
                    throw SwiftdTestError("abandon")
                }
            }
            #expect(try TestSupport.savedRules(mentioning: chain).isEmpty)
        }
    }
}
