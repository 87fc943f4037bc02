import CArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension TarArchive {
    /// Writes the tree under `directory` to a new uncompressed tar file at `file` (POSIX pax),
    /// names relative to `directory`, in sorted order, with ownership, modes, times, extended
    /// attributes and hard links kept.
    ///
    /// With `overlayWhiteouts`, the tree is an overlay layer: a 0/0 character device NAME is
    /// written as an empty file `.wh.NAME` and an opaque directory gets a `.wh..wh..opq` entry;
    /// `trusted.overlay.*` attributes are left out. Blocks until the file is written.
    ///
    /// - Throws: `SystemCallError` for an unreadable file, `ArchiveError` for a libarchive
    ///   failure.
    public static func write(directory: String, to file: String, overlayWhiteouts: Bool = false)
        throws
    {
        try write(directory: directory, target: .path(file), overlayWhiteouts: overlayWhiteouts)
    }

    /// Writes the tree under `directory` to `descriptor` (a file, pipe or socket; not closed)
    /// as `write(directory:to:overlayWhiteouts:)` does, streaming: no file is held in memory.
    ///
    /// - Throws: as `write(directory:to:overlayWhiteouts:)`; a closed pipe is an
    ///   `ArchiveError` naming `EPIPE`.
    public static func write(
        directory: String, toDescriptor descriptor: Int32, overlayWhiteouts: Bool = false
    ) throws {
        try write(
            directory: directory, target: .descriptor(descriptor),
            overlayWhiteouts: overlayWhiteouts)
    }

    /// Writes one file, directory (with everything below it) or symbolic link (not followed)
    /// to `descriptor` as an uncompressed tar stream, as `docker cp` archives a resource: the
    /// entry for `path` is named `name` and those below it `name/…`. An empty `name` leaves
    /// out the entry for `path` itself and names the others `/…`, as dockerd does for a
    /// container's `/`. A `path` ending in `/.` is the directory itself. Blocks until written;
    /// `descriptor` stays open.
    ///
    /// - Throws: as `write(directory:to:overlayWhiteouts:)`.
    public static func write(path: String, as name: String, toDescriptor descriptor: Int32)
        throws
    {
        let (parent, base) = splitResource(path)
        try write(
            directory: parent, target: .descriptor(descriptor), overlayWhiteouts: false,
            resource: (base, name))
    }

    /// Writes the `write(path:as:toDescriptor:)` archive to a new file at `file`.
    ///
    /// - Throws: as `write(directory:to:overlayWhiteouts:)`.
    public static func write(path: String, as name: String, to file: String) throws {
        let (parent, base) = splitResource(path)
        try write(
            directory: parent, target: .path(file), overlayWhiteouts: false,
            resource: (base, name))
    }

    /// Splits `path` into its directory and last component, ignoring trailing slashes.
    private static func splitResource(_ path: String) -> (parent: String, base: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let text = String(trimmed)
        return (FileSystem.parent(of: text), FileSystem.basename(of: text))
    }

    enum Target {
        case path(String)
        case descriptor(Int32)

        var name: String {
            switch self {
            case .path(let path): path
            case .descriptor(let fd): "descriptor \(fd)"
            }
        }

        /// Opens `archive` on the target, with Go's padding (no 10 KiB final block).
        func open(_ archive: OpaquePointer) throws {
            _ = libarchive.archive_write_set_bytes_in_last_block(archive, 1)
            let status: Int32
            switch self {
            case .path(let path): status = libarchive.archive_write_open_filename(archive, path)
            case .descriptor(let fd): status = libarchive.archive_write_open_fd(archive, fd)
            }
            guard status == ARCHIVE_OK else {
                throw TarArchive.writeError(archive, "archive_write_open \(name)")
            }
        }
    }

    private static func write(
        directory: String, target: Target, overlayWhiteouts: Bool,
        resource: (base: String, name: String)? = nil
    ) throws {
        try requireLibarchive()
        guard let archive = libarchive.archive_write_new(),
            let disk = libarchive.archive_read_disk_new(),
            let resolver = libarchive.archive_entry_linkresolver_new()
        else {
            throw ArchiveError(.internalError, "libarchive: out of memory")
        }
        defer {
            libarchive.archive_entry_linkresolver_free(resolver)
            _ = libarchive.archive_read_free(disk)
            _ = libarchive.archive_write_free(archive)
        }
        _ = libarchive.archive_write_set_format_pax_restricted(archive)
        libarchive.archive_entry_linkresolver_set_strategy(
            resolver, libarchive.archive_format(archive))
        try target.open(archive)
        let writer = TreeWriter(
            archive: archive, disk: disk, resolver: resolver, root: directory,
            overlayWhiteouts: overlayWhiteouts, resource: resource)
        if let resource {
            try writer.writeEntry(resource.base, name: resource.base)
        } else {
            try writer.writeChildren(of: "")
        }
        guard libarchive.archive_write_close(archive) == ARCHIVE_OK else {
            throw writeError(archive, "archive_write_close \(target.name)")
        }
    }

    /// Whether `path` carries the overlay opaque-directory mark
    /// (`trusted.overlay.opaque=y`).
    public static func isOpaqueDirectory(_ path: String) -> Bool {
        var value: UInt8 = 0
        let count = lgetxattr(path, "trusted.overlay.opaque", &value, 1)
        return count == 1 && value == UInt8(ascii: "y")
    }

    static func writeError(_ archive: OpaquePointer, _ what: String) -> ArchiveError {
        ArchiveError(.internalError, "\(what): \(DecompressedStream.errorString(archive))")
    }
}

/// The recursive walk behind `TarArchive.write`.
private struct TreeWriter {
    let archive: OpaquePointer
    let disk: OpaquePointer
    let resolver: OpaquePointer
    let root: String
    let overlayWhiteouts: Bool
    /// The one resource being written, and the name its entry gets in the archive.
    let resource: (base: String, name: String)?

    /// Names `relative` in the archive: as it is, or renamed below the resource.
    private func archiveName(_ relative: String) -> String {
        guard let resource else { return relative }
        return resource.name + relative.dropFirst(resource.base.count)
    }

    func writeChildren(of relative: String) throws {
        let directory = relative.isEmpty ? root : root + "/" + relative
        for name in try FileSystem.list(directory) {
            let child = relative.isEmpty ? name : relative + "/" + name
            try writeEntry(child, name: name)
        }
    }

    func writeEntry(_ relative: String, name: String) throws {
        let full = root + "/" + relative
        var info = stat()
        if lstat(full, &info) != 0 {
            throw SystemCallError(call: "lstat", subject: full, errno: Glibc.errno)
        }
        let type = info.st_mode & S_IFMT
        if overlayWhiteouts && type == S_IFCHR && info.st_rdev == 0 {
            let parent = FileSystem.parent(of: relative)
            let prefix = parent == "." ? "" : parent + "/"
            try writeEmptyFile(prefix + ".wh." + name, like: info)
            return
        }

        guard var entry = libarchive.archive_entry_new() else {
            throw ArchiveError(.internalError, "archive_entry_new: out of memory")
        }
        defer { libarchive.archive_entry_free(entry) }
        libarchive.archive_entry_copy_sourcepath(entry, full)
        if libarchive.archive_read_disk_entry_from_file(disk, entry, -1, &info) < ARCHIVE_WARN {
            throw TarArchive.writeError(disk, "archive_read_disk_entry_from_file \(full)")
        }
        let archived = archiveName(relative)
        if archived.isEmpty {
            try writeChildren(of: relative)
            return
        }
        libarchive.archive_entry_copy_pathname(entry, archived)
        let opaque = overlayWhiteouts && type == S_IFDIR && TarArchive.isOpaqueDirectory(full)
        if overlayWhiteouts { dropOverlayAttributes(entry) }

        var spare: OpaquePointer?
        var linked: OpaquePointer? = entry
        libarchive.archive_entry_linkify(resolver, &linked, &spare)
        if let linked { entry = linked }
        if libarchive.archive_write_header(archive, entry) < ARCHIVE_WARN {
            throw TarArchive.writeError(archive, "archive_write_header \(relative)")
        }
        if type == S_IFREG && libarchive.archive_entry_size(entry) > 0 {
            try copyContents(of: full)
        }
        if type == S_IFDIR {
            if opaque { try writeEmptyFile(relative + "/.wh..wh..opq", like: info) }
            try writeChildren(of: relative)
        }
    }

    private func writeEmptyFile(_ relative: String, like info: stat) throws {
        guard let entry = libarchive.archive_entry_new() else {
            throw ArchiveError(.internalError, "archive_entry_new: out of memory")
        }
        defer { libarchive.archive_entry_free(entry) }
        libarchive.archive_entry_copy_pathname(entry, relative)
        libarchive.archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
        libarchive.archive_entry_set_perm(entry, 0o600)
        libarchive.archive_entry_set_size(entry, 0)
        libarchive.archive_entry_set_uid(entry, la_int64_t(info.st_uid))
        libarchive.archive_entry_set_gid(entry, la_int64_t(info.st_gid))
        libarchive.archive_entry_set_mtime(entry, info.st_mtim.tv_sec, info.st_mtim.tv_nsec)
        if libarchive.archive_write_header(archive, entry) < ARCHIVE_WARN {
            throw TarArchive.writeError(archive, "archive_write_header \(relative)")
        }
    }

    private func dropOverlayAttributes(_ entry: OpaquePointer) {
        guard libarchive.archive_entry_xattr_reset(entry) > 0 else { return }
        var kept: [(String, [UInt8])] = []
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while libarchive.archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let key = String(cString: name)
            if key.hasPrefix("trusted.overlay.") { continue }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            kept.append((key, bytes ?? []))
        }
        libarchive.archive_entry_xattr_clear(entry)
        for (key, bytes) in kept {
            bytes.withUnsafeBytes { raw in
                libarchive.archive_entry_xattr_add_entry(entry, key, raw.baseAddress, raw.count)
            }
        }
    }

    private func copyContents(of path: String) throws {
        let fd = try retryingInterrupts("open", path) {
            open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", path) { read(fd, raw.baseAddress, raw.count) }
            }
            if count == 0 { return }
            let written = buffer.withUnsafeBytes { raw in
                libarchive.archive_write_data(archive, raw.baseAddress, count)
            }
            if written < 0 {
                throw TarArchive.writeError(archive, "archive_write_data \(path)")
            }
        }
    }
}
