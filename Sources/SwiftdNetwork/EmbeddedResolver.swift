import Dispatch
import Foundation
import SwiftdNetlink
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How the embedded DNS server answers one question.
public enum ResolverAnswer: Sendable, Equatable {
    /// The name exists here with these records; none for another type of the same name.
    case records([DNSAnswer])
    /// The name does not exist (NXDOMAIN), answered without asking anyone else.
    case nameError
    /// The name is not a local one: the query goes to the upstream servers.
    case forward
    /// The name is not a local one, but the container may not reach the upstream servers
    /// (it is only on internal networks): SERVFAIL, without asking anyone else.
    case serverFailure
}

/// A DNS server for one container on 127.0.0.11:53, UDP and TCP, as Docker's embedded server.
///
/// The sockets are made and bound inside the container's network namespace, where 127.0.0.11
/// is on lo, and served from threads of the daemon. `lookup` answers each question; queries it
/// leaves to others go to the `upstreams` over UDP from the host's namespace.
public final class EmbeddedResolver: Sendable {
    /// The address the server listens on inside the container.
    public static let address = "127.0.0.11"
    /// How long one upstream server gets to reply, and a TCP client to send its query.
    static let timeoutSeconds = 2

    private struct Sockets: Sendable {
        var udp: Int32
        var tcp: Int32
    }

    private let sockets: Mutex<Sockets?>
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)
    private let lookup: @Sendable (DNSQuestion) -> ResolverAnswer
    private let upstreams: [IPv4Address]
    private let log: Logger
    private let containerID: String

    /// Binds 127.0.0.11:53 (UDP and TCP) in the network namespace of `pid` and starts serving.
    /// lo must be up there.
    ///
    /// - Throws: `SystemCallError` if the namespace cannot be entered or a socket call fails.
    public init(
        containerID: String, pid: Int32, upstreams: [String], log: Logger,
        lookup: @escaping @Sendable (DNSQuestion) -> ResolverAnswer
    ) throws {
        let bound = try NetworkNamespace.run(inNetworkNamespaceOf: pid) { try Self.bindSockets() }
        let pipe: (read: Int32, write: Int32)
        do {
            pipe = try SwiftdSystem.Sockets.pipe()
        } catch {
            close(bound.udp)
            close(bound.tcp)
            throw error
        }
        self.sockets = Mutex(bound)
        self.wake = pipe
        self.lookup = lookup
        self.upstreams = upstreams.compactMap(IPv4Address.init)
        self.log = log
        self.containerID = containerID
        let thread = Thread { [self] in
            serve(udp: bound.udp, tcp: bound.tcp)
            finished.signal()
        }
        thread.name = "swiftd-dns"
        thread.start()
    }

    /// Stops serving and closes the sockets. Later calls do nothing.
    public func stop() {
        let open = sockets.withLock { $0 != nil }
        guard open else { return }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        finished.wait()
        sockets.withLock { sockets in
            if let current = sockets {
                close(current.udp)
                close(current.tcp)
            }
            sockets = nil
        }
        close(wake.read)
        close(wake.write)
    }

    private static func bindSockets() throws -> Sockets {
        let address = socketAddress(IPv4Address(address)!, 53)
        var made: [Int32] = []
        do {
            for type in [datagramType, streamType] {
                let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0 else {
                    throw SystemCallError(call: "socket", subject: "dns", errno: currentErrno())
                }
                made.append(fd)
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                var bindAddress = address
                let result = withUnsafePointer(to: &bindAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard result == 0 else {
                    throw SystemCallError(
                        call: "bind", subject: "\(Self.address):53", errno: currentErrno())
                }
            }
            guard listen(made[1], 16) == 0 else {
                throw SystemCallError(
                    call: "listen", subject: "\(Self.address):53", errno: currentErrno())
            }
        } catch {
            for fd in made { close(fd) }
            throw error
        }
        return Sockets(udp: made[0], tcp: made[1])
    }

    /// Polls the sockets until `stop()`: answers UDP queries at once, and serves each TCP
    /// connection and each forwarded UDP query on a thread of its own.
    private func serve(udp: Int32, tcp: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var fds = [
                pollfd(fd: udp, events: Int16(POLLIN), revents: 0),
                pollfd(fd: tcp, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 3, -1)
            if ready < 0 && currentErrno() == EINTR { continue }
            guard ready > 0, fds[2].revents == 0 else { return }
            if fds[0].revents != 0 { receiveDatagram(udp, &buffer) }
            if fds[1].revents != 0 {
                let client = SwiftdSystem.Sockets.accept(tcp)
                if client >= 0 {
                    let thread = Thread { [self] in serveConnection(client) }
                    thread.name = "swiftd-dns-tcp"
                    thread.start()
                }
            }
        }
    }

    private func receiveDatagram(_ udp: Int32, _ buffer: inout [UInt8]) {
        var peer = sockaddr_in()
        var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(udp, bytes.baseAddress, bytes.count, 0, $0, &peerLength)
                }
            }
        }
        guard count > 0 else { return }
        let packet = Array(buffer[0..<count])
        switch respond(to: packet, maxSize: DNSMessage.maxUDPSize) {
        case .reply(let reply):
            sendDatagram(reply, to: peer)
        case .forward:
            let client = peer
            let thread = Thread { [self] in
                sendDatagram(forward(packet), to: client)
            }
            thread.name = "swiftd-dns-forward"
            thread.start()
        case .drop:
            break
        }
    }

    /// Sends a UDP reply unless `stop()` has closed the socket.
    private func sendDatagram(_ reply: [UInt8], to peer: sockaddr_in) {
        sockets.withLock { sockets in
            guard let udp = sockets?.udp else { return }
            var target = peer
            _ = reply.withUnsafeBytes { bytes in
                withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(
                            udp, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0,
                            socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
    }

    /// Serves queries on one TCP connection, each with a two-byte length, until the client
    /// closes it or stays silent for `timeoutSeconds`.
    private func serveConnection(_ client: Int32) {
        defer { close(client) }
        setTimeout(client)
        while true {
            guard let header = readExactly(client, 2) else { return }
            let length = Int(header[0]) << 8 | Int(header[1])
            guard length > 0, let packet = readExactly(client, length) else { return }
            let reply: [UInt8]
            switch respond(to: packet, maxSize: nil) {
            case .reply(let bytes): reply = bytes
            case .forward: reply = forward(packet)
            case .drop: return
            }
            let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
            guard (try? FileSystem.writeAll(client, framed, subject: "dns client")) != nil else {
                return
            }
        }
    }

    private enum Outcome {
        case reply([UInt8])
        case forward
        case drop
    }

    /// Answers a query from `lookup`, FORMERR or NOTIMP for what cannot be parsed, or leaves
    /// it to the upstream servers.
    private func respond(to packet: [UInt8], maxSize: Int?) -> Outcome {
        let query: DNSQuery
        do {
            query = try DNSMessage.parseQuery(packet)
        } catch {
            log.debug("dns: malformed query", [("container", containerID), ("error", "\(error)")])
            return DNSMessage.formatErrorResponse(to: packet).map(Outcome.reply) ?? .drop
        }
        switch lookup(query.question) {
        case .records(let answers):
            return .reply(
                DNSMessage.response(
                    to: query, code: DNSMessage.noError, answers: answers, maxSize: maxSize))
        case .nameError:
            return .reply(DNSMessage.response(to: query, code: DNSMessage.nameError))
        case .serverFailure:
            return .reply(
                DNSMessage.response(
                    to: query, code: DNSMessage.serverFailure, authoritative: false))
        case .forward:
            log.debug(
                "dns: forwarding a query",
                [("container", containerID), ("name", query.question.name)])
            return .forward
        }
    }

    /// Sends the query to each upstream server in turn over UDP and returns the first reply
    /// with the query's ID, or SERVFAIL if none replies in time.
    private func forward(_ packet: [UInt8]) -> [UInt8] {
        for server in upstreams {
            if let reply = exchange(packet, with: server) { return reply }
        }
        log.debug("dns: no upstream server replied", [("container", containerID)])
        guard let query = try? DNSMessage.parseQuery(packet) else { return [] }
        return DNSMessage.response(
            to: query, code: DNSMessage.serverFailure, authoritative: false)
    }

    private func exchange(_ packet: [UInt8], with server: IPv4Address) -> [UInt8]? {
        let fd = socket(AF_INET, datagramType | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        setTimeout(fd)
        var address = socketAddress(server, 53)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0,
            packet.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) })
                == packet.count
        else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65535)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count >= 2 else { return nil }
            // A reply to an earlier, timed-out query of the same socket cannot arrive: the
            // socket is new. Still, check the ID as resolvers do.
            if buffer[0] == packet[0] && buffer[1] == packet[1] { return Array(buffer[0..<count]) }
        }
    }

    private func setTimeout(_ fd: Int32) {
        var timeout = timeval(tv_sec: Self.timeoutSeconds, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
    }

    /// Reads `count` bytes, or returns nil at end of file, on a timeout or an error.
    private func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var result = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = result.withUnsafeMutableBytes {
                read(fd, $0.baseAddress! + filled, count - filled)
            }
            if got < 0 && currentErrno() == EINTR { continue }
            guard got > 0 else { return nil }
            filled += got
        }
        return result
    }
}
