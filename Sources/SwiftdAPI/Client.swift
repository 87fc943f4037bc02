import Foundation
import SwiftdSystem
import SwiftdTLS

/// A blocking HTTP/1.1 client for the daemon's API, on a unix socket or over TCP.
public final class APIClient: Sendable {
    /// The daemon's listening address: a unix socket path, or a TCP address with an optional
    /// TLS configuration.
    public enum Endpoint: Sendable {
        case unix(path: String)
        case tcp(TCPAddress, tls: TLSClientContext?)

        public var description: String {
            switch self {
            case .unix(let path): "unix://\(path)"
            case .tcp(let address, _): address.description
            }
        }
    }

    public let endpoint: Endpoint

    /// Creates a client for `unix:///PATH`, or a bare path.
    public convenience init(host: String) {
        self.init(endpoint: .unix(path: host.hasPrefix("unix://") ? String(host.dropFirst("unix://".count)) : host))
    }

    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// A response: status, headers, and the whole body.
    public struct Response: Sendable {
        public var head: HTTPResponseHead
        public var body: [UInt8]

        public var status: Int { head.status.code }

        /// The `message` of a Docker error body, or the body as text.
        public var errorMessage: String {
            if let decoded = try? JSONDecoder().decode([String: String].self, from: Data(body)),
                let message = decoded["message"]
            {
                return message
            }
            return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Decodes the body as JSON.
        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: Data(body))
        }
    }

    /// Failures to reach the daemon, as opposed to error responses from it.
    public struct ConnectError: Error, CustomStringConvertible {
        public var endpoint: String
        public var underlying: any Error
        /// True when the connection was open but broke before a response head arrived.
        public var beforeResponse = false
        /// True when a connection without TLS got a TLS record back instead of HTTP.
        public var speaksTLS = false
        /// True when a connection without TLS closed before any response byte, as a TLS
        /// server does when it reads plain HTTP.
        public var closedWithoutTLS = false

        /// Reports whether TLS failed, such as when the server's certificate failed
        /// verification or the server rejected the client's, rather than the connection itself.
        public var isTLSFailure: Bool { underlying is TLSError || speaksTLS }

        /// The exit status the docker CLI uses: 1 when nothing listens at the address, and
        /// 125 for TLS failures and connections that broke before a response.
        public var exitStatus: Int32 { isTLSFailure || beforeResponse ? 125 : 1 }

        public var description: String {
            if speaksTLS { return "the daemon at \(endpoint) speaks TLS: use --tls or --tlsverify" }
            if closedWithoutTLS {
                return "cannot connect to swiftd at \(endpoint): the daemon closed the connection "
                    + "without a response. If it speaks TLS, use --tls or --tlsverify"
            }
            if isTLSFailure || beforeResponse { return "cannot connect to swiftd at \(endpoint): \(underlying)" }
            return "cannot connect to swiftd at \(endpoint): \(underlying). Is the daemon running?"
        }
    }

    /// Runs the steps of an exchange that come before the response head, and turns a failure
    /// of the connection or of TLS into a `ConnectError`.
    func beforeResponse<T>(_ connection: Connection, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TLSError {
            throw ConnectError(endpoint: endpoint.description, underlying: error, beforeResponse: true)
        } catch let error where error is SystemCallError || error is ConnectionError || error is HTTPParser.ParseError {
            var failure = ConnectError(endpoint: endpoint.description, underlying: error, beforeResponse: true)
            if case .tcp(_, tls: nil) = endpoint {
                // A TLS server answers plain bytes with an alert (0x15) or handshake (0x16)
                // record, or closes without a word as OpenSSL's s_server does.
                let unread = connection.unreadBytes
                if let first = unread.first, first == 0x15 || first == 0x16 { failure.speaksTLS = true }
                if unread.isEmpty, error is ConnectionError || (error as? SystemCallError)?.errno == ECONNRESET {
                    failure.closedWithoutTLS = true
                }
            }
            throw failure
        }
    }

    /// Opens a connection, mapping failure to `ConnectError`.
    func connect() throws -> Connection {
        do {
            switch endpoint {
            case .unix(let path): return try Connection.connect(unixPath: path)
            case .tcp(let address, let tls): return try Connection.connect(tcp: address, tls: tls)
            }
        } catch {
            throw ConnectError(endpoint: endpoint.description, underlying: error)
        }
    }

    /// Sends a request head and an optional body from `upload` (streamed with chunked encoding).
    func send(
        _ connection: Connection, method: String, path: String, headers: [(String, String)],
        body: [UInt8]?, upload: (() throws -> [UInt8]?)? = nil
    ) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: swiftd\r\nUser-Agent: swiftd-client\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let upload {
            head += "Transfer-Encoding: chunked\r\n\r\n"
            try connection.write(Array(head.utf8))
            while let chunk = try upload(), !chunk.isEmpty {
                try connection.write(Array(String(chunk.count, radix: 16).utf8) + [13, 10] + chunk + [13, 10])
            }
            try connection.write(Array("0\r\n\r\n".utf8))
        } else {
            let body = body ?? []
            if !body.isEmpty || method == "POST" || method == "PUT" {
                head += "Content-Length: \(body.count)\r\n"
            }
            try connection.write(Array((head + "\r\n").utf8) + body)
        }
    }

    /// Reads a response head.
    func readHead(_ connection: Connection) throws -> HTTPResponseHead {
        guard let bytes = try connection.readHead() else { throw ConnectionError.truncated }
        return try HTTPParser.parseResponseHead(bytes)
    }

    /// Sends a request and reads the whole response.
    public func request(
        _ method: String, _ path: String, json: [UInt8]? = nil, headers: [(String, String)] = []
    ) throws -> Response {
        let connection = try connect()
        defer { connection.close() }
        var all = headers
        if json != nil { all.append(("Content-Type", "application/json")) }
        let head = try beforeResponse(connection) {
            try send(connection, method: method, path: path, headers: all, body: json)
            return try readHead(connection)
        }
        let reader = BodyReader(connection: connection, framing: try HTTPParser.responseFraming(head, method: method))
        var body: [UInt8] = []
        while let chunk = try reader.read() { body.append(contentsOf: chunk) }
        return Response(head: head, body: body)
    }

    /// Sends a request and returns once the response head has arrived; the caller reads the body
    /// from the returned reader and closes the connection.
    public func open(_ method: String, _ path: String) throws -> (Connection, HTTPResponseHead, BodyReader) {
        let connection = try connect()
        do {
            let head = try beforeResponse(connection) {
                try send(connection, method: method, path: path, headers: [], body: nil)
                return try readHead(connection)
            }
            let reader = BodyReader(connection: connection, framing: try HTTPParser.responseFraming(head, method: method))
            return (connection, head, reader)
        } catch {
            connection.close()
            throw error
        }
    }

    /// Sends a request whose body comes from `upload`, and calls `onChunk` with each part of the
    /// response body as it arrives. Returns the response head; an error status's body is in
    /// `Response.body` instead.
    public func stream(
        _ method: String, _ path: String, json: [UInt8]? = nil, headers: [(String, String)] = [],
        upload: (() throws -> [UInt8]?)? = nil, onChunk: ([UInt8]) throws -> Void
    ) throws -> Response {
        let connection = try connect()
        defer { connection.close() }
        var all = headers
        if json != nil { all.append(("Content-Type", "application/json")) }
        // Only the head is covered: a failing upload throws its own error.
        try send(connection, method: method, path: path, headers: all, body: json, upload: upload)
        let head = try beforeResponse(connection) { try readHead(connection) }
        let reader = BodyReader(connection: connection, framing: try HTTPParser.responseFraming(head, method: method))
        if head.status.code >= 400 {
            var body: [UInt8] = []
            while let chunk = try reader.read() { body.append(contentsOf: chunk) }
            return Response(head: head, body: body)
        }
        while let chunk = try reader.read() { try onChunk(chunk) }
        return Response(head: head, body: [])
    }

    /// Sends a request that upgrades the connection (attach). Returns the connection once the
    /// daemon has replied `101 UPGRADED` or `200`, and otherwise returns the error response.
    public func hijack(_ method: String, _ path: String, json: [UInt8]? = nil) throws -> (Connection?, Response) {
        let connection = try connect()
        var headers = [("Connection", "Upgrade"), ("Upgrade", "tcp")]
        if json != nil { headers.append(("Content-Type", "application/json")) }
        let head = try beforeResponse(connection) {
            try send(connection, method: method, path: path, headers: headers, body: json)
            return try readHead(connection)
        }
        if head.status.code == 101 || head.status.code == 200 {
            return (connection, Response(head: head, body: []))
        }
        defer { connection.close() }
        let reader = BodyReader(connection: connection, framing: try HTTPParser.responseFraming(head, method: method))
        var body: [UInt8] = []
        while let chunk = try reader.read() { body.append(contentsOf: chunk) }
        return (nil, Response(head: head, body: body))
    }
}

/// Splits a multiplexed attach or logs stream back into stdout and stderr.
public struct StreamDemultiplexer {
    private var buffer: [UInt8] = []

    public init() {}

    /// Feeds bytes in; calls `deliver` with each complete frame's kind and payload.
    public mutating func feed(_ bytes: [UInt8], deliver: (StreamFrame.Kind, ArraySlice<UInt8>) throws -> Void) rethrows {
        buffer.append(contentsOf: bytes)
        var start = 0
        while buffer.count - start >= 8 {
            let size = Int(buffer[start + 4]) << 24 | Int(buffer[start + 5]) << 16 | Int(buffer[start + 6]) << 8 | Int(buffer[start + 7])
            guard buffer.count - start - 8 >= size else { break }
            let kind = StreamFrame.Kind(rawValue: buffer[start]) ?? .stdout
            try deliver(kind, buffer[(start + 8)..<(start + 8 + size)])
            start += 8 + size
        }
        buffer.removeFirst(start)
    }
}
