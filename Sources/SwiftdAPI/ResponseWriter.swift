import Synchronization

/// Writes one response on a connection: a whole body, a chunked stream, or a hijacked stream.
public final class ResponseWriter: Sendable {
    /// What has been sent so far.
    public enum Progress: Sendable, Equatable {
        case nothing, complete, streaming, hijacked
    }

    private let connection: Connection
    private let method: String
    private let commonHeaders: [(name: String, value: String)]
    private let progress = Mutex<Progress>(.nothing)

    init(connection: Connection, method: String, commonHeaders: [(name: String, value: String)]) {
        self.connection = connection
        self.method = method
        self.commonHeaders = commonHeaders
    }

    public var state: Progress { progress.withLock { $0 } }

    /// Sends a complete response with a `Content-Length` body.
    public func send(
        _ status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) throws {
        progress.withLock { $0 = .complete }
        var all = commonHeaders + headers
        if status.code != 204 && status.code != 304 {
            all.append(("Content-Length", String(body.count)))
        }
        var bytes = HTTPResponseHead(status: status, headers: all).serialized()
        if method != "HEAD" { bytes += body }
        try connection.write(bytes)
    }

    /// Sends a JSON error body, `{"message": …}`, as Docker does.
    public func sendError(_ status: HTTPStatus, _ message: String) throws {
        try send(status, headers: [("Content-Type", "application/json")],
            body: Array("{\"message\":\(jsonString(message))}\n".utf8))
    }

    /// Starts a chunked response; the head goes out at once so that clients see the stream begin.
    public func startStream(_ status: HTTPStatus = .ok, contentType: String) throws {
        progress.withLock { $0 = .streaming }
        let head = HTTPResponseHead(
            status: status,
            headers: commonHeaders + [("Content-Type", contentType), ("Transfer-Encoding", "chunked")])
        try connection.write(head.serialized())
    }

    /// Writes one chunk of a stream started with `startStream`, or raw bytes after `hijack`.
    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        switch state {
        case .streaming:
            let size = Array(String(bytes.count, radix: 16).utf8) + [13, 10]
            try connection.write(size + bytes + [13, 10])
        case .hijacked:
            try connection.write(bytes)
        case .nothing, .complete:
            preconditionFailure("write before the response started")
        }
    }

    /// Ends a chunked stream with the last chunk.
    public func finishStream() throws {
        if state == .streaming {
            try connection.write(Array("0\r\n\r\n".utf8))
            progress.withLock { $0 = .complete }
        }
    }

    /// Takes over the connection for a raw stream, as attach and exec do.
    ///
    /// With `Upgrade: tcp` in the request this answers `101 UPGRADED`; otherwise `200 OK`
    /// without a length, and the stream ends when the connection closes.
    public func hijack(upgrade: Bool, contentType: String) throws {
        progress.withLock { $0 = .hijacked }
        let head: HTTPResponseHead
        if upgrade {
            head = HTTPResponseHead(
                status: HTTPStatus(101, "UPGRADED"),
                headers: commonHeaders + [
                    ("Content-Type", contentType), ("Connection", "Upgrade"), ("Upgrade", "tcp"),
                ])
        } else {
            head = HTTPResponseHead(status: .ok, headers: commonHeaders + [("Content-Type", contentType)])
        }
        try connection.write(head.serialized())
    }
}

/// Encodes `text` as a JSON string literal.
public func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
