import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal v2 registry on a free loopback port that serves one image, `repository:tag`, made
/// of one uncompressed layer. With `stalling` set it sends the first half of the layer and
/// then keeps the connection open without sending more, until `stop()`.
final class RegistryStub: Sendable {
    let port: Int
    let repository: String
    let tag: String
    /// The config's digest, which is the image ID.
    let configDigest: String
    let layerDigest: String
    private let listener: Int32
    private let blobs: [String: [UInt8]]
    private let manifest: [UInt8]
    private let state = Mutex(State())

    private struct State {
        var stalling = false
        var stalledRequests = 0
        var stopped = false
    }

    var host: String { "127.0.0.1:\(port)" }

    /// Whether layer downloads stall halfway.
    var stalling: Bool {
        get { state.withLock { $0.stalling } }
        set { state.withLock { $0.stalling = newValue } }
    }

    /// How many layer downloads have sent their first half and stalled.
    var stalledRequests: Int { state.withLock { $0.stalledRequests } }

    /// Serves the layer tar at `layerPath` with a config for it.
    init(repository: String, tag: String, layerPath: String) throws {
        self.repository = repository
        self.tag = tag
        let layer = Array(try Data(contentsOf: URL(fileURLWithPath: layerPath)))
        layerDigest = try Self.sha256(layerPath)
        let config = Array(
            """
            {"architecture":"amd64","os":"linux","config":{"Cmd":["/payload"]},\
            "rootfs":{"type":"layers","diff_ids":["\(layerDigest)"]}}
            """.utf8)
        let configPath = layerPath + ".config.json"
        try Data(config).write(to: URL(fileURLWithPath: configPath))
        configDigest = try Self.sha256(configPath)
        manifest = Array(
            """
            {"schemaVersion":2,\
            "mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json",\
            "size":\(config.count),"digest":"\(configDigest)"},\
            "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar",\
            "size":\(layer.count),"digest":"\(layerDigest)"}]}
            """.utf8)
        blobs = [configDigest: config, layerDigest: layer]

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                    && listen(fd, 16) == 0
            }
        }
        guard listening else {
            close(fd)
            throw HarnessError("bind 127.0.0.1:0 for the registry stub failed")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptConnections() }.start()
    }

    /// Stops accepting and releases stalled connections; shutting the listener down makes the
    /// blocked `accept` return.
    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptConnections() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            Thread { [self] in
                serve(connection)
                close(connection)
            }.start()
        }
    }

    private func serve(_ connection: Int32) {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return }
            head += buffer[0..<count]
            // A TLS handshake (record type 0x16) gets the connection closed, so that a client
            // trying https first falls back to plain HTTP.
            if head.first == 0x16 || head.count > 65536 { return }
        }
        let requestLine = String(decoding: head, as: UTF8.self).split(separator: "\r\n").first
        let parts = requestLine?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let method = String(parts[0])
        let path = String(parts[1].split(separator: "?").first ?? "")

        if path == "/v2/" {
            send(connection, status: "200 OK", type: "application/json", body: Array("{}".utf8))
        } else if path == "/v2/\(repository)/manifests/\(tag)" {
            send(
                connection, status: "200 OK",
                type: "application/vnd.docker.distribution.manifest.v2+json",
                body: method == "HEAD" ? [] : manifest, length: manifest.count)
        } else if path.hasPrefix("/v2/\(repository)/blobs/"),
            let blob = blobs[String(path.split(separator: "/").last ?? "")]
        {
            let digest = String(path.split(separator: "/").last ?? "")
            guard digest == layerDigest, stalling else {
                send(connection, status: "200 OK", type: "application/octet-stream", body: blob)
                return
            }
            send(
                connection, status: "200 OK", type: "application/octet-stream",
                body: Array(blob.prefix(blob.count / 2)), length: blob.count)
            state.withLock { $0.stalledRequests += 1 }
            while !state.withLock({ $0.stopped }) { Thread.sleep(forTimeInterval: 0.1) }
        } else {
            send(
                connection, status: "404 Not Found", type: "application/json",
                body: Array(#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#.utf8))
        }
    }

    /// Writes a response whose `Content-Length` is `length` (the body's size by default).
    private func send(
        _ connection: Int32, status: String, type: String, body: [UInt8], length: Int? = nil
    ) {
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\n"
            + "Content-Length: \(length ?? body.count)\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8) + body
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            bytes.removeFirst(written)
        }
    }

    private static func sha256(_ path: String) throws -> String {
        let hashed = try DaemonHarness.capture("/usr/bin/sha256sum", [path])
        guard hashed.status == 0, let hex = hashed.stdout.split(separator: " ").first else {
            throw HarnessError("sha256sum \(path) failed: \(hashed.stderr)")
        }
        return "sha256:" + hex
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
