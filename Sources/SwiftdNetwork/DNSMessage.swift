import SwiftdNetlink

/// A question of a DNS query: the name in lowercase without the final dot, its type and class.
public struct DNSQuestion: Sendable, Equatable {
    public var name: String
    public var type: UInt16
    public var questionClass: UInt16

    public init(name: String, type: UInt16, questionClass: UInt16 = DNSMessage.classIN) {
        self.name = name
        self.type = type
        self.questionClass = questionClass
    }
}

/// A parsed DNS query with one question.
public struct DNSQuery: Sendable, Equatable {
    public var id: UInt16
    /// The header flags: opcode and RD are copied into the response.
    public var flags: UInt16
    public var question: DNSQuestion
    /// The question section as received, which the response repeats at the same offset, so
    /// that compression pointers in it stay valid.
    var questionBytes: [UInt8]
}

/// A record of a response to a local query.
public enum DNSAnswer: Sendable, Equatable {
    /// An A record.
    case address(IPv4Address)
    /// A PTR record naming a host.
    case pointer(String)
}

extension DNSAnswer {
    /// Returns an A record for dotted-quad text, or nil for anything else.
    public static func address(_ text: String) -> DNSAnswer? {
        IPv4Address(text).map(DNSAnswer.address)
    }
}

/// Why a packet is not a query this parser accepts.
public enum DNSMessageError: Error, Equatable {
    /// The packet ends inside the header, a name or the question.
    case truncated
    /// The QR bit is set: the packet is a response.
    case notAQuery
    /// The opcode is not QUERY (0).
    case unsupportedOpcode
    /// The question count is not 1.
    case unsupportedQuestionCount
    /// A compression pointer points into the header or not strictly before the previous one,
    /// which includes every loop.
    case invalidPointer
    /// A label uses the reserved 0x40 or 0x80 length bits, or contains a dot or a byte
    /// outside printable ASCII.
    case invalidLabel
    /// The name is longer than 255 bytes on the wire.
    case nameTooLong
}

/// Parsing of DNS queries and building of responses (RFC 1035), bounds-checked throughout.
public enum DNSMessage {
    public static let typeA: UInt16 = 1
    public static let typePTR: UInt16 = 12
    public static let typeAAAA: UInt16 = 28
    public static let typeANY: UInt16 = 255
    public static let classIN: UInt16 = 1

    /// Response codes.
    public static let noError: UInt16 = 0
    public static let formatError: UInt16 = 1
    public static let serverFailure: UInt16 = 2
    public static let nameError: UInt16 = 3
    public static let notImplemented: UInt16 = 4

    /// The time to live of local answers, in seconds: 600, as Docker's embedded server sets.
    public static let answerTTL: UInt32 = 600
    /// The largest UDP response without EDNS (RFC 1035 section 4.2.1).
    public static let maxUDPSize = 512

    static let headerSize = 12
    static let maxNameLength = 255

    /// Returns the address of a reverse-lookup name, `4.3.2.1.in-addr.arpa` giving `1.2.3.4`,
    /// or nil for any other name.
    public static func reverseLookupAddress(_ name: String) -> String? {
        guard name.hasSuffix(".in-addr.arpa") else { return nil }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false).dropLast(2)
        let text = labels.reversed().joined(separator: ".")
        return IPv4Address(text)?.description
    }

    /// Parses a query with exactly one question.
    ///
    /// - Throws: `DNSMessageError` for anything else or a malformed packet.
    public static func parseQuery(_ packet: [UInt8]) throws(DNSMessageError) -> DNSQuery {
        guard packet.count >= headerSize else { throw .truncated }
        let id = readUInt16(packet, 0)
        let flags = readUInt16(packet, 2)
        guard flags & 0x8000 == 0 else { throw .notAQuery }
        guard (flags >> 11) & 0xF == 0 else { throw .unsupportedOpcode }
        guard readUInt16(packet, 4) == 1 else { throw .unsupportedQuestionCount }
        var offset = headerSize
        let name = try readName(packet, &offset)
        guard offset + 4 <= packet.count else { throw .truncated }
        let question = DNSQuestion(
            name: name, type: readUInt16(packet, offset),
            questionClass: readUInt16(packet, offset + 2))
        return DNSQuery(
            id: id, flags: flags, question: question,
            questionBytes: Array(packet[headerSize..<offset + 4]))
    }

    /// Reads the name at `offset` and moves `offset` past it (past the first pointer, if the
    /// name has one). Returns the labels in lowercase joined by dots, "" for the root.
    ///
    /// Each compression pointer must point after the header and strictly before the previous
    /// pointer's target (or the name's start), so a chain of pointers always ends.
    static func readName(_ packet: [UInt8], _ offset: inout Int) throws(DNSMessageError)
        -> String
    {
        var labels: [String] = []
        var position = offset
        var limit = offset
        var jumped = false
        var wireLength = 1
        while true {
            guard position < packet.count else { throw .truncated }
            let length = Int(packet[position])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    if !jumped { offset = position + 1 }
                    return labels.joined(separator: ".")
                }
                guard position + 1 + length <= packet.count else { throw .truncated }
                wireLength += length + 1
                guard wireLength <= maxNameLength else { throw .nameTooLong }
                let bytes = packet[position + 1..<position + 1 + length]
                guard bytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != 0x2E }) else {
                    throw .invalidLabel
                }
                labels.append(String(decoding: bytes, as: UTF8.self).lowercased())
                position += 1 + length
            case 0xC0:
                guard position + 1 < packet.count else { throw .truncated }
                let target = (length & 0x3F) << 8 | Int(packet[position + 1])
                guard target >= headerSize, target < limit else { throw .invalidPointer }
                if !jumped {
                    offset = position + 2
                    jumped = true
                }
                limit = target
                position = target
            default:
                throw .invalidLabel
            }
        }
    }

    /// Builds the response to `query` with `code` and `answers`, each owned by the question's
    /// name. With `maxSize`, answers that do not fit are left out and the TC bit is set.
    public static func response(
        to query: DNSQuery, code: UInt16, answers: [DNSAnswer] = [], authoritative: Bool = true,
        maxSize: Int? = nil
    ) -> [UInt8] {
        var records: [[UInt8]] = []
        var size = headerSize + query.questionBytes.count
        var truncated = false
        for answer in answers {
            let record = encode(answer)
            if let maxSize, size + record.count > maxSize {
                truncated = true
                break
            }
            size += record.count
            records.append(record)
        }
        // QR, the query's opcode and RD, RA, and AA for local answers.
        var flags: UInt16 = 0x8000 | (query.flags & 0x7900) | 0x0080 | (code & 0xF)
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        var packet: [UInt8] = []
        packet.reserveCapacity(size)
        appendUInt16(&packet, query.id)
        appendUInt16(&packet, flags)
        appendUInt16(&packet, 1)
        appendUInt16(&packet, UInt16(records.count))
        appendUInt16(&packet, 0)
        appendUInt16(&packet, 0)
        packet += query.questionBytes
        for record in records { packet += record }
        return packet
    }

    /// Builds a FORMERR response with no question for a packet whose header is readable, or
    /// returns nil for a packet shorter than a header or that is itself a response.
    public static func formatErrorResponse(to packet: [UInt8]) -> [UInt8]? {
        guard packet.count >= headerSize, readUInt16(packet, 2) & 0x8000 == 0 else { return nil }
        let flags = 0x8000 | (readUInt16(packet, 2) & 0x7900) | 0x0080
        let code = (readUInt16(packet, 2) >> 11) & 0xF == 0 ? formatError : notImplemented
        var response: [UInt8] = []
        appendUInt16(&response, readUInt16(packet, 0))
        appendUInt16(&response, flags | code)
        response += [UInt8](repeating: 0, count: 8)
        return response
    }

    /// Encodes a name as labels, or nil if a label is empty or longer than 63 bytes, or the
    /// name is longer than 255 bytes.
    static func encodeName(_ name: String) -> [UInt8]? {
        var result: [UInt8] = []
        for label in name.split(separator: ".", omittingEmptySubsequences: false) where !name.isEmpty {
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count) else { return nil }
            result.append(UInt8(bytes.count))
            result += bytes
        }
        result.append(0)
        return result.count <= maxNameLength ? result : nil
    }

    /// Encodes one answer record whose owner is the question's name (a pointer to offset 12).
    private static func encode(_ answer: DNSAnswer) -> [UInt8] {
        var record: [UInt8] = [0xC0, UInt8(headerSize)]
        let data: [UInt8]
        switch answer {
        case .address(let address):
            appendUInt16(&record, typeA)
            data = address.bytes
        case .pointer(let name):
            appendUInt16(&record, typePTR)
            data = encodeName(name) ?? [0]
        }
        appendUInt16(&record, classIN)
        appendUInt16(&record, UInt16(answerTTL >> 16))
        appendUInt16(&record, UInt16(answerTTL & 0xFFFF))
        appendUInt16(&record, UInt16(data.count))
        return record + data
    }

    static func readUInt16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    static func appendUInt16(_ bytes: inout [UInt8], _ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }
}
