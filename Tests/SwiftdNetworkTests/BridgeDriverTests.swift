import Foundation
import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

extension PrivilegedTests {
    @Suite("BridgeDriver")
    struct BridgeDriverTests {
        static let ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

        /// Makes a unique bridge name and the third byte of a unique 10.213.x.1/24 address.
        func uniqueBridge() -> (name: String, third: Int) {
            ("swdt" + TestSupport.hex(6), Int.random(in: 0...199))
        }

        @Test("sets up a bridge, connects two namespaces, and removes everything")
        func fullLifecycle() throws {
            let (name, third) = uniqueBridge()
            let prefix = "10.213.\(third)"
            let originalForward = try FileSystem.readString(Self.ipForwardPath)
            defer { TestSupport.removeBridge(name) }

            // A stale rule for this bridge from an earlier run, with another subnet.
            let stale = IPTablesRule(
                source: "10.214.\(third).0/24", outInterface: name, outInterfaceNegated: true,
                target: "MASQUERADE")
            try IPTablesTable.modify(.nat) { table in
                try table.createChainIfMissing(BridgeRules.natChain)
                try table.appendRule(stale, to: BridgeRules.natChain)
            }

            let clock = ContinuousClock()
            var start = clock.now
            let driver = try BridgeDriver(
                BridgeConfiguration(bridgeName: name, bridgeIP: "\(prefix).1/24"))
            print("driver init took \(clock.now - start)")
            defer { _ = try? driver.shutdown() }
            #expect(driver.bridgeName == name)
            #expect(driver.subnet == "\(prefix).0/24")
            #expect(driver.gateway == "\(prefix).1")
            #expect(driver.prefixLength == 24)
            #expect(try FileSystem.readString(Self.ipForwardPath) == "1\n")

            // Golden rule text, as iptables-legacy prints it; the stale rule is gone. The order
            // of the tables in the output follows the order their modules were loaded in.
            let rules = try TestSupport.savedRules(mentioning: name).sorted()
            #expect(
                rules == [
                    "-A SWIFTD-POSTROUTING -s \(prefix).0/24 ! -o \(name) -j MASQUERADE",
                    "-A SWIFTD-FORWARD -i \(name) -o \(name) -j ACCEPT",
                    "-A SWIFTD-FORWARD -o \(name) -m conntrack --ctstate RELATED,ESTABLISHED "
                        + "-j ACCEPT",
                    "-A SWIFTD-FORWARD -o \(name) -j SWIFTD-PORTS",
                    "-A SWIFTD-PORTS ! -i \(name) -o \(name) -j DROP",
                    "-A SWIFTD-FORWARD -i \(name) ! -o \(name) -j ACCEPT",
                    "-A SWIFTD-ISOLATION-STAGE-1 -i \(name) ! -o \(name) "
                        + "-j SWIFTD-ISOLATION-STAGE-2",
                    "-A SWIFTD-ISOLATION-STAGE-2 -o \(name) -j DROP",
                    "-A SWIFTD -i \(name) -j RETURN",
                ].sorted())
            let save = try TestSupport.run(["iptables-legacy-save"]).output
            #expect(save.contains("-A POSTROUTING -j SWIFTD-POSTROUTING"))
            #expect(save.contains("-A FORWARD -j SWIFTD-FORWARD"))
            #expect(save.contains("-A SWIFTD-FORWARD -j SWIFTD-ISOLATION-STAGE-1"))

            let first = try NetworkNamespaceProcess()
            defer { first.stop() }
            let second = try NetworkNamespaceProcess()
            defer { second.stop() }
            start = clock.now
            let one = try driver.connect(containerID: "c1", pid: first.pid)
            print("connect took \(clock.now - start)")
            defer { _ = try? driver.disconnect(one) }
            let two = try driver.connect(containerID: "c2", pid: second.pid)
            defer { _ = try? driver.disconnect(two) }
            #expect(
                one
                    == Endpoint(
                        containerID: "c1", hostInterface: one.hostInterface,
                        ipAddress: "\(prefix).2", prefixLength: 24, gateway: "\(prefix).1",
                        macAddress: String(format: "02:42:0a:d5:%02x:02", third), id: one.id))
            #expect(one.id?.count == 64)
            #expect(one.id?.allSatisfy(\.isHexDigit) == true)
            #expect(two.id != one.id)
            #expect(two.ipAddress == "\(prefix).3")
            #expect(one.hostInterface.hasPrefix("veth"))
            #expect(one.hostInterface.count == 11)

            let addresses = try first.run(["ip", "-4", "addr", "show", "eth0"]).output
            #expect(addresses.contains("inet \(prefix).2/24"))
            let link = try first.run(["ip", "link", "show", "eth0"]).output
            #expect(link.contains(one.macAddress))
            #expect(link.contains("UP"))
            let routes = try first.run(["ip", "-4", "route"]).output
            #expect(routes.contains("default via \(prefix).1 dev eth0"))
            let loopback = try first.run(["ip", "link", "show", "lo"]).output
            #expect(loopback.contains("UP"))
            let hostLink = try #require(try NetlinkSocket().link(named: one.hostInterface))
            let bridge = try #require(try NetlinkSocket().link(named: name))
            #expect(hostLink.masterIndex == bridge.index)
            #expect(hostLink.isUp)

            #expect(try first.run(["ping", "-c1", "-W2", driver.gateway]).status == 0)
            #expect(try first.run(["ping", "-c1", "-W2", two.ipAddress]).status == 0)
            #expect(try second.run(["ping", "-c1", "-W2", one.ipAddress]).status == 0)

            start = clock.now
            try driver.disconnect(one)
            print("disconnect took \(clock.now - start)")
            #expect(try NetlinkSocket().link(named: one.hostInterface) == nil)
            // The kernel may remove the peer in the other namespace a moment after the host end.
            #expect(try eventually(within: 2) { try first.run(["ip", "link", "show", "eth0"]).status != 0 })
            // The released address is handed out again after the others.
            try driver.reserve(one)
            try driver.reserve(one)
            var other = one
            other.containerID = "c9"
            #expect(throws: SwiftdError.self) { try driver.reserve(other) }

            start = clock.now
            try driver.shutdown()
            print("shutdown took \(clock.now - start)")
            try driver.shutdown()
            #expect(try NetlinkSocket().link(named: name) == nil)
            #expect(try TestSupport.savedRules(mentioning: name).isEmpty)
            #expect(try FileSystem.readString(Self.ipForwardPath) == originalForward)
            #expect(throws: SwiftdError.self) {
                try driver.connect(containerID: "c3", pid: first.pid)
            }
        }

        @Test("keeps another bridge's rules and the shared chains until the last one goes")
        func twoDaemons() throws {
            let (nameA, thirdA) = uniqueBridge()
            let nameB = "swdt" + TestSupport.hex(6)
            // Another daemon's rules (a user's, or a concurrent test's) keep the shared chains.
            let before = try TestSupport.run(["iptables-legacy-save"]).output
            let chainsWereShared = before.contains("SWIFTD-POSTROUTING") || before.contains("SWIFTD-FORWARD")
            defer {
                TestSupport.removeBridge(nameA)
                TestSupport.removeBridge(nameB)
            }
            let a = try BridgeDriver(
                BridgeConfiguration(bridgeName: nameA, bridgeIP: "10.213.\(thirdA).1/24"))
            defer { _ = try? a.shutdown() }
            let b = try BridgeDriver(
                BridgeConfiguration(bridgeName: nameB, bridgeIP: "10.213.\(thirdA + 50).1/24"))
            defer { _ = try? b.shutdown() }
            // Starting again for the same bridge adds no duplicates.
            try BridgeRules.install(
                bridge: nameA, subnet: IPv4Subnet("10.213.\(thirdA).0/24")!)
            #expect(try TestSupport.savedRules(mentioning: nameA).count == 9)

            try a.shutdown()
            #expect(try TestSupport.savedRules(mentioning: nameA).isEmpty)
            #expect(try TestSupport.savedRules(mentioning: nameB).count == 9)
            let save = try TestSupport.run(["iptables-legacy-save"]).output
            #expect(save.contains("-A FORWARD -j SWIFTD-FORWARD"))
            #expect(
                save.split(separator: "\n").filter { $0 == "-A FORWARD -j SWIFTD-FORWARD" }.count
                    == 1)
            let isolationJump = "-A SWIFTD-FORWARD -j SWIFTD-ISOLATION-STAGE-1"
            #expect(save.split(separator: "\n").filter { $0 == isolationJump }.count == 1)

            try b.shutdown()
            #expect(try TestSupport.savedRules(mentioning: nameB).isEmpty)
            let after = try TestSupport.run(["iptables-legacy-save"]).output
            if !chainsWereShared {
                #expect(!after.contains("SWIFTD-POSTROUTING"))
                #expect(!after.contains("SWIFTD-FORWARD"))
                #expect(!after.contains("SWIFTD-ISOLATION"))
            }
        }

        @Test("adopts an existing bridge's address and refuses a different --bip")
        func existingBridge() throws {
            let (name, third) = uniqueBridge()
            let socket = try NetlinkSocket()
            defer { TestSupport.removeBridge(name) }
            try socket.createBridge(named: name, mtu: 1500)
            try socket.addAddress(
                IPv4Address("10.213.\(third).1")!, prefixLength: 24, toLink: name)

            let error = #expect(throws: SwiftdError.self) {
                try BridgeDriver(
                    BridgeConfiguration(bridgeName: name, bridgeIP: "10.213.\(third).9/24"))
            }
            #expect(error?.kind == .conflict)
            #expect(error?.message.contains("10.213.\(third).1/24") == true)
            #expect(error?.message.contains("10.213.\(third).9/24") == true)

            let driver = try BridgeDriver(
                BridgeConfiguration(bridgeName: name, enableIPTables: false))
            #expect(driver.subnet == "10.213.\(third).0/24")
            try driver.shutdown()
            // A bridge the driver did not create stays.
            #expect(try socket.link(named: name) != nil)
        }

        @Test("chooses a free subnet for a new bridge without --bip")
        func choosesSubnet() throws {
            let (name, _) = uniqueBridge()
            defer { TestSupport.removeBridge(name) }
            let socket = try NetlinkSocket()
            let expected = SubnetChooser.chooseSubnet(
                avoiding: try socket.ipv4Routes(), addresses: try socket.ipv4Addresses())
            let driver = try BridgeDriver(
                BridgeConfiguration(bridgeName: name, enableIPTables: false))
            defer { _ = try? driver.shutdown() }
            #expect(driver.subnet == expected?.description)
            #expect(driver.gateway.hasSuffix(".1"))
            try driver.shutdown()
        }

        @Test("undoes a failed connect")
        func failedConnect() throws {
            try withPlainDriver { driver in
                let namespace = try NetworkNamespaceProcess()
                defer { namespace.stop() }
                // An eth0 already in the namespace makes the kernel refuse the pair.
                #expect(try namespace.run(["ip", "link", "add", "eth0", "type", "bridge"]).status == 0)
                #expect(throws: NetlinkError.self) {
                    try driver.connect(containerID: "c1", pid: namespace.pid)
                }
                // Only this bridge's ports are counted: other tests on the host add and delete
                // links at the same time.
                let ports = try TestSupport.run(["ip", "-o", "link", "show", "master", driver.bridgeName]).output
                #expect(ports.isEmpty)
                #expect(driver.allocator.allocatedCount == 0)
            }
        }

        @Test("undoes a connect that fails in the namespace")
        func failedInNamespace() throws {
            try withPlainDriver { driver in
                let namespace = try NetworkNamespaceProcess()
                defer { namespace.stop() }
                // A default route already there makes the last step fail, after the pair exists.
                #expect(try namespace.run(["ip", "link", "set", "lo", "up"]).status == 0)
                #expect(try namespace.run(["ip", "route", "add", "default", "dev", "lo"]).status == 0)
                #expect(throws: NetlinkError.self) {
                    try driver.connect(containerID: "c1", pid: namespace.pid)
                }
                let ports = try TestSupport.run(["ip", "-o", "link", "show", "master", driver.bridgeName]).output
                #expect(ports.isEmpty)
                // The kernel may remove the peer in the other namespace a moment after the host end.
                #expect(try eventually(within: 2) { try namespace.run(["ip", "link", "show", "eth0"]).status != 0 })
                #expect(driver.allocator.allocatedCount == 0)
            }
        }

        /// Runs `body` with a driver on a new bridge without iptables rules, and removes both.
        func withPlainDriver(_ body: (BridgeDriver) throws -> Void) throws {
            let (name, third) = uniqueBridge()
            defer { TestSupport.removeBridge(name) }
            let driver = try BridgeDriver(
                BridgeConfiguration(
                    bridgeName: name, bridgeIP: "10.213.\(third).1/24", enableIPTables: false))
            defer { _ = try? driver.shutdown() }
            try body(driver)
        }

        /// Polls `condition` every 20 ms for up to `seconds`; returns whether it came true.
        func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
            for _ in 0..<Int(seconds * 50) {
                if try condition() { return true }
                usleep(20_000)
            }
            return try condition()
        }

        @Test("exited link goes with its namespace")
        func retiredWithNamespace() throws {
            try withPlainDriver { driver in
                let namespace = try NetworkNamespaceProcess()
                defer { namespace.stop() }
                let endpoint = try driver.connect(containerID: "c1", pid: namespace.pid)
                namespace.stop()
                let clock = ContinuousClock()
                let start = clock.now
                try driver.disconnect(endpoint, exited: true)
                print("disconnect of an exited container took \(clock.now - start)")
                let released = try eventually(within: 5) {
                    try NetlinkSocket().link(named: endpoint.hostInterface) == nil
                        && driver.allocator.allocatedCount == 0
                }
                #expect(released)
                // Gone before the grace ended: the kernel deleted it with the namespace.
                #expect(clock.now - start < BridgeDriver.retirementGrace)
            }
        }

        @Test("retiring link deleted after the grace")
        func retiredAfterGrace() throws {
            try withPlainDriver { driver in
                let namespace = try NetworkNamespaceProcess()
                defer { namespace.stop() }
                let endpoint = try driver.connect(containerID: "c1", pid: namespace.pid)
                try driver.disconnect(endpoint, exited: true)
                #expect(try namespace.run(["ip", "link", "show", "eth0"]).status == 0)
                let deleted = try eventually(within: 6) {
                    try NetlinkSocket().link(named: endpoint.hostInterface) == nil
                        && driver.allocator.allocatedCount == 0
                }
                #expect(deleted)
                // The kernel may remove the peer in the other namespace a moment after the host end.
                #expect(try eventually(within: 2) { try namespace.run(["ip", "link", "show", "eth0"]).status != 0 })
            }
        }

        @Test("retiring address reclaimed on request")
        func retiringAddressReclaimed() throws {
            try withPlainDriver { driver in
                let first = try NetworkNamespaceProcess()
                defer { first.stop() }
                let second = try NetworkNamespaceProcess()
                defer { second.stop() }
                let old = try driver.connect(containerID: "c1", pid: first.pid)
                try driver.disconnect(old, exited: true)
                let new = try driver.connect(containerID: "c2", pid: second.pid, address: old.ipAddress)
                #expect(new.ipAddress == old.ipAddress)
                #expect(try NetlinkSocket().link(named: old.hostInterface) == nil)
                // The kernel may remove the peer in the other namespace a moment after the host end.
                #expect(try eventually(within: 2) { try first.run(["ip", "link", "show", "eth0"]).status != 0 })
                #expect(driver.allocator.allocations[IPv4Address(old.ipAddress)!] == "c2")
                // The second container's address stays when the first one's retirement ends.
                usleep(100_000)
                #expect(driver.allocator.allocations[IPv4Address(old.ipAddress)!] == "c2")
            }
        }
    }
}
