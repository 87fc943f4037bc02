import Foundation
import Testing

/// libarchive, OpenSSL and libsystemd are opened with dlopen when a command first needs them.
/// The tests hide them from one process with bind mounts of /dev/null in a mount namespace of
/// that process's own, so the host's mounts stay as they are.
@Suite(
    "libraries loaded on first use", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for the daemon and for mount namespaces"))
struct LibraryLoadingTests {
    @Test("a client without libarchive fails the copy")
    func missingLibarchive() throws {
        let library = Self.cachedPaths(of: "libarchive.so.13")
        try #require(!library.isEmpty)
        try DaemonHarness.withDaemon { daemon in
            let created = try daemon.client(["create", "--name", "target", "busybox", "true"])
            #expect(created.status == 0, "\(created.stderr)")
            let source = "\(daemon.work)/copied.txt"
            try "kept\n".write(toFile: source, atomically: true, encoding: .utf8)
            let arguments = ["-H", "unix://\(daemon.socket)", "cp", source, "target:/copied.txt"]

            let hidden = try Self.runHiding(library, arguments)
            #expect(hidden.status == 1)
            #expect(hidden.stderr.contains("cannot load libarchive: "))
            #expect(hidden.stderr.contains("libarchive.so.13"))
            #expect(hidden.stderr.split(separator: "\n").count == 1)

            // The failed copy stored nothing, and the same copy works with the library.
            let absent = try daemon.client(["cp", "target:/copied.txt", "-"])
            #expect(absent.status != 0)
            let copied = try daemon.client(["cp", source, "target:/copied.txt"])
            #expect(copied.status == 0, "\(copied.stderr)")
            let back = try daemon.client(["cp", "target:/copied.txt", "\(daemon.work)/back.txt"])
            #expect(back.status == 0, "\(back.stderr)")
            #expect(try String(contentsOfFile: "\(daemon.work)/back.txt", encoding: .utf8) == "kept\n")
        }
    }

    @Test("a daemon without libarchive fails the import and keeps serving")
    func daemonMissingLibarchive() throws {
        let library = Self.cachedPaths(of: "libarchive.so.13")
        try #require(!library.isEmpty)
        let harness = try DaemonHarness()
        defer { harness.cleanUp() }
        try harness.start(wrapper: Self.hiding(library))
        let tar = "\(harness.work)/busybox.tar"
        let built = try DaemonHarness.capture(
            "\(DaemonHarness.repository)/scripts/busybox-image.sh", [tar])
        try #require(built.status == 0, "\(built.stderr)")

        let imported = try harness.client(["import", tar, "busybox"])
        #expect(imported.status == 1)
        #expect(imported.stderr.contains("cannot load libarchive: "))
        let version = try harness.client(["version"])
        #expect(version.status == 0, "\(version.stderr)")
        let images = try harness.client(["images", "-q"])
        #expect(images.status == 0)
        #expect(images.stdout.isEmpty)
        #expect(harness.stop() == 0, "daemon log:\n\(harness.daemonLog)")
    }

    @Test("commands that need no library run without them")
    func versionWithoutLibraries() throws {
        let hidden = ["libarchive.so.13", "libssl.so.3", "libcrypto.so.3", "libsystemd.so.0"]
            .flatMap { Self.cachedPaths(of: $0) }
        try #require(hidden.count >= 4)
        let version = try Self.runHiding(hidden, ["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.hasPrefix("swiftd version"))
    }

    /// Runs swiftd with `arguments` in a new mount namespace where each of `libraries` is
    /// covered by /dev/null.
    static func runHiding(_ libraries: [String], _ arguments: [String]) throws -> CommandResult {
        let command = hiding(libraries) + [DaemonHarness.binary] + arguments
        return try DaemonHarness.capture(command[0], Array(command.dropFirst()))
    }

    /// Returns a command that covers each of `libraries` with /dev/null in a new mount
    /// namespace, then executes its arguments there.
    static func hiding(_ libraries: [String]) -> [String] {
        let mounts = libraries.map { "mount --bind /dev/null '\($0)'" }.joined(separator: " && ")
        return ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                "\(mounts) && exec \"$@\"", "sh"]
    }

    /// Returns the paths that the dynamic loader's cache (`ldconfig -p`) lists for `soname`,
    /// one per architecture.
    static func cachedPaths(of soname: String) -> [String] {
        guard let cache = try? DaemonHarness.capture("/sbin/ldconfig", ["-p"]) else { return [] }
        return cache.stdout.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.first == Substring(soname), let path = fields.last, path.hasPrefix("/")
            else { return nil }
            return String(path)
        }
    }
}
