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
        try pullImage(
            flags.positional[0], platform: flags.string("--platform"),
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
        try streamProgress("/images/create?\(query)", headers: headers, output: output)
    }
}

extension Commands {
    /// `swiftd push NAME[:TAG]`.
    func push(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["-q", "--quiet"], takesValue: false)])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else {
            throw UsageFailure(message: "\"push\" requires exactly 1 argument")
        }
        let full = flags.positional[0]
        var name = full
        var tag = "latest"
        if let colon = full.lastIndex(of: ":"), !full[colon...].contains("/") {
            name = String(full[..<colon])
            tag = String(full[full.index(after: colon)...])
        }
        var headers: [(String, String)] = []
        if let auth = RegistryAuthFile.header(forImage: full) {
            headers.append(("X-Registry-Auth", auth))
        }
        try streamProgress(
            "/images/\(name)/push?tag=\(percentEncode(tag))", headers: headers,
            output: flags.bool("-q") ? nil : 1)
        return 0
    }

    /// `swiftd login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`: checks the
    /// credentials through the daemon and saves them in `~/.swiftd/config.json`.
    func login(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-u", "--username"], takesValue: true),
            .init(names: ["-p", "--password"], takesValue: true),
            .init(names: ["--password-stdin"], takesValue: false),
        ])
        try flags.parse(arguments)
        guard flags.positional.count <= 1 else {
            throw UsageFailure(message: "\"login\" requires at most 1 argument")
        }
        let server = flags.positional.first ?? RegistryAuthFile.dockerHubKey
        guard let username = flags.string("-u") else {
            throw UsageFailure(message: "login needs a user name: use -u USER")
        }
        var password = flags.string("-p") ?? ""
        if flags.bool("--password-stdin") {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            password = String(decoding: input, as: UTF8.self)
                .trimmingCharacters(in: .newlines)
        } else if flags.string("-p") != nil {
            writeStderr(
                "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
        }
        let body = ["username": username, "password": password, "serveraddress": server]
        let response = try client.request(
            "POST", "/auth", json: Array(try JSONEncoder().encode(body)))
        if response.status >= 400 {
            throw DaemonFailure(message: response.errorMessage, exitStatus: 1)
        }
        try RegistryAuthFile.save(username: username, password: password, server: server)
        print("Login Succeeded")
        return 0
    }

    /// `swiftd logout [SERVER]`: removes the saved credentials from `~/.swiftd/config.json`.
    func logout(_ arguments: [String]) throws -> Int32 {
        guard arguments.count <= 1 else {
            throw UsageFailure(message: "\"logout\" requires at most 1 argument")
        }
        let server = arguments.first ?? RegistryAuthFile.dockerHubKey
        if try RegistryAuthFile.remove(server: server) {
            print("Removing login credentials for \(server)")
        } else {
            print("Not logged in to \(server)")
        }
        return 0
    }

    /// `swiftd search [--limit N] [HOST/]TERM`.
    func search(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([.init(names: ["--limit"], takesValue: true)])
        try flags.parse(arguments)
        guard flags.positional.count == 1 else {
            throw UsageFailure(message: "\"search\" requires exactly 1 argument")
        }
        let term = flags.positional[0]
        var path = "/images/search?term=\(percentEncode(term))"
        if let limit = flags.string("--limit") { path += "&limit=\(percentEncode(limit))" }
        let response = try client.request("GET", path)
        if response.status >= 400 {
            throw DaemonFailure(message: response.errorMessage, exitStatus: 1)
        }
        struct Line: Decodable {
            var name: String
            var description: String
            var star_count: Int
            var is_official: Bool
        }
        var rows = [["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]]
        for line in try response.decode([Line].self) {
            rows.append([
                line.name, String(line.description.prefix(45)), "\(line.star_count)",
                line.is_official ? "[OK]" : "",
            ])
        }
        printTable(rows)
        return 0
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
        // NOTE: the daemon learns the registry from the image name; the server field is
        // informative.
        return header(username: username, password: password, server: key)
    }

    /// base64url of `{"username":…,"password":…,"serveraddress":…}`.
    static func header(username: String, password: String, server: String) -> String? {
        let fields = ["username": username, "password": password, "serveraddress": server]
        guard let json = try? JSONEncoder().encode(fields) else { return nil }
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
    }

    /// Saves `user:password` for `server` in swiftd's file (mode 0600), keeping other
    /// entries and fields.
    ///
    /// - Throws: `SystemCallError` when the file cannot be written.
    static func save(username: String, password: String, server: String) throws {
        var object = readObject()
        var auths = object["auths"] as? [String: Any] ?? [:]
        let encoded = Data("\(username):\(password)".utf8).base64EncodedString()
        auths[key(server)] = ["auth": encoded]
        object["auths"] = auths
        try write(object)
    }

    /// Removes the entry for `server` from swiftd's file; false when there was none.
    ///
    /// - Throws: `SystemCallError` when the file cannot be written.
    static func remove(server: String) throws -> Bool {
        var object = readObject()
        guard var auths = object["auths"] as? [String: Any],
            auths.removeValue(forKey: key(server)) != nil
        else { return false }
        object["auths"] = auths
        try write(object)
        return true
    }

    /// Docker Hub's spellings become its key; other servers keep `host[:port]`.
    private static func key(_ server: String) -> String {
        var host = server
        for prefix in ["https://", "http://"] where host.hasPrefix(prefix) {
            host.removeFirst(prefix.count)
        }
        while host.hasSuffix("/") { host.removeLast() }
        if ["docker.io", "index.docker.io", "index.docker.io/v1", "registry-1.docker.io"]
            .contains(host)
        {
            return dockerHubKey
        }
        return host
    }

    private static func readObject() -> [String: Any] {
        guard let bytes = try? FileSystem.read(swiftdPath),
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { return [:] }
        return object
    }

    private static func write(_ object: [String: Any]) throws {
        try FileSystem.createDirectory(FileSystem.parent(of: swiftdPath), mode: 0o700)
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try FileSystem.writeAtomically(swiftdPath, Array(data), mode: 0o600)
    }

    struct ConfigFile: Codable {
        var auths: [String: Entry]?
    }

    struct Entry: Codable {
        var auth: String?
    }
}
