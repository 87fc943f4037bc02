import Foundation
import SwiftdAPI
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Commands {
    /// `swiftd pull [--platform OS/ARCH] [-q] NAME[:TAG|@DIGEST]`.
    func pull(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--platform"], takesValue: true),
            .init(names: ["-q", "--quiet"], takesValue: false),
        ])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else {
            throw UsageFailure(message: "\"pull\" requires exactly 1 argument")
        }
        try pullImage(flags.positional[0], platform: flags.string("--platform"),
            output: flags.bool("-q") ? nil : 1)
        if flags.bool("-q") { print(flags.positional[0]) }
        return 0
    }

    /// Pulls `name` through the daemon, drawing its progress on `output` (a file descriptor;
    /// nil for none). Throws `DaemonFailure` with the daemon's message when the pull fails.
    func pullImage(_ name: String, platform: String? = nil, output: Int32?) throws {
        var query = "fromImage=\(percentEncode(name))"
        if let platform { query += "&platform=\(percentEncode(platform))" }
        var headers: [(String, String)] = []
        if let auth = RegistryAuthFile.header(forImage: name) {
            headers.append(("X-Registry-Auth", auth))
        }
        var display = PullDisplay(fd: output)
        var pending: [UInt8] = []
        var streamError: String?
        let response = try client.stream("POST", "/images/create?\(query)", headers: headers) {
            bytes in
            pending += bytes
            while let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                guard let message = try? JSONDecoder().decode(PullLine.self, from: Data(line))
                else { continue }
                if let error = message.error {
                    streamError = error
                } else {
                    display.show(message)
                }
            }
        }
        if response.status >= 400 { throw DaemonFailure(message: response.errorMessage, exitStatus: 1) }
        if let streamError { throw DaemonFailure(message: streamError, exitStatus: 1) }
    }
}

/// One message of a pull's progress stream.
struct PullLine: Decodable {
    var status: String?
    var id: String?
    var progress: String?
    var error: String?
}

/// Draws pull progress: on a terminal one line per layer, redrawn in place as docker does;
/// otherwise plain lines, without the repeated download progress.
struct PullDisplay {
    let fd: Int32?
    let isTerminal: Bool
    /// Layer IDs in the order they first appeared, each with its line on screen.
    private var rows: [String] = []

    init(fd: Int32?) {
        self.fd = fd
        isTerminal = fd.map { isatty($0) == 1 } ?? false
    }

    mutating func show(_ message: PullLine) {
        guard let fd, let status = message.status else { return }
        let isLayer = message.id != nil && !status.hasPrefix("Pulling from")
        var text = status
        if let id = message.id { text = "\(id): \(status)" }
        guard isTerminal, isLayer, let id = message.id else {
            if !isTerminal, status == "Downloading" || status == "Extracting" { return }
            write(fd, text + "\n")
            return
        }
        if let progress = message.progress { text += " " + progress }
        if let row = rows.firstIndex(of: id) {
            let up = rows.count - row
            // Up to the layer's line, clear it, write, and back down.
            write(fd, "\u{1b}[\(up)A\u{1b}[2K\r\(text)\n" + (up > 1 ? "\u{1b}[\(up - 1)B" : ""))
        } else {
            rows.append(id)
            write(fd, text + "\n")
        }
    }

    private func write(_ fd: Int32, _ text: String) {
        try? FileSystem.writeAll(fd, Array(text.utf8))
    }
}

/// Credentials saved by `swiftd login` in `~/.swiftd/config.json`, or by `docker login` in
/// `~/.docker/config.json` (read only), in docker's format:
/// `{"auths": {"HOST": {"auth": base64("user:password")}}}`.
enum RegistryAuthFile {
    /// The key docker uses for Docker Hub.
    static let dockerHubKey = "https://index.docker.io/v1/"

    static var swiftdPath: String { home + "/.swiftd/config.json" }
    static var dockerPath: String { home + "/.docker/config.json" }

    private static var home: String {
        ProcessInfo.processInfo.environment["HOME"] ?? "/root"
    }

    /// The registry host of an image name: the first component when it looks like a host
    /// (has `.` or `:`, or is `localhost`), else Docker Hub.
    static func registryKey(ofImage name: String) -> String {
        guard let slash = name.firstIndex(of: "/") else { return dockerHubKey }
        let first = String(name[..<slash])
        guard first.contains(".") || first.contains(":") || first == "localhost" else {
            return dockerHubKey
        }
        return first == "docker.io" || first == "index.docker.io" ? dockerHubKey : first
    }

    /// The saved `user:password` for `key`, from swiftd's file first, then docker's.
    static func credentials(for key: String) -> (username: String, password: String)? {
        for path in [swiftdPath, dockerPath] {
            guard let bytes = try? FileSystem.read(path),
                let file = try? JSONDecoder().decode(ConfigFile.self, from: Data(bytes)),
                let entry = file.auths?[key] ?? file.auths?["https://" + key]
                    ?? file.auths?["http://" + key],
                let encoded = entry.auth, let data = Data(base64Encoded: encoded)
            else { continue }
            let text = String(decoding: data, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
        return nil
    }

    /// The `X-Registry-Auth` header for pulling or pushing `image`, or nil without saved
    /// credentials.
    static func header(forImage image: String) -> String? {
        let key = registryKey(ofImage: image)
        guard let (username, password) = credentials(for: key) else { return nil }
        return header(username: username, password: password, server: key)
    }

    /// base64url of `{"username":…,"password":…,"serveraddress":…}`.
    static func header(username: String, password: String, server: String) -> String? {
        let fields = ["username": username, "password": password, "serveraddress": server]
        guard let json = try? JSONEncoder().encode(fields) else { return nil }
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
    }

    struct ConfigFile: Codable {
        var auths: [String: Entry]?
    }

    struct Entry: Codable {
        var auth: String?
    }
}
