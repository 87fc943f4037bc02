import Foundation
import SwiftdSystem
import SwiftdTLS

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP/1.1 request to a registry. Every request uses a connection of its own
/// (`Connection: close`), so a body left unread never confuses the next request.
struct HTTPRequest: Sendable {
    var method: String
    var url: URL
    var headers: [(String, String)] = []
    /// The body, sent with `Content-Length`.
    var body: RequestBody = .none

    enum RequestBody: Sendable {
        case none
        case bytes([UInt8])
        /// `length` bytes of the file at `path` from `offset`.
        case file(path: String, offset: Int64, length: Int64)
    }

    init(_ method: String, _ url: URL, headers: [(String, String)] = [], body: RequestBody = .none)
    {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A response head and its body, read as it arrives.
final class HTTPResponse {
    let status: Int
    let headers: [(String, String)]
    private let connection: HTTPConnection
    private var framing: Framing
    private var finished = false

    enum Framing {
        case length(Int64)
        case chunked(remaining: Int64)
        case untilClose
        case empty
    }

    init(status: Int, headers: [(String, String)], connection: HTTPConnection, framing: Framing) {
        self.status = status
        self.headers = headers
        self.connection = connection
        self.framing = framing
    }

    deinit { connection.close() }

    /// The first value of the header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// The `Content-Length`, when the response gave one.
    var contentLength: Int64? { header("Content-Length").flatMap { Int64($0) } }

    /// Returns the next piece of the body, or nil at its end. Blocks on the socket.
    ///
    /// - Throws: `RegistryError(.unavailable)` when the connection closes before the end of a
    ///   body whose length is known, or the chunked framing is malformed.
    func read() throws -> [UInt8]? {
        guard !finished else { return nil }
        switch framing {
        case .empty:
            finished = true
            return nil
        case .untilClose:
            guard let bytes = try connection.readSome(max: 1 << 16) else {
                finished = true
                return nil
            }
            return bytes
        case .length(let remaining):
            if remaining == 0 {
                finished = true
                return nil
            }
            guard let bytes = try connection.readSome(max: Int(min(remaining, 1 << 16))) else {
                throw RegistryError(
                    .unavailable,
                    "the connection to \(connection.name) closed with \(remaining) bytes of the "
                        + "response body missing")
            }
            framing = .length(remaining - Int64(bytes.count))
            return bytes
        case .chunked(let remaining):
            var left = remaining
            if left == 0 {
                let line = try connection.readLine()
                let sizeText = line.split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int64(sizeText.trimmingCharacters(in: .whitespaces), radix: 16)
                else {
                    throw RegistryError(
                        .unavailable, "\(connection.name) sent a bad chunk size \"\(line)\"")
                }
                if size == 0 {
                    // Trailers end with an empty line.
                    while !(try connection.readLine()).isEmpty {}
                    finished = true
                    return nil
                }
                left = size
            }
            guard let bytes = try connection.readSome(max: Int(min(left, 1 << 16))) else {
                throw RegistryError(
                    .unavailable, "the connection to \(connection.name) closed inside a chunk")
            }
            left -= Int64(bytes.count)
            if left == 0 { _ = try connection.readLine() }
            framing = .chunked(remaining: left)
            return bytes
        }
    }

    /// Reads the whole body, rejecting more than `limit` bytes.
    ///
    /// - Throws: `RegistryError(.invalidArgument)` for a body over the limit; as `read()`.
    func readAll(limit: Int = 8 << 20) throws -> [UInt8] {
        var body: [UInt8] = []
        while let piece = try read() {
            body += piece
            if body.count > limit {
                throw RegistryError(
                    .invalidArgument, "the response from \(connection.name) is over \(limit) bytes")
            }
        }
        return body
    }
}

/// A TCP connection, optionally inside TLS, with a read buffer. Blocking; one thread at a time.
final class HTTPConnection {
    let name: String
    private let fd: Int32
    private let tls: TLSSession?
    private var buffer: [UInt8] = []
    private var start = 0
    private var closed = false

    /// How long a read or write may block before the request fails.
    static let ioTimeoutSeconds = 120

    private init(name: String, fd: Int32, tls: TLSSession?) {
        self.name = name
        self.fd = fd
        self.tls = tls
    }

    /// Connects to `host:port`, trying each address `getaddrinfo` gives, then performs the TLS
    /// handshake when `tls` is given. Blocks.
    ///
    /// - Throws: `RegistryError(.unavailable)` naming the address and errno, or the TLS error.
    static func open(host: String, port: Int, tls: TLSClientContext?) throws -> HTTPConnection {
        let name = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let status = getaddrinfo(bareHost, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw RegistryError(
                .unavailable,
                "cannot resolve \(host): getaddrinfo: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let socketFD = socket(
                current.pointee.ai_family,
                current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                current.pointee.ai_protocol)
            if socketFD < 0 {
                lastErrno = errno
                continue
            }
            var timeout = timeval(tv_sec: ioTimeoutSeconds, tv_usec: 0)
            _ = setsockopt(
                socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(
                socketFD, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var result: Int32
            repeat {
                result = Glibc.connect(
                    socketFD, current.pointee.ai_addr, current.pointee.ai_addrlen)
            } while result != 0 && errno == EINTR
            if result != 0 {
                lastErrno = errno
                Glibc.close(socketFD)
                continue
            }
            do {
                let session = try tls?.connect(fd: socketFD, serverName: bareHost)
                return HTTPConnection(name: name, fd: socketFD, tls: session)
            } catch {
                Glibc.close(socketFD)
                throw RegistryError(.unavailable, "\(error)")
            }
        }
        throw RegistryError(
            .unavailable,
            "cannot connect to \(name): connect: \(String(cString: strerror(lastErrno)))")
    }

    /// Writes all of `bytes`. Blocks.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            if let tls {
                do {
                    try tls.write(raw)
                } catch {
                    throw RegistryError(.unavailable, "writing to \(name): \(error)")
                }
                return
            }
            var offset = 0
            while offset < raw.count {
                let count = send(
                    fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw RegistryError(
                        .unavailable, "send to \(name): \(String(cString: strerror(errno)))")
                }
                offset += count
            }
        }
    }

    /// Returns up to `max` bytes (buffered ones first), or nil at the end of the stream.
    func readSome(max: Int) throws -> [UInt8]? {
        if start < buffer.count {
            let end = Swift.min(buffer.count, start + max)
            let piece = Array(buffer[start..<end])
            start = end
            return piece
        }
        guard try fill() else { return nil }
        return try readSome(max: max)
    }

    /// Reads one CRLF-terminated line, without the CRLF.
    ///
    /// - Throws: `RegistryError(.unavailable)` when the stream ends first or the line is over
    ///   64 KiB.
    func readLine() throws -> String {
        while true {
            if let newline = buffer[start...].firstIndex(of: 10) {
                var end = newline
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            guard buffer.count - start < 65536 else {
                throw RegistryError(.unavailable, "\(name) sent a line over 64 KiB")
            }
            guard try fill() else {
                throw RegistryError(.unavailable, "the connection to \(name) closed early")
            }
        }
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    private func fill() throws -> Bool {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let count: Int = try chunk.withUnsafeMutableBytes { raw in
            if let tls {
                do {
                    return try tls.read(into: raw)
                } catch {
                    throw RegistryError(.unavailable, "reading from \(name): \(error)")
                }
            }
            while true {
                let count = recv(fd, raw.baseAddress, raw.count, 0)
                if count >= 0 { return count }
                if errno == EINTR { continue }
                let reason =
                    errno == EAGAIN
                    ? "no data for \(Self.ioTimeoutSeconds) s" : String(cString: strerror(errno))
                throw RegistryError(.unavailable, "recv from \(name): \(reason)")
            }
        }
        guard count > 0 else { return false }
        buffer += chunk[0..<count]
        return true
    }

    /// Closes the connection; later calls do nothing.
    func close() {
        guard !closed else { return }
        closed = true
        tls?.shutdown()
        Glibc.close(fd)
    }
}

/// Sends requests over fresh connections: plain for `http`, TLS for `https`.
struct HTTPTransport: Sendable {
    /// The TLS configuration for each host (`host:port`), and the default for others.
    var tlsForHost: @Sendable (String) throws -> TLSClientContext

    /// Sends `request` and reads the response head. The body is left for the caller.
    /// Blocks.
    ///
    /// - Throws: `RegistryError(.unavailable)` for connection failures and malformed
    ///   responses; `RegistryError(.invalidArgument)` for a URL without a host.
    func send(_ request: HTTPRequest) throws -> HTTPResponse {
        guard let components = URLComponents(url: request.url, resolvingAgainstBaseURL: false),
            let host = components.host, let scheme = components.scheme
        else {
            throw RegistryError(.invalidArgument, "invalid URL \(request.url)")
        }
        let secure = scheme == "https"
        let port = components.port ?? (secure ? 443 : 80)
        let hostText = host.contains(":") ? "[\(host)]" : host
        let authority = components.port == nil ? hostText : "\(hostText):\(port)"
        let tls = secure ? try tlsForHost(authority) : nil
        let connection = try HTTPConnection.open(host: hostText, port: port, tls: tls)

        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        var head = "\(request.method) \(path) HTTP/1.1\r\nHost: \(authority)\r\n"
        head += "User-Agent: swiftd/1.0\r\nConnection: close\r\n"
        for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
        switch request.body {
        case .none:
            if ["POST", "PUT", "PATCH"].contains(request.method) {
                head += "Content-Length: 0\r\n"
            }
        case .bytes(let bytes): head += "Content-Length: \(bytes.count)\r\n"
        case .file(_, _, let length): head += "Content-Length: \(length)\r\n"
        }
        head += "\r\n"
        do {
            try connection.write(Array(head.utf8))
            switch request.body {
            case .none: break
            case .bytes(let bytes): try connection.write(bytes)
            case .file(let path, let offset, let length):
                try sendFile(path, offset: offset, length: length, over: connection)
            }
            return try readHead(connection, method: request.method)
        } catch {
            connection.close()
            throw error
        }
    }

    private func sendFile(
        _ path: String, offset: Int64, length: Int64, over connection: HTTPConnection
    )
        throws
    {
        let fd = try retryingInterrupts("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw SystemCallError(call: "lseek", subject: path, errno: errno)
        }
        var left = length
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while left > 0 {
            let want = Int(min(left, Int64(chunk.count)))
            let count = try chunk.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", path) { read(fd, raw.baseAddress, want) }
            }
            guard count > 0 else {
                throw RegistryError(.internalError, "\(path) ended \(left) bytes early")
            }
            try connection.write(Array(chunk[0..<count]))
            left -= Int64(count)
        }
    }

    private func readHead(_ connection: HTTPConnection, method: String) throws -> HTTPResponse {
        let statusLine = try connection.readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw RegistryError(
                .unavailable, "\(connection.name) sent a bad status line \"\(statusLine)\"")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try connection.readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (
                    String(line[..<colon]),
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                ))
        }
        func value(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
        let framing: HTTPResponse.Framing
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) {
            framing = .empty
        } else if value("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            framing = .chunked(remaining: 0)
        } else if let length = value("Content-Length").flatMap({ Int64($0) }) {
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        return HTTPResponse(
            status: status, headers: headers, connection: connection, framing: framing)
    }
}
