import Foundation
import Testing

/// push, login, logout and search against Debian's docker-registry on loopback.
@Suite(
    "registry push and login", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"),
    .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
struct RegistryPushTests {
    @Test("push then pull gives the same image ID and digest")
    func pushThenPull() throws {
        try DaemonHarness.withDaemon { daemon in
            let registry = try RegistryHarness(directory: daemon.work)
            defer { registry.stop() }
            let id = try daemon.client(["images", "-q", "--no-trunc"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let name = "\(registry.host)/e2e/pushed:v1"
            #expect(try daemon.client(["tag", "busybox", name]).status == 0)
            let pushed = try daemon.client(["push", name])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            #expect(pushed.stdout.contains("Pushed"))
            let digestLine = pushed.stdout.split(separator: "\n").first {
                $0.hasPrefix("v1: digest: ")
            }
            let digest = try #require(digestLine?.split(separator: " ").dropFirst(2).first)

            #expect(try daemon.client(["rmi", "busybox", name]).status == 0)
            let pulled = try daemon.client(["pull", name])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            #expect(pulled.stdout.contains("Digest: \(digest)"))
            #expect(
                try daemon.client(["images", "-q", "--no-trunc"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines) == id)

            let again = try daemon.client(["push", name])
            #expect(again.status == 0)
            #expect(again.stdout.contains("Layer already exists"))
            #expect(!again.stdout.contains("Pushed"))

            let search = try daemon.client(["search", "\(registry.host)/e2e"])
            #expect(search.status == 1)
            #expect(search.stderr.contains("does not support search"))
        }
    }

    @Test("login checks and saves credentials; pushes and pulls use them; logout drops them")
    func loginAndLogout() throws {
        try DaemonHarness.withDaemon { daemon in
            let password = "pw-\(UInt32.random(in: 0...UInt32.max))"
            let htpasswd = daemon.work + "/htpasswd"
            try Data(try RegistryHarness.htpasswdLine(user: "tester", password: password).utf8)
                .write(to: URL(fileURLWithPath: htpasswd))
            let registry = try RegistryHarness(directory: daemon.work, htpasswd: htpasswd)
            defer { registry.stop() }
            let home = daemon.work + "/home"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let name = "\(registry.host)/private/busybox:v1"
            #expect(try daemon.client(["tag", "busybox", name]).status == 0)

            let anonymous = try RegistryHarness.client(daemon, home: home, ["push", name])
            #expect(anonymous.status == 1)
            #expect(anonymous.stderr.contains("requires authentication"))

            let wrong = try RegistryHarness.client(
                daemon, home: home, ["login", "-u", "tester", "--password-stdin", registry.host],
                stdin: Data("not-the-password\n".utf8))
            #expect(wrong.status == 1)
            #expect(wrong.stderr.contains("401"))
            #expect(!FileManager.default.fileExists(atPath: home + "/.swiftd/config.json"))

            let login = try RegistryHarness.client(
                daemon, home: home, ["login", "-u", "tester", "--password-stdin", registry.host],
                stdin: Data((password + "\n").utf8))
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stdout.contains("Login Succeeded"))
            let saved = try String(contentsOfFile: home + "/.swiftd/config.json", encoding: .utf8)
            #expect(saved.contains(registry.host))

            let pushed = try RegistryHarness.client(daemon, home: home, ["push", name])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            #expect(try daemon.client(["rmi", name]).status == 0)
            let pulled = try RegistryHarness.client(daemon, home: home, ["pull", name])
            #expect(pulled.status == 0, "\(pulled.stderr)")

            let logout = try RegistryHarness.client(daemon, home: home, ["logout", registry.host])
            #expect(logout.status == 0)
            #expect(try daemon.client(["rmi", name]).status == 0)
            let denied = try RegistryHarness.client(daemon, home: home, ["pull", name])
            #expect(denied.status == 1)
            #expect(!daemon.daemonLog.contains(password))
        }
    }
}
