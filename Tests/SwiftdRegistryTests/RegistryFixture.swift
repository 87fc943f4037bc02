import Foundation
import SwiftdGraph
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the tests run as root (layers are extracted with their owners).
let isRoot = getuid() == 0
/// Whether Debian's `docker-registry` and `skopeo` are installed.
let hasRegistry =
    FileSystem.exists("/usr/bin/docker-registry") && FileSystem.exists("/usr/bin/skopeo")

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String) throws {
        var template = Array("/tmp/swiftd-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SystemCallError(call: "mkdtemp", subject: label, errno: errno)
        }
        path = String(cString: made)
    }

    func remove() {
        for point in Mounts.mountPoints(under: path) {
            try? Mounts.unmount(point, detach: true)
        }
        try? FileSystem.removeTree(path)
    }
}

/// Runs a program and returns its standard output; throws with its stderr if it fails.
@discardableResult
func run(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw SwiftdError(
            .internalError,
            "\(program) \(arguments) failed: exit \(process.terminationStatus): "
                + String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

/// Debian's distribution registry, started on a free loopback port with its own storage
/// and configuration under `directory`, and stopped (by its pid) with `stop()`.
final class RegistryFixture {
    let directory: String
    let port: Int
    private let process: Process

    /// `127.0.0.1:PORT`.
    var host: String { "127.0.0.1:\(port)" }
    var storage: String { directory + "/storage" }

    /// Starts the registry; with `htpasswd` (a file of bcrypt entries) it requires basic auth,
    /// with `tls` (certificate and key files) it serves https, and `extra` is appended to its
    /// configuration.
    init(
        directory: String, htpasswd: String? = nil, tls: (String, String)? = nil,
        extra: String = ""
    ) throws {
        self.directory = directory
        port = try Self.freePort()
        var config = """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(directory)/storage
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)

            """
        if let (certificate, key) = tls {
            config = config.replacingOccurrences(
                of: "  addr: 127.0.0.1:\(port)\n",
                with: "  addr: 127.0.0.1:\(port)\n  tls:\n    certificate: \(certificate)\n"
                    + "    key: \(key)\n")
        }
        config += extra
        if let htpasswd {
            config += """
                auth:
                  htpasswd:
                    realm: swiftd-test
                    path: \(htpasswd)

                """
        }
        try FileSystem.writeAtomically(directory + "/config.yml", Array(config.utf8))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/config.yml"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        do {
            try waitUntilListening()
        } catch {
            stop()
            throw error
        }
    }

    /// Stops the registry by its pid and waits for it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    private func waitUntilListening() throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: port)
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if result == 0 { return }
            guard process.isRunning else {
                throw SwiftdError(.internalError, "docker-registry exited at start")
            }
            usleep(100_000)
        }
        throw SwiftdError(.internalError, "docker-registry did not listen on \(host) in 10 s")
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// A port the kernel just handed out for 127.0.0.1, closed again for the registry.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            throw SystemCallError(call: "bind", subject: "127.0.0.1:0", errno: errno)
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Copies the docker-archive `archive` into the registry as `name` (`repo:tag`).
    func push(archive: String, as name: String, credentials: String? = nil) throws {
        var arguments = ["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"]
        if let credentials { arguments += ["--dest-creds", credentials] }
        arguments += ["docker-archive:" + archive, "docker://\(host)/\(name)"]
        try run("/usr/bin/skopeo", arguments)
    }

    /// The path of a blob's bytes in the registry's storage.
    func blobPath(_ digest: String) -> String {
        let hex = String(digest.dropFirst("sha256:".count))
        return storage + "/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }
}

/// Builds a two-layer busybox image in a store under `directory` and saves it as a
/// docker-archive; returns the archive's path and the image.
func makeBusyboxArchive(in directory: String, tag: String = "busybox:latest") throws
    -> (archive: String, image: Image)
{
    let store = try Graph(root: directory + "/source-root")
    let rootfs = directory + "/busybox.tar"
    try run("/bin/sh", [packageRoot() + "/scripts/busybox-image.sh", rootfs])
    let base = try store.importLayer(fromFile: rootfs).diffID
    try FileSystem.createDirectory(directory + "/extra/etc", mode: 0o755)
    try FileSystem.writeAtomically(
        directory + "/extra/etc/motd", Array("pulled by swiftd\n".utf8), mode: 0o644)
    let extra = directory + "/extra.tar.gz"
    try run(
        "/bin/tar",
        [
            "--numeric-owner", "--owner=0", "--group=0", "-C", directory + "/extra", "-czf", extra,
            ".",
        ])
    let top = try store.importLayer(fromFile: extra).diffID
    let config = ImageConfig(
        architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z",
        config: .init(cmd: ["/bin/sh"]), rootfs: .init(diffIDs: [base, top]), history: nil)
    let image = try store.createImage(config)
    try store.tag(image.id, as: try Reference(parsing: tag))
    let archive = directory + "/busybox-archive.tar"
    try store.save([tag], to: archive)
    return (archive, image)
}

/// The package root, found from this file's path (Tests/SwiftdRegistryTests/…).
func packageRoot() -> String {
    var path = #filePath
    for _ in 0..<3 { path = FileSystem.parent(of: path) }
    return path
}
