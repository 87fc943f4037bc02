/// Parses HTTP/1.1 message heads from bytes as they arrive, and the framing of their bodies.
///
/// The parser is strict where leniency enables request smuggling: a request with both
/// `Content-Length` and `Transfer-Encoding`, with differing `Content-Length` values, or with a
/// transfer coding other than `chunked` is rejected.
public enum HTTPParser {
    /// The largest head accepted, in bytes (dockerd's Go server allows 1 MiB).
    public static let maxHeadSize = 1 << 20
    /// The maximum number of header fields in one head.
    public static let maxHeaderCount = 256

    /// The delimiting of a message body.
    public enum BodyFraming: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
        /// The body runs until the peer closes (responses only).
        case untilClose
    }

    /// A rejected message: the status to reply with, and the reason.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var status: HTTPStatus
        public var message: String
        public var description: String { message }
    }

    /// Finds the end of a head (`\r\n\r\n`) in `buffer` and returns the index just past it.
    ///
    /// - Throws: `ParseError` with 400 at the first LF not preceded by CR, and with 431 once
    ///   `buffer` contains more than `maxHeadSize` bytes without a complete head. Go's server
    ///   accepts bare LF line endings, but a proxy in front that splits lines differently
    ///   would read other requests from the same bytes, so swiftd rejects them at once.
    public static func headEnd(in buffer: [UInt8], from start: Int = 0) throws(ParseError) -> Int? {
        var index = max(start, 0)
        while index < buffer.count {
            if buffer[index] == 10 {
                guard index > 0, buffer[index - 1] == 13 else {
                    throw bad("malformed request: bare LF in head")
                }
                if index >= 3 && buffer[index - 2] == 10 && buffer[index - 3] == 13 {
                    return index + 1
                }
            }
            index += 1
        }
        if buffer.count > maxHeadSize {
            throw ParseError(status: HTTPStatus(431), message: "request header fields too large")
        }
        return nil
    }

    /// Parses a request head (request line and header fields, ending with the blank line).
    public static func parseRequestHead(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> HTTPRequest {
        let lines = try splitLines(bytes)
        guard let requestLine = lines.first else { throw bad("empty request") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw bad("malformed request line")
        }
        let method = String(parts[0])
        guard method.allSatisfy({ $0.isUppercase || $0 == "-" }) else { throw bad("malformed method") }
        let version = String(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw ParseError(status: HTTPStatus(505, "HTTP Version Not Supported"),
                message: "unsupported HTTP version \(version)")
        }
        let headers = try parseHeaders(lines.dropFirst())
        return HTTPRequest(method: method, target: String(parts[1]), version: version, headers: headers)
    }

    /// Parses a response head and returns the status and header fields.
    public static func parseResponseHead(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> HTTPResponseHead {
        let lines = try splitLines(bytes)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.") else {
            throw bad("malformed status line")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let code = Int(parts[1]) else { throw bad("malformed status line") }
        let reason = parts.count == 3 ? String(parts[2]) : ""
        return HTTPResponseHead(
            status: HTTPStatus(code, reason), headers: try parseHeaders(lines.dropFirst()))
    }

    /// Works out a request body's framing from its headers.
    public static func requestFraming(_ request: HTTPRequest) throws(ParseError) -> BodyFraming {
        let encodings = request.headerValues("Transfer-Encoding")
        let lengths = request.headerValues("Content-Length")
        if !encodings.isEmpty {
            if !lengths.isEmpty { throw bad("both Content-Length and Transfer-Encoding are set") }
            let codings = encodings.joined(separator: ",").split(separator: ",").map {
                $0.trimmingCharacters(in: " \t").lowercased()
            }
            guard codings == ["chunked"] else {
                throw ParseError(status: HTTPStatus(501), message: "unsupported transfer coding \(encodings.joined(separator: ", "))")
            }
            return .chunked
        }
        guard let length = try contentLength(lengths) else { return .none }
        return length == 0 ? .none : .length(length)
    }

    /// Works out a response body's framing from its status and headers.
    public static func responseFraming(_ head: HTTPResponseHead, method: String) throws(ParseError) -> BodyFraming {
        let code = head.status.code
        if method == "HEAD" || code == 204 || code == 304 || (100..<200).contains(code) { return .none }
        if let encoding = head.header("Transfer-Encoding"), encoding.lowercased().contains("chunked") {
            return .chunked
        }
        let lengths = head.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        if let length = try contentLength(lengths) { return length == 0 ? .none : .length(length) }
        return .untilClose
    }

    private static func contentLength(_ values: [String]) throws(ParseError) -> Int? {
        guard let first = values.first else { return nil }
        let all = values.flatMap {
            $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: " \t") }
        }
        // An empty value (`Content-Length: ` or `,`) must be rejected, not indexed.
        guard let value = all.first, !value.isEmpty else { throw bad("invalid Content-Length \(first)") }
        guard all.allSatisfy({ $0 == value }) else { throw bad("conflicting Content-Length values") }
        guard value.allSatisfy(\.isASCIIDigit), let length = Int(value) else {
            throw bad("invalid Content-Length \(first)")
        }
        return length
    }

    /// Splits a head into lines at CRLF; a bare LF or CR is rejected.
    private static func splitLines(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> [Substring] {
        var lines: [Substring] = []
        var current: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == 13 {
                guard index + 1 < bytes.endIndex, bytes[index + 1] == 10 else { throw bad("bare CR in head") }
                lines.append(Substring(String(decoding: current, as: UTF8.self)))
                current.removeAll(keepingCapacity: true)
                index += 2
                continue
            }
            if byte == 10 { throw bad("bare LF in head") }
            if byte == 0 { throw bad("NUL in head") }
            current.append(byte)
            index += 1
        }
        if !current.isEmpty { lines.append(Substring(String(decoding: current, as: UTF8.self))) }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
    }

    private static func parseHeaders(_ lines: ArraySlice<Substring>) throws(ParseError) -> [(name: String, value: String)] {
        if lines.count > maxHeaderCount {
            throw ParseError(status: HTTPStatus(431), message: "too many header fields")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw bad("header field without a colon") }
            let name = line[..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenCharacter) else {
                throw bad("invalid header field name")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            headers.append((String(name), value))
        }
        return headers
    }

    private static func isTokenCharacter(_ character: Character) -> Bool {
        guard character.isASCII else { return false }
        return character.isLetter || character.isNumber || "!#$%&'*+-.^_`|~".contains(character)
    }

    static func bad(_ message: String) -> ParseError {
        ParseError(status: .badRequest, message: message)
    }
}

/// Decodes a chunked body incrementally.
public struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size, data(remaining: Int), dataEnd, trailer, done
    }

    private var state = State.size
    private var line: [UInt8] = []

    public init() {}

    /// Reports whether the final chunk and trailer have been read.
    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes bytes from `input` starting at `start` and appends body bytes to `output`.
    /// Returns the index of the first byte not consumed, so bytes after the body stay unread.
    public mutating func decode(_ input: [UInt8], from start: Int, into output: inout [UInt8])
        throws(HTTPParser.ParseError) -> Int
    {
        var index = start
        while index < input.count {
            switch state {
            case .dataEnd:
                // Exactly CRLF must follow a chunk's data.
                let byte = input[index]
                index += 1
                let expected: UInt8 = line.isEmpty ? 13 : 10
                guard byte == expected else { throw HTTPParser.bad("missing CRLF after chunk") }
                if byte == 13 {
                    line.append(byte)
                } else {
                    line.removeAll(keepingCapacity: true)
                    state = .size
                }
            case .size, .trailer:
                let byte = input[index]
                index += 1
                if byte != 10 {
                    line.append(byte)
                    if line.count > 4096 { throw HTTPParser.bad("chunk line too long") }
                    continue
                }
                guard line.last == 13 else { throw HTTPParser.bad("bare LF in chunked body") }
                line.removeLast()
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                switch state {
                case .size:
                    let sizeText = text.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                    guard !sizeText.isEmpty, sizeText.count <= 15, sizeText.allSatisfy(\.isHexDigit),
                        let size = Int(sizeText, radix: 16)
                    else { throw HTTPParser.bad("invalid chunk size") }
                    state = size == 0 ? .trailer : .data(remaining: size)
                default:
                    if text.isEmpty {
                        state = .done
                        return index
                    }
                }
            case .data(let remaining):
                let count = min(remaining, input.count - index)
                output.append(contentsOf: input[index..<(index + count)])
                index += count
                state = remaining - count == 0 ? .dataEnd : .data(remaining: remaining - count)
            case .done:
                return index
            }
        }
        return index
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
