import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem
import Testing

@testable import SwiftdNetwork

@Suite("bridge driver options")
struct BridgeOptionsTests {
    @Test("options parse into bridge settings")
    func optionsParse() throws {
        let settings = try NetworkRegistry.bridgeSettings([
            NetworkRegistry.iccOption: "false",
            NetworkRegistry.masqueradeOption: "0",
            NetworkRegistry.mtuOption: "1400",
            NetworkRegistry.hostBindingOption: "127.0.0.1",
            "com.example.unknown": "kept",
        ])
        #expect(settings.interContainerCommunication == false)
        #expect(settings.ipMasquerade == false)
        #expect(settings.mtu == 1400)
        #expect(settings.defaultHostIP == "127.0.0.1")
        #expect(try NetworkRegistry.bridgeSettings([:]) == NetworkRegistry.BridgeSettings())
    }

    @Test("bad option values get dockerd's messages")
    func badValues() {
        let cases: [([String: String], String)] = [
            (
                [NetworkRegistry.masqueradeOption: "maybe"],
                "failed to parse com.docker.network.bridge.enable_ip_masquerade value: maybe "
                    + "(strconv.ParseBool: parsing \"maybe\": invalid syntax)"
            ),
            (
                [NetworkRegistry.iccOption: "yes"],
                "failed to parse com.docker.network.bridge.enable_icc value: yes "
                    + "(strconv.ParseBool: parsing \"yes\": invalid syntax)"
            ),
            (
                [NetworkRegistry.hostBindingOption: "localhost"],
                "failed to parse com.docker.network.bridge.host_binding_ipv4 value: localhost "
                    + "(nil ip)"
            ),
            (
                [NetworkRegistry.mtuOption: "big"],
                "failed to parse com.docker.network.driver.mtu value: big "
                    + "(strconv.Atoi: parsing \"big\": invalid syntax)"
            ),
            ([NetworkRegistry.mtuOption: "20"], "invalid MTU number: 20"),
        ]
        for (options, message) in cases {
            let error = #expect(throws: SwiftdError.self) {
                try NetworkRegistry.bridgeSettings(options)
            }
            #expect(error?.kind == .invalidArgument, "\(options)")
            #expect(error?.message == message)
        }
    }

    @Test("masquerade off writes no MASQUERADE rule")
    func masqueradeOff() throws {
        let subnet = try #require(IPv4Subnet("10.214.7.0/24"))
        let on = BridgeRules.rules(
            bridge: "swdtmasq", subnet: subnet, interContainer: true, isInternal: false)
        let natRules = try #require(on.append[BridgeRules.natChain])
        #expect(natRules.map(\.target) == ["MASQUERADE"])
        let off = BridgeRules.rules(
            bridge: "swdtmasq", subnet: subnet, interContainer: true, isInternal: false,
            masquerade: false)
        #expect(off.append[BridgeRules.natChain] == nil)
        // Only the MASQUERADE rule goes: forwarding and isolation stay as they are.
        var expected = on.append
        expected[BridgeRules.natChain] = nil
        #expect(off.append == expected)
        #expect(off.top == on.top)
        #expect(
            off.top[BridgeRules.portChain] == [IPTablesRule(inInterface: "swdtmasq", target: "RETURN")])
    }

    @Test("MAC addresses parse as Go's net.ParseMAC reads them")
    func macAddresses() throws {
        let bytes: [UInt8] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x09]
        for text in ["02:42:ac:11:00:09", "02-42-AC-11-00-09", "0242.ac11.0009"] {
            #expect(try parseMACAddress(text) == bytes, "\(text)")
        }
        #expect(formatMACAddress(bytes) == "02:42:ac:11:00:09")
        let invalid = ["", "02:42:ac:11:00", "02:42:ac:11:00:0g", "0242ac110009", "2:42:ac:11:0:9"]
        for text in invalid {
            let error = #expect(throws: SwiftdError.self) { try parseMACAddress(text) }
            #expect(error?.message == "invalid MAC address \(text)")
        }
        let long = #expect(throws: SwiftdError.self) {
            try parseMACAddress("02:42:ac:11:00:09:00:01")
        }
        #expect(long?.message.hasSuffix("an Ethernet address has 6 bytes") == true)
        let multicast = #expect(throws: SwiftdError.self) {
            try parseMACAddress("01:00:5e:00:00:01")
        }
        #expect(multicast?.kind == .invalidArgument)
        #expect(multicast?.message.contains("multicast") == true)
    }
}
