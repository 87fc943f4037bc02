import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

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
    /// Reads of a hijacked connection: one in flight, and whether the hijack has ended.
    private let hijackInput = Mutex<(reading: Bool, ended: Bool)>((false, false))

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
    public func startStream(
        _ status: HTTPStatus = .ok, contentType: String, headers: [(name: String, value: String)] = []
    ) throws {
        progress.withLock { $0 = .streaming }
        let head = HTTPResponseHead(
            status: status,
            headers: commonHeaders + headers + [("Content-Type", contentType), ("Transfer-Encoding", "chunked")])
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
    /// Reads the next bytes the client sends on a hijacked connection (attach stdin).
    ///
    /// The blocking read runs on a Dispatch thread, not on the cooperative pool.
    ///
    /// - Returns: nil once the client half-closed its side or `endHijack` was called.
    /// - Throws: `SystemCallError` from `read`, or a TLS error.
    public func readHijacked() async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { [self] in
                let started = hijackInput.withLock { state -> Bool in
                    if state.ended { return false }
                    state.reading = true
                    return true
                }
                guard started else { return continuation.resume(returning: nil) }
                defer { hijackInput.withLock { $0.reading = false } }
                do {
                    let bytes = try connection.readSome()
                    continuation.resume(returning: bytes.isEmpty ? nil : bytes)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Ends a hijacked stream: shuts the socket down, which wakes a `readHijacked` in flight,
    /// and blocks until that read has returned (at most a second), so that the connection can
    /// be closed without a read racing the close.
    public func endHijack() {
        hijackInput.withLock { $0.ended = true }
        connection.shutdownBoth()
        for _ in 0..<1000 where hijackInput.withLock({ $0.reading }) { usleep(1000) }
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
