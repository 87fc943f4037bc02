import Foundation
import SwiftdAPI
import Testing

@testable import SwiftdClient

@Suite("publish flags")
struct PublishFlagTests {
    /// Returns the container port keys and host ports that `-p text` gives.
    static func parsed(_ text: String) throws -> [String] {
        try Commands.parsePublish(text).map { key, binding in
            "\(key) \(binding.HostIp ?? ""):\(binding.HostPort ?? "")"
        }
    }

    @Test("single ports and addresses")
    func singlePorts() throws {
        #expect(try Self.parsed("80") == ["80/tcp :"])
        #expect(try Self.parsed("8080:80") == ["80/tcp :8080"])
        #expect(try Self.parsed("127.0.0.1:8080:80/udp") == ["80/udp 127.0.0.1:8080"])
        #expect(try Self.parsed("127.0.0.1::80") == ["80/tcp 127.0.0.1:"])
    }

    @Test("host range sent whole")
    func hostRangeSent() throws {
        #expect(try Self.parsed("8000-8010:80") == ["80/tcp :8000-8010"])
        #expect(try Self.parsed("127.0.0.1:8000-8001:80/udp") == ["80/udp 127.0.0.1:8000-8001"])
    }

    @Test("ranges map pair by pair")
    func rangesPaired() throws {
        #expect(try Self.parsed("8000-8001:80-81") == ["80/tcp :8000", "81/tcp :8001"])
        #expect(try Self.parsed("80-81") == ["80/tcp :", "81/tcp :"])
    }

    @Test("mismatched ranges rejected")
    func mismatchedRanges() throws {
        let error = #expect(throws: LocalFailure.self) {
            try Commands.parsePublish("8000-8002:80-81")
        }
        #expect(
            error?.message
                == "invalid ranges specified for container and host Ports: 80-81 and 8000-8002")
        for bad in ["abc", "8080:80/sctp", "1:2:3:4", "0:80", "90-80"] {
            #expect(throws: UsageFailure.self, "\(bad)") { try Commands.parsePublish(bad) }
        }
    }

    @Test("aux addresses need a name")
    func auxiliaryAddresses() throws {
        #expect(try Commands.auxiliaryAddresses([]) == nil)
        #expect(
            try Commands.auxiliaryAddresses(["a=10.0.0.2", "b=10.0.0.3"])
                == ["a": "10.0.0.2", "b": "10.0.0.3"])
        for bad in ["router", "=10.0.0.2"] {
            #expect(throws: UsageFailure.self, "\(bad)") {
                try Commands.auxiliaryAddresses([bad])
            }
        }
    }
}
