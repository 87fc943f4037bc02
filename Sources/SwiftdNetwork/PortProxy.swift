import Dispatch
import Foundation
import SwiftdNetlink
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The userland proxy of one published port: a socket bound to the host address and port that
/// relays to the container, for connections the DNAT rules do not see (from 127.0.0.1, or from
/// the host to its own addresses in the OUTPUT path when the rules are off).
///
/// TCP: one thread accepts, and each connection gets a thread that copies both ways until both
/// sides have closed. UDP: one thread keeps a flow per client address and port, with its own
/// socket connected to the container, closed after `udpIdleTimeout` without traffic. Every
/// thread also polls a wake-up socket, which `stop()` makes readable.
final class PortProxy: Sendable {
    /// How long a UDP flow lives without traffic, as Docker's proxy (90 s).
    static let udpIdleTimeout: Duration = .seconds(90)

    let binding: PortBinding
    let target: (address: IPv4Address, port: UInt16)
    private let listener: Int32
    private let wake: (reader: Int32, writer: Int32)
    private let threads = DispatchGroup()
    private let stopped = Mutex(false)

    /// Binds `binding.hostIP:hostPort` (which must be set) and starts relaying to `target`.
    ///
    /// - Throws: `SwiftdError` (`conflict`) with the message of dockerd's userland proxy,
    ///   "Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in
    ///   use", if the address and port are in use. `SystemCallError` for other socket failures.
    init(_ binding: PortBinding, target: (address: IPv4Address, port: UInt16)) throws {
        self.binding = binding
        self.target = target
        guard let hostAddress = IPv4Address(binding.hostIP) else {
            throw SwiftdError(.invalidArgument, "invalid host IP \"\(binding.hostIP)\"")
        }
        let subject = "\(binding.proto) \(binding.hostIP):\(binding.hostPort)"
        let tcp = binding.proto == "tcp"
        let fd = try makeSocket(tcp ? streamType : datagramType, subject)
        do {
            var one: Int32 = 1
            try retryingInterrupts("setsockopt SO_REUSEADDR", subject) {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            var address = socketAddress(hostAddress, UInt16(binding.hostPort))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound != 0 {
                let code = currentErrno()
                if code == EADDRINUSE {
                    throw SwiftdError(
                        .conflict,
                        "Error starting userland proxy: listen \(binding.proto)4 "
                            + "\(binding.hostIP):\(binding.hostPort): bind: address already in use")
                }
                throw SystemCallError(call: "bind", subject: subject, errno: code)
            }
            if tcp { try retryingInterrupts("listen", subject) { listen(fd, 128) } }
        } catch {
            close(fd)
            throw error
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, streamType, 0, &pair) == 0 else {
            let code = currentErrno()
            close(fd)
            throw SystemCallError(call: "socketpair", subject: subject, errno: code)
        }
        self.listener = fd
        self.wake = (pair[0], pair[1])
        threads.enter()
        let thread = Thread { [self] in
            if tcp { acceptLoop() } else { datagramLoop() }
            threads.leave()
        }
        thread.name = "swiftd-proxy-\(binding.hostPort)"
        thread.start()
    }

    /// Stops the proxy: wakes every thread, waits (up to 5 s) for them to close their
    /// connections and closes the listening socket, so the port is free when this returns.
    func stop() {
        let first = stopped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wake.writer, &byte, 1)
        // TODO: a relay thread blocked in write() to a peer that never reads is not woken.
        _ = threads.wait(timeout: .now() + 5)
        close(listener)
        close(wake.reader)
        close(wake.writer)
    }

    // MARK: TCP

    private func acceptLoop() {
        while true {
            var fds = [
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 && currentErrno() == EINTR { continue }
            if ready < 0 || fds[1].revents != 0 { return }
            // TODO: accept4 with SOCK_CLOEXEC is hidden by glibc's Swift module (no
            // _GNU_SOURCE); a process spawned between accept and fcntl inherits the socket.
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            threads.enter()
            let thread = Thread { [self] in
                relay(client)
                threads.leave()
            }
            thread.name = "swiftd-proxy-conn"
            thread.start()
        }
    }

    /// Connects to the container and copies both ways until both directions are closed.
    private func relay(_ client: Int32) {
        defer { close(client) }
        guard let backend = connectToTarget(streamType) else { return }
        defer { close(backend) }
        var open = (client: true, backend: true)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.client || open.backend {
            var fds = [
                pollfd(fd: open.client ? client : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open.backend ? backend : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 3, -1)
            if ready < 0 && currentErrno() == EINTR { continue }
            if ready < 0 || fds[2].revents != 0 { return }
            if fds[0].revents != 0 {
                if !copy(from: client, to: backend, &buffer) { open.client = false }
            }
            if fds[1].revents != 0 {
                if !copy(from: backend, to: client, &buffer) { open.backend = false }
            }
        }
    }

    /// Copies what `source` has to `destination`; on end of stream or error, half-closes
    /// `destination` and returns false.
    private func copy(from source: Int32, to destination: Int32, _ buffer: inout [UInt8]) -> Bool
    {
        let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
        if count < 0 && (currentErrno() == EINTR || currentErrno() == EAGAIN) { return true }
        guard count > 0 else {
            shutdown(destination, Int32(SHUT_WR))
            return false
        }
        var sent = 0
        while sent < count {
            let written = buffer.withUnsafeBytes {
                send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && currentErrno() == EINTR { continue }
            guard written > 0 else {
                shutdown(source, Int32(SHUT_RD))
                return false
            }
            sent += written
        }
        return true
    }

    /// Opens a socket of `type` connected to the container; nil if the connection fails or
    /// the proxy is stopped while waiting (at most 10 s).
    private func connectToTarget(_ type: Int32) -> Int32? {
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = socketAddress(target.address, target.port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 && currentErrno() == EINPROGRESS {
            var fds = [
                pollfd(fd: fd, events: Int16(POLLOUT), revents: 0),
                pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0),
            ]
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard poll(&fds, 2, 10_000) > 0, fds[1].revents == 0,
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0
            else {
                close(fd)
                return nil
            }
        } else if result != 0 {
            close(fd)
            return nil
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    // MARK: UDP

    private struct Flow {
        var client: sockaddr_in
        var socket: Int32
        var lastActive: ContinuousClock.Instant
    }

    private func datagramLoop() {
        var flows: [UInt64: Flow] = [:]
        defer { for flow in flows.values { close(flow.socket) } }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let clock = ContinuousClock()
        while true {
            let keys = Array(flows.keys)
            var fds = [
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0),
            ]
            fds += keys.map { pollfd(fd: flows[$0]!.socket, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 1000)
            if ready < 0 && currentErrno() == EINTR { continue }
            if ready < 0 || fds[1].revents != 0 { return }
            let now = clock.now
            if fds[0].revents != 0 {
                var client = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &client) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(listener, raw.baseAddress, raw.count, 0, $0, &length)
                        }
                    }
                }
                if count >= 0 {
                    let key = UInt64(client.sin_addr.s_addr) << 16 | UInt64(client.sin_port)
                    if flows[key] == nil, let socket = connectToTarget(datagramType) {
                        flows[key] = Flow(client: client, socket: socket, lastActive: now)
                    }
                    if var flow = flows[key] {
                        _ = buffer.withUnsafeBytes { send(flow.socket, $0.baseAddress, count, 0) }
                        flow.lastActive = now
                        flows[key] = flow
                    }
                }
            }
            for (index, key) in keys.enumerated() where fds[index + 2].revents != 0 {
                guard var flow = flows[key] else { continue }
                let count = buffer.withUnsafeMutableBytes {
                    recv(flow.socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
                }
                if count < 0 && currentErrno() != EAGAIN && currentErrno() != EINTR {
                    // ECONNREFUSED: nothing listens in the container; drop the flow.
                    close(flow.socket)
                    flows[key] = nil
                    continue
                }
                if count >= 0 {
                    _ = buffer.withUnsafeBytes { raw in
                        withUnsafePointer(to: &flow.client) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                sendto(
                                    listener, raw.baseAddress, count, 0, $0,
                                    socklen_t(MemoryLayout<sockaddr_in>.size))
                            }
                        }
                    }
                    flow.lastActive = now
                    flows[key] = flow
                }
            }
            for (key, flow) in flows where now - flow.lastActive > Self.udpIdleTimeout {
                close(flow.socket)
                flows[key] = nil
            }
        }
    }
}

let streamType = Int32(SOCK_STREAM.rawValue)
let datagramType = Int32(SOCK_DGRAM.rawValue)

/// Opens a close-on-exec IPv4 socket of `type`.
private func makeSocket(_ type: Int32, _ subject: String) throws -> Int32 {
    let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else {
        throw SystemCallError(call: "socket", subject: subject, errno: currentErrno())
    }
    return fd
}

/// Builds a `sockaddr_in` for `address:port`.
func socketAddress(_ address: IPv4Address, _ port: UInt16) -> sockaddr_in {
    var result = sockaddr_in()
    result.sin_family = sa_family_t(AF_INET)
    result.sin_port = port.bigEndian
    result.sin_addr.s_addr = address.value.bigEndian
    return result
}
