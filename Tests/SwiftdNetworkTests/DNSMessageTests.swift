import SwiftdNetlink
import Testing

@testable import SwiftdNetwork

@Suite("DNSMessage")
struct DNSMessageTests {
    /// A query header: ID 0x1234, RD set, one question.
    static let header: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]

    static func query(_ name: String, type: UInt16 = DNSMessage.typeA) -> [UInt8] {
        header + DNSMessage.encodeName(name)! + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
    }

    @Test("parses a query for an A record")
    func parsesQuery() throws {
        let query = try DNSMessage.parseQuery(Self.query("Alpha.Example"))
        #expect(query.id == 0x1234)
        #expect(query.question == DNSQuestion(name: "alpha.example", type: DNSMessage.typeA))
    }

    @Test("builds an answer that repeats the question")
    func buildsAnswer() throws {
        let packet = Self.query("alpha")
        let query = try DNSMessage.parseQuery(packet)
        let response = DNSMessage.response(
            to: query, code: DNSMessage.noError,
            answers: [.address(IPv4Address("10.1.2.3")!), .address(IPv4Address("10.1.2.4")!)])
        #expect(Array(response[0..<2]) == [0x12, 0x34])
        #expect(response[2] == 0x85, "QR, AA and RD")
        #expect(response[3] == 0x80, "RA, NOERROR")
        #expect(Array(response[4..<12]) == [0, 1, 0, 2, 0, 0, 0, 0])
        #expect(Array(response[12..<packet.count]) == Array(packet[12...]))
        let firstRecord = Array(response[packet.count..<packet.count + 16])
        #expect(firstRecord == [0xC0, 12, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 1, 2, 3])
        #expect(response.count == packet.count + 32)
    }

    @Test("sets NXDOMAIN and truncation")
    func nameErrorAndTruncation() throws {
        let query = try DNSMessage.parseQuery(Self.query("missing"))
        let missing = DNSMessage.response(to: query, code: DNSMessage.nameError)
        #expect(missing[3] & 0x0F == 3)
        let many = (0..<40).map { DNSAnswer.address(IPv4Address(UInt32(0x0A00_0000 + $0))) }
        let cut = DNSMessage.response(
            to: query, code: DNSMessage.noError, answers: many, maxSize: DNSMessage.maxUDPSize)
        #expect(cut.count <= DNSMessage.maxUDPSize)
        #expect(cut[2] & 0x02 == 0x02, "TC is set")
        #expect(Int(cut[6]) << 8 | Int(cut[7]) < 40)
    }

    @Test("follows a backward compression pointer")
    func followsPointer() throws {
        // The question's name is a pointer to "alpha" stored in the header's place is not
        // allowed, so the name starts with a label and continues through a pointer to itself.
        var packet = Self.header
        packet += [5] + Array("alpha".utf8) + [0]
        var offset = 12
        #expect(try DNSMessage.readName(packet, &offset) == "alpha")
        packet += [3] + Array("www".utf8) + [0xC0, 12]
        offset = 19
        #expect(try DNSMessage.readName(packet, &offset) == "www.alpha")
        #expect(offset == packet.count)
    }

    @Test("rejects malformed packets", arguments: [
        ("short header", [UInt8](header.prefix(11)), DNSMessageError.truncated),
        ("response", [0x12, 0x34, 0x81, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + [0, 0, 1, 0, 1], .notAQuery),
        ("two questions", [0x12, 0x34, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0] + [0, 0, 1, 0, 1],
            .unsupportedQuestionCount),
        ("opcode 2", [0x12, 0x34, 0x11, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + [0, 0, 1, 0, 1],
            .unsupportedOpcode),
        ("label past the end", header + [10, 0x61, 0x62], .truncated),
        ("no type", header + [1, 0x61, 0, 0, 1], .truncated),
        ("no terminator", header + [1, 0x61], .truncated),
        ("pointer to itself", header + [0xC0, 12, 0, 1, 0, 1], .invalidPointer),
        ("pointer into header", header + [0xC0, 2, 0, 1, 0, 1], .invalidPointer),
        ("pointer forward", header + [0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1], .invalidPointer),
        ("loop through a label", header + [1, 0x61, 0xC0, 12, 0, 1, 0, 1], .invalidPointer),
        ("half a pointer", header + [0xC0], .truncated),
        ("reserved length bits", header + [0x40, 0, 0, 1, 0, 1], .invalidLabel),
        ("dot inside a label", header + [3, 0x61, 0x2E, 0x62, 0, 0, 1, 0, 1], .invalidLabel),
        ("control byte", header + [1, 0x07, 0, 0, 1, 0, 1], .invalidLabel),
        ("name over 255 bytes",
            header + Array(repeating: [63] + [UInt8](repeating: 0x61, count: 63), count: 5)
            .flatMap { $0 } + [0, 0, 1, 0, 1], .nameTooLong),
    ])
    func rejectsMalformed(_ name: String, _ packet: [UInt8], _ expected: DNSMessageError) {
        #expect(throws: expected, "\(name)") { try DNSMessage.parseQuery(packet) }
    }

    @Test("answers FORMERR only to readable queries")
    func formatError() {
        #expect(DNSMessage.formatErrorResponse(to: [1, 2, 3]) == nil)
        let response = DNSMessage.formatErrorResponse(to: Self.header + [0xC0, 12])
        #expect(response == [0x12, 0x34, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("reads reverse-lookup names")
    func reverseNames() {
        #expect(DNSMessage.reverseLookupAddress("4.3.2.10.in-addr.arpa") == "10.2.3.4")
        #expect(DNSMessage.reverseLookupAddress("3.2.10.in-addr.arpa") == nil)
        #expect(DNSMessage.reverseLookupAddress("alpha") == nil)
    }
}
