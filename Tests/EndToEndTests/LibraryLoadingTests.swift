import Foundation
import Testing

/// libarchive, OpenSSL and libsystemd are opened with dlopen when a command first needs them.
/// The tests hide them from one process with bind mounts of /dev/null in a mount namespace of
/// that process's own, so the host's mounts stay as they are.
@Suite(
    "libraries loaded on first use", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root for the daemon and for mount namespaces"))
struct LibraryLoadingTests {
    @Test("a client without libarchive exits 127")
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
            #expect(hidden.status == 127)
            #expect(hidden.stderr.contains("error while loading shared libraries"))
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
        let mounts = libraries.map { "mount --bind /dev/null '\($0)'" }.joined(separator: " && ")
        let script = "\(mounts) && exec \"$@\""
        return try DaemonHarness.capture(
            "/usr/bin/unshare",
            ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh",
             DaemonHarness.binary] + arguments)
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
