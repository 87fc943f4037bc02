import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

@Suite("SubnetChooser")
struct SubnetChooserTests {
    func route(_ text: String) -> Route {
        let subnet = IPv4Subnet(text)!
        return Route(
            destination: subnet.network, prefixLength: subnet.prefixLength, gateway: nil,
            linkIndex: 2, table: 254)
    }

    @Test("picks 172.17.0.0/16 on a host with only a default route and a /24")
    func picksFirstCandidate() {
        let routes = [
            Route(
                destination: IPv4Address(0), prefixLength: 0, gateway: IPv4Address("192.0.2.1"),
                linkIndex: 2, table: 254),
            route("192.0.2.0/24"),
        ]
        let chosen = SubnetChooser.chooseSubnet(avoiding: routes, addresses: [])
        #expect(chosen?.description == "172.17.0.0/16")
    }

    @Test("skips candidates overlapping routes and addresses")
    func skipsOverlaps() {
        let routes = [route("172.17.5.0/24"), route("172.16.0.0/12")]
        let chosen = SubnetChooser.chooseSubnet(avoiding: routes, addresses: [])
        #expect(chosen?.description == "10.0.0.0/16")

        let addresses = [
            InterfaceAddress(address: IPv4Address("172.17.0.9")!, prefixLength: 16, linkIndex: 3),
            InterfaceAddress(address: IPv4Address("172.18.200.1")!, prefixLength: 30, linkIndex: 4),
        ]
        let second = SubnetChooser.chooseSubnet(avoiding: [], addresses: addresses)
        #expect(second?.description == "172.19.0.0/16")
    }

    @Test("returns nil when a route covers every candidate")
    func exhausted() {
        let routes = [route("172.16.0.0/12"), route("10.0.0.0/8")]
        #expect(SubnetChooser.chooseSubnet(avoiding: routes, addresses: []) == nil)
    }

    @Test("subnets parse, contain and overlap")
    func subnetArithmetic() {
        let subnet = IPv4Subnet("172.17.0.1/16")!
        #expect(subnet.description == "172.17.0.0/16")
        #expect(subnet.broadcast.description == "172.17.255.255")
        #expect(subnet.contains(IPv4Address("172.17.200.3")!))
        #expect(!subnet.contains(IPv4Address("172.18.0.1")!))
        #expect(subnet.overlaps(IPv4Subnet("172.0.0.0/8")!))
        #expect(!subnet.overlaps(IPv4Subnet("172.18.0.0/16")!))
        #expect(IPv4Subnet("172.17.0.1") == nil)
        #expect(IPv4Subnet("172.17.0.1/33") == nil)
        #expect(IPv4Subnet("172.17.0/16") == nil)
        #expect(IPv4Subnet("172.17.0.256/16") == nil)
    }
}

@Suite("MAC address")
struct MACAddressTests {
    @Test("is 02:42 followed by the IPv4 bytes, as Docker derives it")
    func derivedFromAddress() {
        #expect(macAddress(for: IPv4Address("172.17.0.2")!) == "02:42:ac:11:00:02")
        #expect(macAddress(for: IPv4Address("10.213.7.254")!) == "02:42:0a:d5:07:fe")
        #expect(macAddressBytes(for: IPv4Address("1.2.3.4")!) == [2, 0x42, 1, 2, 3, 4])
    }
}

@Suite("IPAllocator")
struct IPAllocatorTests {
    @Test("hands out hosts in order, never the network, gateway or broadcast address")
    func allocatesEveryHostOnce() throws {
        let subnet = IPv4Subnet("10.9.8.0/29")!
        let allocator = IPAllocator(subnet: subnet, gateway: IPv4Address("10.9.8.1")!)
        var handed: [String] = []
        for _ in 0..<5 { handed.append(try allocator.allocate().description) }
        #expect(handed == ["10.9.8.2", "10.9.8.3", "10.9.8.4", "10.9.8.5", "10.9.8.6"])
        #expect(throws: SwiftdError.self) { try allocator.allocate() }

        allocator.release(IPv4Address("10.9.8.4")!)
        #expect(try allocator.allocate().description == "10.9.8.4")
    }

    @Test("does not reuse a released address at once")
    func cyclesBeforeReuse() throws {
        let allocator = IPAllocator(
            subnet: IPv4Subnet("10.9.8.0/24")!, gateway: IPv4Address("10.9.8.1")!)
        let first = try allocator.allocate()
        allocator.release(first)
        #expect(try allocator.allocate() != first)
    }

    @Test("reserve refuses taken, foreign and special addresses")
    func reserve() throws {
        let allocator = IPAllocator(
            subnet: IPv4Subnet("10.9.8.0/24")!, gateway: IPv4Address("10.9.8.1")!)
        try allocator.reserve(IPv4Address("10.9.8.2")!)
        #expect(try allocator.allocate().description == "10.9.8.3")
        for text in ["10.9.8.2", "10.9.8.3"] {
            let error = #expect(throws: SwiftdError.self) {
                try allocator.reserve(IPv4Address(text)!)
            }
            #expect(error?.kind == .conflict)
        }
        for text in ["10.9.9.5", "10.9.8.0", "10.9.8.1", "10.9.8.255"] {
            let error = #expect(throws: SwiftdError.self) {
                try allocator.reserve(IPv4Address(text)!)
            }
            #expect(error?.kind == .invalidArgument)
        }
    }

    @Test("gives distinct addresses to concurrent callers")
    func concurrentAllocation() async throws {
        let allocator = IPAllocator(
            subnet: IPv4Subnet("10.9.0.0/22")!, gateway: IPv4Address("10.9.0.1")!)
        let addresses = try await withThrowingTaskGroup(of: IPv4Address.self) { group in
            for _ in 0..<1000 { group.addTask { try allocator.allocate() } }
            var all: [IPv4Address] = []
            for try await address in group { all.append(address) }
            return all
        }
        #expect(Set(addresses).count == 1000)
        #expect(allocator.allocatedCount == 1000)
    }
}

@Suite("Bridge IP parsing")
struct BridgeIPTests {
    @Test("accepts a host address with a prefix")
    func accepts() throws {
        let parsed = try BridgeDriver.parseBridgeIP("172.17.0.1/16")
        #expect(parsed.address.description == "172.17.0.1")
        #expect(parsed.prefixLength == 16)
    }

    @Test(
        "rejects malformed values as invalid arguments",
        arguments: [
            "172.17.0.1", "172.17.0.0/16", "172.17.255.255/16", "172.17.0.1/31", "bogus/8",
            "172.17.0.1/", "",
        ])
    func rejects(_ text: String) {
        let error = #expect(throws: SwiftdError.self) { try BridgeDriver.parseBridgeIP(text) }
        #expect(error?.kind == .invalidArgument)
    }

    @Test("BridgeDriver refuses a bad --bip before touching the host")
    func driverRejects() {
        let error = #expect(throws: SwiftdError.self) {
            try BridgeDriver(BridgeConfiguration(bridgeName: "swdtnone", bridgeIP: "10.1.2.3"))
        }
        #expect(error?.kind == .invalidArgument)
    }
}
