
import Foundation
import Synchronization
import SwiftdSystem
import SwiftdTLS

/// Handles one request; the body is read through `body` and the answer written to `response`.
public typealias RequestHandler =
    @Sendable (HTTPRequest, BodyReader, ResponseWriter) async -> Void

/// Responds to a request on the connection's thread and returns true, or returns false to
/// leave it to the `RequestHandler`. It suits requests that need neither a body nor a wait.
public typealias ImmediateHandler = @Sendable (HTTPRequest, ResponseWriter) -> Bool

/// An HTTP/1.1 server on unix sockets, with one thread per connection.
///
/// Each connection's thread parses requests and waits while the async handler runs, so a slow
/// client never blocks the cooperative pool while its request is read.
public final class HTTPServer: Sendable {
    private let handler: RequestHandler
    private let immediate: ImmediateHandler?
    private let commonHeaders: [(name: String, value: String)]
    private let log: Logger
    private let listeners = Mutex<[Int32]>([])
    private let connections = Mutex<[Int32: Connection]>([:])
    private let stopping = Atomic<Bool>(false)

    /// Creates a server that adds `commonHeaders` to every response.
    ///
    /// `immediate`, when given, receives each request first, on the connection's thread.
    public init(
        commonHeaders: [(name: String, value: String)], log: Logger,
        immediate: ImmediateHandler? = nil, handler: @escaping RequestHandler
    ) {
        self.commonHeaders = commonHeaders
        self.log = log
        self.immediate = immediate
        self.handler = handler
    }

    /// Binds a unix socket at `path` (replacing a stale one), sets its mode and group, and
    /// starts accepting on a thread of its own.
    public func listen(unixPath path: String, mode: mode_t = 0o660, group: gid_t? = nil) throws {
        try FileSystem.createDirectory(FileSystem.parent(of: path), mode: 0o755)
        try FileSystem.remove(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError(call: "socket", subject: path, errno: errno) }
        var address = try Connection.unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if bound != 0 {
            let code = errno
            Glibc.close(fd)
            throw SystemCallError(call: "bind", subject: path, errno: code)
        }
        chmod(path, mode)
        if let group { chown(path, 0, group) }
        guard Glibc.listen(fd, 1024) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SystemCallError(call: "listen", subject: path, errno: code)
        }
        try serve(listener: fd, name: "unix://\(path)")
    }

    /// Binds a TCP socket at `host:port` and serves it, with TLS when `tls` is given. A name
    /// binds its first IPv4 address, else its first address, as dockerd's listeners do. An
    /// IPv6 socket clears `IPV6_V6ONLY`, so `[::]` also accepts IPv4 connections whatever the
    /// host's `net.ipv6.bindv6only` is.
    public func listen(tcpHost host: String, port: UInt16, tls: TLSServerContext?) throws {
        let name = TCPAddress(host: host, port: port).description
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        defer { freeaddrinfo(results) }
        guard status == 0, let first = results?.pointee else {
            throw ConnectionError.unresolved(host: host, reason: String(cString: gai_strerror(status)))
        }
        var info = first
        var next = first.ai_next
        while info.ai_family != AF_INET, let candidate = next {
            if candidate.pointee.ai_family == AF_INET { info = candidate.pointee }
            next = candidate.pointee.ai_next
        }
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard fd >= 0 else { throw SystemCallError(call: "socket", subject: name, errno: errno) }
        var on: Int32 = 1
        var off: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if info.ai_family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        }
        if bind(fd, info.ai_addr, info.ai_addrlen) != 0 || Glibc.listen(fd, 1024) != 0 {
            let code = errno
            Glibc.close(fd)
            throw SystemCallError(call: "bind", subject: name, errno: code)
        }
        try serve(listener: fd, name: name, tls: tls)
    }

    /// Accepts connections on an already listening socket, such as one passed by systemd.
    ///
    /// Leaves a `shared` listener (one that systemd passed) listening at `stop()`, because a
    /// `shutdown(2)` would also stop systemd's copy and fail its socket unit. Connections that
    /// wait in its backlog then go to the daemon that systemd starts next.
    public func serve(
        listener fd: Int32, name: String, tls: TLSServerContext? = nil, shared: Bool = false
    ) throws {
        if !shared { listeners.withLock { $0.append(fd) } }
        log.info("API listen on \(name)", tls == nil ? [] : [("tls", "true")])
        let thread = Thread { [self] in acceptLoop(fd, tls: tls) }
        thread.name = "swiftd-accept"
        thread.start()
    }

    /// Stops accepting, and closes idle and active connections.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        for fd in listeners.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
        for connection in connections.withLock({ Array($0.values) }) { connection.shutdownBoth() }
    }

    private func acceptLoop(_ listener: Int32, tls: TLSServerContext?) {
        while !stopping.load(ordering: .acquiring) {
            let fd = Sockets.accept(listener)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE {
                    log.error("accept failed", [("error", String(cString: strerror(errno)))])
                    usleep(10_000)
                    continue
                }
                break
            }
            let thread = Thread { [self] in
                // The handshake runs on the connection's own thread, so a slow client delays
                // only itself.
                var session: TLSSession?
                if let tls {
                    if Self.startsWithPlainHTTP(fd) {
                        // Go's net/http server sends this reply, which the docker CLI prints.
                        let reply = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
                        _ = try? FileSystem.writeAll(fd, Array(reply.utf8))
                        log.info("plain HTTP request on a TLS listener")
                        Self.closeAfterDraining(fd)
                        return
                    }
                    do {
                        session = try tls.accept(fd: fd)
                    } catch {
                        log.info("TLS handshake failed", [("error", "\(error)")])
                        Glibc.close(fd)
                        return
                    }
                }
                let connection = Connection(fd: fd, tls: session)
                connections.withLock { $0[fd] = connection }
                serveConnection(connection)
                connections.withLock { _ = $0.removeValue(forKey: fd) }
                session?.shutdown()
                connection.close()
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        Glibc.close(listener)
    }

    /// Reports whether the first byte a client sent is an ASCII capital letter, the start of
    /// an HTTP method, rather than 0x16, the start of a TLS handshake. Blocks until a byte
    /// arrives or the peer closes, and leaves the byte unread.
    private static func startsWithPlainHTTP(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        var count: Int
        repeat { count = recv(fd, &byte, 1, Int32(MSG_PEEK)) } while count < 0 && errno == EINTR
        return count == 1 && (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// Closes `fd` after reading what the client sent (at most 64 KiB, waiting at most 1 s),
    /// because closing a socket with unread bytes resets the connection, and the client then
    /// loses the reply it has not read yet.
    private static func closeAfterDraining(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while total < 65536 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                total += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        Glibc.close(fd)
    }

    private func serveConnection(_ connection: Connection) {
        while !stopping.load(ordering: .acquiring) {
            let request: HTTPRequest
            let framing: HTTPParser.BodyFraming
            do {
                guard let head = try connection.readHead() else { return }
                request = try HTTPParser.parseRequestHead(head)
                framing = try HTTPParser.requestFraming(request)
            } catch let error as HTTPParser.ParseError {
                let writer = ResponseWriter(connection: connection, method: "GET", commonHeaders: commonHeaders + [("Connection", "close")])
                try? writer.sendError(error.status, error.message)
                return
            } catch {
                return
            }

            if request.header("Expect")?.lowercased() == "100-continue" {
                try? connection.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            }
            let body = BodyReader(connection: connection, framing: framing)
            let writer = ResponseWriter(connection: connection, method: request.method, commonHeaders: commonHeaders)
            if immediate?(request, writer) != true {
                runBlocking { [handler] in await handler(request, body, writer) }
            }

            switch writer.state {
            case .hijacked:
                return
            case .nothing:
                try? writer.sendError(.internalServerError, "no response was written")
            case .streaming:
                try? writer.finishStream()
            case .complete:
                break
            }
            // Whatever the handler left unread must go before the next request can be parsed.
            do {
                while try body.read() != nil {}
            } catch {
                return
            }
            if !request.keepAlive { return }
        }
    }
}

/// Runs `body` on the cooperative pool and blocks the calling thread (never a pool thread)
/// until it finishes.
public func runBlocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}
