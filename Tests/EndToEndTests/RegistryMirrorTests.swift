import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--registry-mirror` for Docker Hub names, and its reload on SIGHUP. Every pull here is
/// served by a loopback mirror that holds the image, so the fallback to Docker Hub itself
/// (after every mirror failed) never runs; `RegistrySettingsTests` covers that order offline.
@Suite(
    "registry mirrors", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"),
    .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
struct RegistryMirrorTests {
    /// A Docker Hub-style name that no one publishes.
    static func uniqueHubName() -> String {
        "swiftdmirrortest-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    @Test("pull falls back to second mirror")
    func fallsBackToSecondMirror() throws {
        let daemon = try DaemonHarness()
        defer { daemon.cleanUp() }
        let registry = try RegistryHarness(directory: daemon.work)
        defer { registry.stop() }
        let refused = try RegistryHarness.freePort()
        try daemon.start(extraArguments: [
            "--registry-mirror", "http://127.0.0.1:\(refused)",
            "--registry-mirror", "http://\(registry.host)",
        ])
        try daemon.importBusybox()
        let name = Self.uniqueHubName()
        try Self.publish(daemon, to: registry, as: "library/\(name):latest")

        let pulled = try daemon.client(["pull", name])
        #expect(pulled.status == 0, "\(pulled.stderr)\n\(daemon.daemonLog)")
        #expect(pulled.stdout.contains("Status: Downloaded newer image for \(name)"))
        let listed = try daemon.client(["images", "--format", "{{.Repository}}"])
        #expect(listed.stdout.split(separator: "\n").contains(Substring(name)))
        let log = daemon.daemonLog
        #expect(
            log.contains("msg=\"registry mirror failed\" mirror=127.0.0.1:\(refused)"), "\(log)")
        #expect(!log.contains("mirror=\(registry.host)"), "\(log)")
        #expect(daemon.stop() == 0, "\(daemon.daemonLog)")
    }

    @Test("SIGHUP adds a mirror")
    func reloadAddsMirror() throws {
        let daemon = try ReloadTests.ReloadingDaemon(logLevel: "info")
        defer { daemon.cleanUp() }
        let registry = try RegistryHarness(directory: daemon.harness.work)
        defer { registry.stop() }
        try daemon.harness.importBusybox()
        let name = Self.uniqueHubName()
        try Self.publish(daemon.harness, to: registry, as: "library/\(name):v1")

        try daemon.writeConfig(
            "{\"log-level\": \"info\", \"registry-mirrors\": [\"http://\(registry.host)\"]}")
        try daemon.hangUp(waitingFor: "configuration reloaded", count: 1)
        // Without the mirror in place the pull would go on to Docker Hub: stop here instead.
        try #require(
            daemon.log.contains("msg=\"registry settings reloaded\" mirrors=\(registry.host)"))
        #expect(!daemon.log.contains("take effect at the next restart"), "\(daemon.log)")

        let pulled = try daemon.harness.client(["pull", "\(name):v1"])
        #expect(pulled.status == 0, "\(pulled.stderr)\n\(daemon.log)")
        #expect(pulled.stdout.contains("Status: Downloaded newer image for \(name):v1"))
        #expect(daemon.stop() == 0, "\(daemon.log)")
    }

    /// Saves the daemon's busybox image and copies it into `registry` as `name`.
    static func publish(_ daemon: DaemonHarness, to registry: RegistryHarness, as name: String)
        throws
    {
        let archive = "\(daemon.work)/busybox-saved.tar"
        let saved = try daemon.client(["save", "-o", archive, "busybox"])
        guard saved.status == 0 else { throw HarnessError("save failed: \(saved.stderr)") }
        try registry.push(archive: archive, as: name)
    }
}
