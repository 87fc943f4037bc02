import CArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Checks one tar entry, moves it to its resolved place under the root, and writes it.
struct EntryExtractor {
    let target: ExtractTarget
    let entry: OpaquePointer
    let reader: OpaquePointer
    let writer: OpaquePointer
    let stream: DecompressedStream
    let options: ExtractOptions

    var root: String { target.root }
    var layer: Bool { options.layer }
    var devices: Bool { options.devices }

    /// `AE_IFMT` and the device types from <archive_entry.h>: casting macros do not import.
    static let typeMask: UInt32 = 0o170000
    static let characterDevice: UInt32 = 0o020000
    static let blockDevice: UInt32 = 0o060000
    static let regularFile: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000

    func run() throws {
        let name = try entryName()
        let parts = try components(of: name, entry: name)
        guard let base = parts.last else {
            // The archive's own root (`./`): the target directory already exists.
            try skipData(name)
            return
        }
        if layer && base.hasPrefix(".wh.") {
            try whiteout(parts, name: name)
            return
        }
        let type = UInt32(libarchive.archive_entry_filetype(entry)) & Self.typeMask
        if !devices && (type == Self.characterDevice || type == Self.blockDevice) {
            let what = layer ? "image layers" : "this archive"
            throw ArchiveError.hostile(name, "device nodes are not allowed in \(what)")
        }
        let parent = try resolve(Array(parts.dropLast()), entry: name)
        let destination = path(parent + [base])
        if options.noOverwriteDirNonDir {
            try checkOverwrite(destination, isDirectory: type == Self.directory, entry: name)
        }
        libarchive.archive_entry_copy_pathname(entry, destination)
        if let link = libarchive.archive_entry_hardlink(entry) {
            let target = try hardLinkTarget(String(cString: link), name)
            libarchive.archive_entry_copy_hardlink(entry, target)
        }
        if let owner = options.owner {
            libarchive.archive_entry_set_uid(entry, la_int64_t(owner.uid))
            libarchive.archive_entry_set_gid(entry, la_int64_t(owner.gid))
        }
        dropOverlayAttributes()

        if libarchive.archive_write_header(writer, entry) < ARCHIVE_WARN {
            throw ArchiveError(
                .invalidArgument, entry: name,
                "cannot create: \(DecompressedStream.errorString(writer))")
        }
        try copyData(name)
        if libarchive.archive_write_finish_entry(writer) < ARCHIVE_WARN {
            throw ArchiveError(
                .internalError, entry: name,
                "cannot finish: \(DecompressedStream.errorString(writer))")
        }
    }

    private func entryName() throws -> String {
        if let raw = libarchive.archive_entry_pathname(entry) { return String(cString: raw) }
        if let utf8 = libarchive.archive_entry_pathname_utf8(entry) { return String(cString: utf8) }
        throw ArchiveError(.invalidArgument, "an entry has no readable name")
    }

    /// Splits an entry or hard-link name into components, applying `stripsLeadingSlash` and
    /// `rename`.
    private func components(of name: String, entry: String) throws -> [String] {
        var text = name
        if options.stripsLeadingSlash {
            text = String(text.drop { $0 == "/" })
        }
        let parts = try EntryPath.components(of: text, entry: entry)
        guard let rename = options.rename else { return parts }
        let from = try EntryPath.components(of: String(rename.from.drop { $0 == "/" }), entry: entry)
        let to = try EntryPath.components(of: rename.to, entry: entry)
        guard parts.starts(with: from) else { return parts }
        return to + parts.dropFirst(from.count)
    }

    /// Resolves an entry's parent components below the target directory.
    private func resolve(_ components: [String], entry: String) throws -> [String] {
        try EntryPath.resolve(
            target.base + components, in: root, entry: entry, confined: target.confined)
    }

    /// Rejects replacing a directory with a non-directory or the reverse.
    private func checkOverwrite(_ destination: String, isDirectory: Bool, entry: String) throws {
        var info = stat()
        guard lstat(destination, &info) == 0 else { return }
        let existingIsDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        if existingIsDirectory && !isDirectory {
            throw ArchiveError(
                .invalidArgument, entry: entry, "cannot overwrite a directory with a non-directory")
        }
        if !existingIsDirectory && isDirectory {
            throw ArchiveError(
                .invalidArgument, entry: entry, "cannot overwrite a non-directory with a directory")
        }
    }

    private func path(_ components: [String]) -> String {
        components.isEmpty ? root : root + "/" + components.joined(separator: "/")
    }

    /// The resolved path of a hard link's target, which must be an entry already extracted.
    private func hardLinkTarget(_ link: String, _ name: String) throws -> String {
        let parts = try components(of: link, entry: name)
        guard let base = parts.last else {
            throw ArchiveError.hostile(name, "hard link to the archive root")
        }
        let parent = try resolve(Array(parts.dropLast()), entry: name)
        let target = path(parent + [base])
        var info = stat()
        guard lstat(target, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else {
            throw ArchiveError.hostile(
                name, "hard link target \"\(link)\" is not a file earlier in the archive")
        }
        return target
    }

    /// Applies an overlay whiteout entry: `.wh..wh..opq` marks its directory opaque, and
    /// `.wh.NAME` becomes a 0/0 character device called NAME.
    private func whiteout(_ parts: [String], name: String) throws {
        let base = parts[parts.count - 1]
        let type = UInt32(libarchive.archive_entry_filetype(entry)) & Self.typeMask
        guard type == Self.regularFile, libarchive.archive_entry_hardlink(entry) == nil else {
            throw ArchiveError.hostile(name, "malformed whiteout: not a regular file")
        }
        let parent = try resolve(Array(parts.dropLast()), entry: name)
        let directory = path(parent)
        try FileSystem.createDirectory(directory, mode: 0o755)
        if base == ".wh..wh..opq" {
            if setxattr(directory, "trusted.overlay.opaque", "y", 1, 0) != 0 {
                throw SystemCallError(
                    call: "setxattr", subject: "trusted.overlay.opaque on \(directory)",
                    errno: Glibc.errno)
            }
            try skipData(name)
            return
        }
        let hidden = String(base.dropFirst(4))
        if base.hasPrefix(".wh..wh.") || hidden.isEmpty || hidden == "." || hidden == ".." {
            throw ArchiveError.hostile(name, "malformed whiteout")
        }
        let target = directory + "/" + hidden
        try FileSystem.removeTree(target)
        if mknod(target, S_IFCHR | 0o000, 0) != 0 {
            throw SystemCallError(call: "mknod", subject: "whiteout \(target)", errno: Glibc.errno)
        }
        try skipData(name)
    }

    /// Removes `trusted.overlay.*` attributes, which would steer overlayfs (redirects, opaque
    /// flags) from inside an untrusted archive.
    private func dropOverlayAttributes() {
        guard libarchive.archive_entry_xattr_reset(entry) > 0 else { return }
        var kept: [(String, [UInt8])] = []
        var dropped = false
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while libarchive.archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let key = String(cString: name)
            if key.hasPrefix("trusted.overlay.") {
                dropped = true
                continue
            }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            kept.append((key, bytes))
        }
        guard dropped else { return }
        libarchive.archive_entry_xattr_clear(entry)
        for (key, bytes) in kept {
            bytes.withUnsafeBytes { raw in
                libarchive.archive_entry_xattr_add_entry(entry, key, raw.baseAddress, raw.count)
            }
        }
    }

    private func copyData(_ name: String) throws {
        var block: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let status = libarchive.archive_read_data_block(reader, &block, &size, &offset)
            if status == ARCHIVE_EOF { return }
            if status < ARCHIVE_WARN {
                throw TarArchive.readError(reader, stream, entry: name)
            }
            if libarchive.archive_write_data_block(writer, block, size, offset) < ARCHIVE_WARN {
                throw ArchiveError(
                    .internalError, entry: name,
                    "cannot write: \(DecompressedStream.errorString(writer))")
            }
        }
    }

    private func skipData(_ name: String) throws {
        if libarchive.archive_read_data_skip(reader) < ARCHIVE_WARN {
            throw TarArchive.readError(reader, stream, entry: name)
        }
    }
}
