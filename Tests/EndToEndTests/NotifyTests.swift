import Foundation
import Testing

/// The daemon's messages to systemd, read from a `NOTIFY_SOCKET` that the test binds.
@Suite("sd_notify", .serialized, .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"))
struct NotifyTests {
    @Test("READY=1 after start-up, STOPPING=1 at shutdown")
    func readyAndStopping() throws {
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        let path = "\(harness.work)/notify.sock"
        let socket = try DatagramSocket(binding: path)
        defer { socket.close() }

        try harness.start(environment: ["NOTIFY_SOCKET": path])
        let ready = try #require(socket.receive(timeout: 10))
        #expect(ready.contains("READY=1"))
        #expect(ready.contains("MAINPID=\(harness.process?.processIdentifier ?? -1)"))
        #expect(ready.contains("STATUS="))

        #expect(harness.stop() == 0)
        let stopping = try #require(socket.receive(timeout: 10))
        #expect(stopping.contains("STOPPING=1"))
    }
}

/// A unix datagram socket bound at a path, as systemd's notification socket is.
final class DatagramSocket {
    let fd: Int32

    init(binding path: String) throws {
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw HarnessError("bind \(path) failed: errno \(errno)") }
    }

    /// Receives one datagram as text, or nil when none arrives within `timeout` seconds.
    func receive(timeout: Int) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    func close() { Glibc.close(fd) }
}
