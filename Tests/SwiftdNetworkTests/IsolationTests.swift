import Foundation
import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

extension PrivilegedTests {
    @Suite("Bridge isolation")
    struct IsolationTests {
        @Test("drops traffic between two bridges")
        func bridgesIsolated() throws {
            let third = Int.random(in: 0...99)
            let names = ["swdt" + TestSupport.hex(6), "swdt" + TestSupport.hex(6)]
            let prefixes = ["10.220.\(third)", "10.220.\(third + 100)"]
            let before = try normalizedSave(names[0], prefixes[0])
            defer { for name in names { TestSupport.removeBridge(name) } }
            let drivers = try zip(names, prefixes).map { name, prefix in
                try BridgeDriver(BridgeConfiguration(bridgeName: name, bridgeIP: "\(prefix).1/24"))
            }
            defer { for driver in drivers { _ = try? driver.shutdown() } }
            let client = try NetworkNamespaceProcess()
            defer { client.stop() }
            let server = try NetworkNamespaceProcess()
            defer { server.stop() }
            let neighbour = try NetworkNamespaceProcess()
            defer { neighbour.stop() }
            _ = try drivers[0].connect(containerID: "i1", pid: client.pid)
            let target = try drivers[1].connect(containerID: "i2", pid: server.pid)
            _ = try drivers[1].connect(containerID: "i3", pid: neighbour.pid)
            let echo = try Echo.start("tcp", port: 80, in: server)
            defer { stopProcess(echo) }

            // The server replies on its own bridge and to the host. Nothing passes between the
            // two bridges, in either direction.
            #expect(
                try Echo.askUntilAnswered("tcp", target.ipAddress, 80, from: neighbour)
                    .hasPrefix("echo:ping"))
            #expect(try Echo.ask("tcp", target.ipAddress, 80).hasPrefix("echo:ping"))
            #expect(try Echo.ask("tcp", target.ipAddress, 80, from: client, timeout: 1) == "")
            let reverse = try server.run(
                ["ping", "-c", "1", "-W", "1", "\(prefixes[0]).2"])
            #expect(reverse.status != 0)
            // The host's addresses stay reachable: that is INPUT, not forwarding.
            let gateway = try client.run(["ping", "-c", "1", "-W", "2", drivers[1].gateway])
            #expect(gateway.status == 0)

            let rules = try TestSupport.savedRules(mentioning: names[0])
            #expect(
                rules.contains(
                    "-A SWIFTD-ISOLATION-STAGE-1 -i \(names[0]) ! -o \(names[0]) "
                        + "-j SWIFTD-ISOLATION-STAGE-2"))
            #expect(rules.contains("-A SWIFTD-ISOLATION-STAGE-2 -o \(names[0]) -j DROP"))
            for driver in drivers { try driver.shutdown() }
            #expect(try normalizedSave(names[0], prefixes[0]) == before)
            #expect(try TestSupport.savedRules(mentioning: names[1]).isEmpty)
        }
    }
}
