
import Synchronization
import SwiftdSystem
import SwiftdTLS

#if canImport(Glibc)
    import Glibc
#endif

/// A connected stream socket with a read buffer, used by both the server and the client.
///
/// Reads block the calling thread; call them from a connection's own thread, never from the
/// cooperative pool for long. Writes are serialised by a lock, so a stream and a final response
/// never interleave.
public final class Connection: Sendable {
    public let fd: Int32
    /// The TLS session on a tcp:// listener with TLS; reads and writes go through it.
    private let tls: TLSSession?
    private let readState = Mutex<(buffer: [UInt8], start: Int)>(([], 0))
    private let writeLock = Mutex<Bool>(false)
    private let closed = Atomic<Bool>(false)

    /// Takes ownership of `fd`; `close()` closes it.
    public init(fd: Int32, tls: TLSSession? = nil) {
        self.fd = fd
        self.tls = tls
    }

    deinit {
        if !closed.load(ordering: .acquiring) { Glibc.close(fd) }
    }

    /// Connects to the unix socket at `path`.
    public static func connect(unixPath path: String) throws -> Connection {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", subject: path, errno: errno) }
        var address = try unixAddress(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let code = errno
            Glibc.close(fd)
            throw SystemCallError(call: "connect", subject: path, errno: code)
        }
        return Connection(fd: fd)
    }

    /// Connects to `address`, trying each address `getaddrinfo` returns for its host in turn,
    /// then performs the TLS handshake when `tls` is given. Blocks.
    ///
    /// - Throws: `ConnectionError.unresolved`, the `SystemCallError` of the last `connect`, or
    ///   the `TLSError` of a failed handshake.
    public static func connect(tcp address: TCPAddress, tls: TLSClientContext?) throws -> Connection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &results)
        guard status == 0 else {
            throw ConnectionError.unresolved(host: address.host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(results) }
        var lastError: any Error = ConnectionError.unresolved(host: address.host, reason: "no addresses")
        var candidate = results
        while let info = candidate?.pointee {
            candidate = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard fd >= 0 else {
                lastError = SystemCallError(call: "socket", subject: address.description, errno: errno)
                continue
            }
            var result: Int32
            repeat { result = Glibc.connect(fd, info.ai_addr, info.ai_addrlen) } while result != 0 && errno == EINTR
            guard result == 0 else {
                lastError = SystemCallError(call: "connect", subject: address.description, errno: errno)
                Glibc.close(fd)
                continue
            }
            guard let tls else { return Connection(fd: fd) }
            do {
                return Connection(fd: fd, tls: try tls.connect(fd: fd, serverName: address.host))
            } catch {
                Glibc.close(fd)
                throw error
            }
        }
        throw lastError
    }

    /// Builds a `sockaddr_un` for `path`, which must fit in `sun_path`.
    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw SystemCallError(call: "bind", subject: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return address
    }

    /// Reads more bytes into the buffer; returns false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = try chunk.withUnsafeMutableBytes { raw in
            if let tls { return try tls.read(into: raw) }
            return try retryingInterrupts("read", "socket") { Glibc.read(fd, raw.baseAddress, raw.count) }
        }
        if count == 0 { return false }
        readState.withLock { state in
            if state.start > 0 && state.start == state.buffer.count {
                state.buffer.removeAll(keepingCapacity: true)
                state.start = 0
            }
            state.buffer.append(contentsOf: chunk[0..<count])
        }
        return true
    }

    /// Reads a message head; returns nil when the peer closes before sending anything.
    ///
    /// - Throws: `HTTPParser.ParseError` for an oversized head, or `ConnectionError.truncated`
    ///   when the peer closes in the middle of one.
    public func readHead() throws -> ArraySlice<UInt8>? {
        var scanned = 0
        while true {
            let found = try readState.withLock { state throws -> ArraySlice<UInt8>? in
                let pending = Array(state.buffer[state.start...])
                guard let end = try HTTPParser.headEnd(in: pending, from: scanned) else {
                    scanned = max(0, pending.count - 3)
                    return nil
                }
                state.start += end
                return pending[0..<end]
            }
            if let found { return found }
            if try !fill() {
                let empty = readState.withLock { $0.start == $0.buffer.count }
                if empty { return nil }
                throw ConnectionError.truncated
            }
        }
    }

    /// The bytes read from the peer but not consumed yet, such as a partial head.
    public var unreadBytes: [UInt8] {
        readState.withLock { Array($0.buffer[$0.start...]) }
    }

    /// Reads up to `limit` buffered or new bytes; returns an empty array at end of stream.
    public func readSome(limit: Int = 65536) throws -> [UInt8] {
        let buffered = readState.withLock { state -> [UInt8] in
            let count = min(limit, state.buffer.count - state.start)
            let bytes = Array(state.buffer[state.start..<(state.start + count)])
            state.start += count
            return bytes
        }
        if !buffered.isEmpty { return buffered }
        if try !fill() { return [] }
        return try readSome(limit: limit)
    }

    /// Returns bytes that were read ahead but not consumed back to the buffer's front.
    func unread(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        readState.withLock { state in
            state.buffer = Array(bytes) + state.buffer[state.start...]
            state.start = 0
        }
    }

    /// Writes all of `bytes`; a peer that has gone away raises `EPIPE` rather than SIGPIPE.
    public func write(_ bytes: [UInt8]) throws {
        try writeLock.withLock { _ in
            if let tls {
                try bytes.withUnsafeBytes { try tls.write($0) }
                return
            }
            var offset = 0
            while offset < bytes.count {
                let sent = try bytes.withUnsafeBytes { raw in
                    try retryingInterrupts("send", "socket") {
                        send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    }
                }
                offset += sent
            }
        }
    }

    /// Shuts down the sending side, so the peer reads end of stream while replies can still come.
    public func closeWrite() {
        tls?.shutdown()
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Shuts down both directions, waking a thread blocked reading this connection.
    public func shutdownBoth() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Closes the socket; further calls do nothing.
    public func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { Glibc.close(fd) }
    }
}

/// Failures of a connection that are not system call errors.
public enum ConnectionError: Error, Sendable, CustomStringConvertible {
    case truncated
    /// `getaddrinfo` failed for the host, with the text of `gai_strerror`.
    case unresolved(host: String, reason: String)

    public var description: String {
        switch self {
        case .truncated: "connection closed in the middle of a message"
        case .unresolved(let host, let reason): "cannot resolve \(host): \(reason)"
        }
    }
}

/// Reads a request or response body according to its framing.
public final class BodyReader: Sendable {
    private struct State: Sendable {
        var framing: HTTPParser.BodyFraming
        var remaining: Int
        var decoder = ChunkedDecoder()
        var done = false
    }

    private let connection: Connection
    private let state: Mutex<State>

    public init(connection: Connection, framing: HTTPParser.BodyFraming) {
        self.connection = connection
        var initial = State(framing: framing, remaining: 0)
        switch framing {
        case .none: initial.done = true
        case .length(let length): initial.remaining = length
        case .chunked, .untilClose: break
        }
        state = Mutex(initial)
    }

    /// Reports whether the whole body has been read.
    public var isDone: Bool { state.withLock { $0.done } }

    /// Reads the next part of the body, or nil at its end.
    public func read() throws -> [UInt8]? {
        var current = state.withLock { $0 }
        if current.done { return nil }
        defer { state.withLock { $0 = current } }
        switch current.framing {
        case .none:
            current.done = true
            return nil
        case .length:
            let bytes = try connection.readSome(limit: min(current.remaining, 1 << 20))
            if bytes.isEmpty { throw ConnectionError.truncated }
            current.remaining -= bytes.count
            if current.remaining == 0 { current.done = true }
            return bytes
        case .untilClose:
            let bytes = try connection.readSome()
            if bytes.isEmpty {
                current.done = true
                return nil
            }
            return bytes
        case .chunked:
            while true {
                let input = try connection.readSome()
                if input.isEmpty { throw ConnectionError.truncated }
                var output: [UInt8] = []
                let used = try current.decoder.decode(input, from: 0, into: &output)
                connection.unread(input[used...])
                if current.decoder.isDone { current.done = true }
                if !output.isEmpty { return output }
                if current.done { return nil }
            }
        }
    }

    /// Reads the rest of the body into memory, failing past `limit` bytes.
    public func readAll(limit: Int) throws -> [UInt8] {
        var body: [UInt8] = []
        while let chunk = try read() {
            body.append(contentsOf: chunk)
            if body.count > limit { throw HTTPParser.ParseError(status: HTTPStatus(413), message: "request body larger than \(limit) bytes") }
        }
        return body
    }
}
