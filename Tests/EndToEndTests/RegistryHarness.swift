import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's distribution registry on a free loopback port, with its storage and config in
/// `directory`; stopped by its pid with `stop()`.
final class RegistryHarness {
    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: "/usr/bin/docker-registry")
            && FileManager.default.fileExists(atPath: "/usr/bin/skopeo")
    }

    let port: Int
    private let process = Process()

    var host: String { "127.0.0.1:\(port)" }

    /// Starts the registry; with `htpasswd` (bcrypt entries) it requires basic auth. With
    /// `accessLog` its access log (one line per request) goes to that file.
    init(directory: String, htpasswd: String? = nil, accessLog: String? = nil) throws {
        port = try Self.freePort()
        var config = """
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: \(directory)/registry-storage
            http:
              addr: 127.0.0.1:\(port)

            """
        if let htpasswd {
            config += """
                auth:
                  htpasswd:
                    realm: swiftd-e2e
                    path: \(htpasswd)

                """
        }
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/registry.yml"))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory + "/registry.yml"]
        process.standardOutput = FileHandle.nullDevice
        if let accessLog {
            _ = FileManager.default.createFile(atPath: accessLog, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: accessLog))
        }
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            // 22 is curl's exit status for an HTTP error such as 401: the registry is up.
            let probe = try DaemonHarness.capture("/usr/bin/curl", ["-sf", "http://\(host)/v2/"])
            if probe.status == 0 || probe.status == 22 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw HarnessError("docker-registry did not respond on \(host)")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    /// Copies a docker-archive into the registry as `name`.
    func push(archive: String, as name: String) throws {
        let copied = try DaemonHarness.capture(
            "/usr/bin/skopeo",
            [
                "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                "docker-archive:" + archive, "docker://\(host)/\(name)",
            ])
        guard copied.status == 0 else { throw HarnessError("skopeo copy failed: \(copied.stderr)") }
    }

    /// Runs the client against `daemon` with `HOME` set to `home`, so that saved logins stay
    /// in the test's directory.
    static func client(
        _ daemon: DaemonHarness, home: String, _ arguments: [String], stdin: Data? = nil
    ) throws -> CommandResult {
        try DaemonHarness.capture(
            "/usr/bin/env",
            ["HOME=" + home, DaemonHarness.binary, "-H", "unix://\(daemon.socket)"] + arguments,
            stdin: stdin)
    }

    /// A bcrypt htpasswd line for `user` and `password`, made with Python's crypt module.
    static func htpasswdLine(user: String, password: String) throws -> String {
        let hashed = try DaemonHarness.capture(
            "/usr/bin/python3",
            [
                "-c",
                "import crypt, sys; "
                    + "print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                password,
            ])
        guard hashed.status == 0 else { throw HarnessError("python3 crypt failed: \(hashed.stderr)") }
        return "\(user):\(hashed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))\n"
    }

    /// A loopback TCP port that nothing listens on when this returns.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessError("bind 127.0.0.1:0 failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
