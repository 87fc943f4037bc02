import SwiftdArchive
import SwiftdSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("TarArchive", .enabled(if: isRoot, "extraction keeps ownership and makes whiteouts"))
struct TarArchiveTests {
    @Test("follows symbolic links that stay inside and makes overlay whiteouts")
    func extractsInsideLinksAndWhiteouts() throws {
        let work = try TemporaryDirectory("tar")
        defer { work.remove() }
        var tar = TarBuilder()
        tar.add("usr/lib/", .directory, mode: 0o755)
        tar.add("lib", .symlink, link: "usr/lib")
        tar.add("lib/x", data: Array("x".utf8))
        tar.add("a/", .directory, mode: 0o755)
        tar.add("a/.wh..wh..opq")
        tar.add("a/.wh.gone")
        tar.add("a/hard", .hardLink, link: "lib/x")
        try tar.write(to: work.path + "/in.tar")
        try FileSystem.createDirectory(work.path + "/out")

        let result = try TarArchive.extract(file: work.path + "/in.tar", into: work.path + "/out")
        #expect(result.digest == (try sha256sum(work.path + "/in.tar")))
        #expect(result.entries == 7)
        #expect(try FileSystem.readString(work.path + "/out/usr/lib/x") == "x")
        var info = stat()
        #expect(lstat(work.path + "/out/a/gone", &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFCHR)
        #expect(info.st_rdev == 0)
        #expect(!FileSystem.exists(work.path + "/out/a/.wh.gone"))
        #expect(TarArchive.isOpaqueDirectory(work.path + "/out/a"))
        #expect(!TarArchive.isOpaqueDirectory(work.path + "/out/usr"))
        #expect(lstat(work.path + "/out/a/hard", &info) == 0)
        #expect(info.st_nlink == 2)

        // Writing the tree back turns whiteouts into .wh. entries again.
        try TarArchive.write(
            directory: work.path + "/out", to: work.path + "/back.tar", overlayWhiteouts: true)
        let listing = try run("/usr/bin/tar", ["-tf", work.path + "/back.tar"])
        #expect(listing.contains("a/.wh.gone"))
        #expect(listing.contains("a/.wh..wh..opq"))
        #expect(listing.contains("usr/lib/x"))
    }

    @Test(
        "rejects hostile entries by name",
        arguments: [
            "dotdot", "absolute", "symlink-out", "relative-symlink-out", "hardlink-out",
            "hardlink-dotdot", "character-device", "block-device", "empty-whiteout",
            "aufs-whiteout",
        ])
    func rejectsHostileEntries(kind: String) throws {
        let work = try TemporaryDirectory("hostile")
        defer { work.remove() }
        // A directory outside the target that a symlink entry aims at.
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        var tar = TarBuilder()
        let named: String
        switch kind {
        case "dotdot":
            tar.add("../x", data: [1])
            named = "../x"
        case "absolute":
            tar.add(outside.path + "/abs", data: [1])
            named = outside.path + "/abs"
        case "symlink-out":
            tar.add("evil", .symlink, link: outside.path)
            tar.add("evil/file", data: [1])
            named = "evil/file"
        case "relative-symlink-out":
            tar.add("d/", .directory, mode: 0o755)
            tar.add("d/evil", .symlink, link: "../../../../../../../../.." + outside.path)
            tar.add("d/evil/file", data: [1])
            named = "d/evil/file"
        case "hardlink-out":
            tar.add("passwd", .hardLink, link: "/etc/passwd")
            named = "passwd"
        case "hardlink-dotdot":
            tar.add("passwd", .hardLink, link: "../../../../../../etc/passwd")
            named = "passwd"
        case "character-device":
            tar.add("null", .character, mode: 0o666, major: 1, minor: 3)
            named = "null"
        case "block-device":
            tar.add("sda", .block, mode: 0o660, major: 8, minor: 0)
            named = "sda"
        case "empty-whiteout":
            tar.add(".wh.")
            named = ".wh."
        default:
            tar.add(".wh..wh.plnk")
            named = ".wh..wh.plnk"
        }
        try tar.write(to: work.path + "/in.tar")
        try FileSystem.createDirectory(work.path + "/out")

        #expect {
            try TarArchive.extract(file: work.path + "/in.tar", into: work.path + "/out")
        } throws: { error in
            guard let error = error as? ArchiveError else { return false }
            return error.kind == .invalidArgument && error.entry == named
                && error.message.contains(named)
        }
        #expect(!FileSystem.exists(outside.path + "/file"))
        #expect(!FileSystem.exists(outside.path + "/abs"))
        #expect(!FileSystem.exists(work.path + "/x"))
        #expect(try FileSystem.readString("/etc/passwd").contains("root:"))
    }

    @Test("reports a truncated archive")
    func reportsTruncation() throws {
        let work = try TemporaryDirectory("trunc")
        defer { work.remove() }
        var tar = TarBuilder()
        tar.add("big", data: [UInt8](repeating: 7, count: 100_000))
        try FileSystem.writeAtomically(work.path + "/in.tar", Array(tar.bytes.prefix(50_000)))
        try FileSystem.createDirectory(work.path + "/out")
        #expect(throws: ArchiveError.self) {
            try TarArchive.extract(file: work.path + "/in.tar", into: work.path + "/out")
        }
    }
}
