import Foundation
import Testing

/// Credentials sent to the daemon (`X-Registry-Auth`, `POST /auth`) never show up in its log
/// or in what inspect and info return, even at debug level.
@Suite(
    "registry credentials", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"),
    .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
struct RegistryCredentialTests {
    @Test("credentials absent from debug log")
    func credentialsNeverLogged() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        try daemon.start(extraArguments: ["-D"])
        try daemon.importBusybox()

        let user = "tester"
        let password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        let wrongPassword = "wrong-\(UInt64.random(in: 0...UInt64.max))"
        let htpasswd = daemon.work + "/htpasswd"
        try Data(try RegistryHarness.htpasswdLine(user: user, password: password).utf8)
            .write(to: URL(fileURLWithPath: htpasswd))
        let registry = try RegistryHarness(directory: daemon.work, htpasswd: htpasswd)
        defer { registry.stop() }
        let home = daemon.work + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let repository = "\(registry.host)/private/busybox"
        #expect(try daemon.client(["tag", "busybox", repository + ":v1"]).status == 0)

        // Through the client: login, push, pull with the saved credentials.
        let login = try RegistryHarness.client(
            daemon, home: home, ["login", "-u", user, "--password-stdin", registry.host],
            stdin: Data((password + "\n").utf8))
        #expect(login.status == 0, "\(login.stderr)")
        let pushed = try RegistryHarness.client(daemon, home: home, ["push", repository + ":v1"])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(try daemon.client(["rmi", repository + ":v1"]).status == 0)
        let pulled = try RegistryHarness.client(daemon, home: home, ["pull", repository + ":v1"])
        #expect(pulled.status == 0, "\(pulled.stderr)")

        // Through the API with a header whose exact bytes the test knows.
        let json = "{\"username\":\"\(user)\",\"password\":\"\(password)\","
            + "\"serveraddress\":\"\(registry.host)\"}"
        let header = Data(json.utf8).base64EncodedString()
        let urlHeader = Self.base64URL(header)
        let apiPush = try api(
            daemon, "POST", "/v1.45/images/\(repository)/push?tag=v1", header: urlHeader)
        #expect(apiPush.stdout.contains("digest: sha256:"), "\(apiPush.stdout)")
        #expect(try daemon.client(["rmi", repository + ":v1"]).status == 0)
        let apiPull = try api(
            daemon, "POST", "/v1.45/images/create?fromImage=\(repository)&tag=v1", header: header)
        #expect(apiPull.stdout.contains("Status: Downloaded newer image"), "\(apiPull.stdout)")
        let auth = try api(daemon, "POST", "/v1.45/auth", body: json)
        #expect(auth.stdout.contains("Login Succeeded"), "\(auth.stdout)")

        // A rejected password goes through the error paths.
        let wrongJSON = json.replacingOccurrences(of: password, with: wrongPassword)
        let wrongHeader = Data(wrongJSON.utf8).base64EncodedString()
        let denied = try api(
            daemon, "POST", "/v1.45/images/create?fromImage=\(repository)&tag=v1",
            header: wrongHeader)
        #expect(denied.stdout.contains("401"), "\(denied.stdout)")
        let deniedLogin = try api(daemon, "POST", "/v1.45/auth", body: wrongJSON)
        #expect(deniedLogin.stdout.contains("401"), "\(deniedLogin.stdout)")

        let inspect = try api(daemon, "GET", "/v1.45/images/\(repository):v1/json")
        #expect(inspect.stdout.contains("RepoDigests"), "\(inspect.stdout)")
        let info = try api(daemon, "GET", "/v1.45/info")
        #expect(info.stdout.contains("ServerVersion"), "\(info.stdout)")
        #expect(daemon.stop() == 0)

        let log = daemon.daemonLog
        // The debug lines name the user, so they ran and were written.
        #expect(log.contains("level=debug msg=\"pull requested\""), "no debug line for a pull")
        #expect(log.contains("level=debug msg=\"push requested\""), "no debug line for a push")
        #expect(log.contains("user=\(user)"), "no debug line names the user")
        let secrets = [
            ("password", password),
            ("wrong password", wrongPassword),
            ("base64 of the password", Data(password.utf8).base64EncodedString()),
            ("base64 of user:password", Data("\(user):\(password)".utf8).base64EncodedString()),
            (
                "base64 of user:wrong password",
                Data("\(user):\(wrongPassword)".utf8).base64EncodedString()
            ),
            ("X-Registry-Auth", header),
            ("X-Registry-Auth, base64url", urlHeader),
            ("X-Registry-Auth, wrong password", wrongHeader),
        ]
        let outputs = [
            ("daemon log", log), ("image inspect", inspect.stdout), ("info", info.stdout),
        ]
        for (place, text) in outputs {
            for (name, secret) in secrets {
                #expect(
                    !text.contains(Self.stripPadding(secret)), "\(name) appears in the \(place)")
            }
        }
    }

    /// Sends a request to the daemon's socket with curl, with an `X-Registry-Auth` header or a
    /// JSON body.
    private func api(
        _ daemon: DaemonHarness, _ method: String, _ path: String, header: String? = nil,
        body: String? = nil
    ) throws -> CommandResult {
        var arguments = ["-s", "--unix-socket", daemon.socket, "-X", method]
        if let header { arguments += ["-H", "X-Registry-Auth: " + header] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data", body] }
        return try DaemonHarness.capture("/usr/bin/curl", arguments + ["http://swiftd" + path])
    }

    private static func base64URL(_ base64: String) -> String {
        base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// The base64 text without `=` padding, which a leak might drop.
    private static func stripPadding(_ base64: String) -> String {
        String(base64.prefix { $0 != "=" })
    }
}
