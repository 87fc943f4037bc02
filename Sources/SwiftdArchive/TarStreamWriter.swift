import CArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a tar archive (POSIX pax, Go's padding) entry by entry to a file or descriptor,
/// streaming each file's contents from disk, for archives that are put together from stored
/// pieces (`docker save`) rather than from one directory tree.
///
/// Entries get mode 0644 (directories 0755), owner 0/0 and a fixed time, so that the same
/// content gives the same archive. Not thread-safe; call `finish()` once at the end.
public final class TarStreamWriter {
    private let archive: OpaquePointer
    private let target: TarArchive.Target
    private var finished = false

    /// Creates (or truncates) the file at `path` and writes the archive into it.
    ///
    /// - Throws: `ArchiveError` when the file cannot be opened.
    public convenience init(path: String) throws {
        try self.init(target: .path(path))
    }

    /// Writes the archive to `descriptor` (a file, pipe or socket), which stays open.
    ///
    /// - Throws: `ArchiveError` on a libarchive failure.
    public convenience init(descriptor: Int32) throws {
        try self.init(target: .descriptor(descriptor))
    }

    private init(target: TarArchive.Target) throws {
        try requireLibarchive()
        guard let archive = libarchive.archive_write_new() else {
            throw ArchiveError(.internalError, "archive_write_new: out of memory")
        }
        _ = libarchive.archive_write_set_format_pax_restricted(archive)
        do {
            try target.open(archive)
        } catch {
            _ = libarchive.archive_write_free(archive)
            throw error
        }
        self.archive = archive
        self.target = target
    }

    deinit {
        _ = libarchive.archive_write_free(archive)
    }

    /// Adds a directory entry `name` (such as `blobs/sha256`).
    ///
    /// - Throws: `ArchiveError` when the header cannot be written.
    public func addDirectory(_ name: String) throws {
        try header(name, type: 0o040000, mode: 0o755, size: 0)
    }

    /// Adds a file `name` holding `bytes`.
    ///
    /// - Throws: `ArchiveError` when the entry cannot be written.
    public func addFile(_ name: String, bytes: [UInt8]) throws {
        try header(name, type: 0o100000, mode: 0o644, size: Int64(bytes.count))
        guard !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBytes { raw in
            libarchive.archive_write_data(archive, raw.baseAddress, raw.count)
        }
        if written != bytes.count {
            throw TarArchive.writeError(archive, "archive_write_data \(name)")
        }
    }

    /// Adds a file `name` with the contents of the file at `source`, copied 64 KiB at a time.
    ///
    /// - Throws: `SystemCallError` when `source` cannot be read; `ArchiveError` when the
    ///   archive cannot be written or `source` changed length while being copied.
    public func addFile(_ name: String, contentsOf source: String) throws {
        let fd = try retryingInterrupts("open", source) {
            open(source, O_RDONLY | O_CLOEXEC)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw SystemCallError(call: "fstat", subject: source, errno: Glibc.errno)
        }
        try header(name, type: 0o100000, mode: 0o644, size: Int64(info.st_size))
        var remaining = Int64(info.st_size)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while remaining > 0 {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", source) {
                    read(fd, raw.baseAddress, min(raw.count, Int(remaining)))
                }
            }
            if count == 0 {
                throw ArchiveError(.internalError, entry: name, "\(source) shrank while copied")
            }
            let written = buffer.withUnsafeBytes { raw in
                libarchive.archive_write_data(archive, raw.baseAddress, count)
            }
            if written != count {
                throw TarArchive.writeError(archive, "archive_write_data \(name)")
            }
            remaining -= Int64(count)
        }
    }

    /// Writes the end-of-archive blocks and flushes. A path target is closed; a descriptor
    /// stays open.
    ///
    /// - Throws: `ArchiveError` when the final write fails.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        if libarchive.archive_write_close(archive) != ARCHIVE_OK {
            throw TarArchive.writeError(archive, "archive_write_close \(target.name)")
        }
    }

    private func header(_ name: String, type: UInt32, mode: UInt32, size: Int64) throws {
        guard let entry = libarchive.archive_entry_new() else {
            throw ArchiveError(.internalError, "archive_entry_new: out of memory")
        }
        defer { libarchive.archive_entry_free(entry) }
        libarchive.archive_entry_copy_pathname(entry, name)
        libarchive.archive_entry_set_filetype(entry, type)
        libarchive.archive_entry_set_perm(entry, mode_t(mode))
        libarchive.archive_entry_set_size(entry, la_int64_t(size))
        libarchive.archive_entry_set_uid(entry, 0)
        libarchive.archive_entry_set_gid(entry, 0)
        libarchive.archive_entry_set_mtime(entry, 0, 0)
        if libarchive.archive_write_header(archive, entry) < ARCHIVE_WARN {
            throw TarArchive.writeError(archive, "archive_write_header \(name)")
        }
    }
}
