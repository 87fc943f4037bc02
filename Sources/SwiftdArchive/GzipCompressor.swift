import CArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// gzip compression of whole files through libarchive's gzip filter (zlib).
public enum GzipCompressor {
    /// Compresses the file at `source` into a new gzip file at `destination`, as one gzip
    /// member without a file name or time stamp and without block padding, so that the same
    /// input and zlib version give the same bytes. Blocks while it reads and writes.
    ///
    /// - Throws: `SystemCallError` when `source` cannot be read; `ArchiveError(.internalError)`
    ///   when libarchive fails to write `destination`.
    public static func compress(file source: String, to destination: String) throws {
        let input = try retryingInterrupts("open", source) { open(source, O_RDONLY | O_CLOEXEC) }
        defer { close(input) }
        try requireLibarchive()
        guard let archive = libarchive.archive_write_new() else {
            throw ArchiveError(.internalError, "archive_write_new failed")
        }
        defer { _ = libarchive.archive_write_free(archive) }
        guard libarchive.archive_write_add_filter_gzip(archive) == ARCHIVE_OK,
            libarchive.archive_write_set_format_raw(archive) == ARCHIVE_OK,
            libarchive.archive_write_set_options(archive, "gzip:!timestamp") == ARCHIVE_OK,
            libarchive.archive_write_set_bytes_per_block(archive, 0) == ARCHIVE_OK,
            libarchive.archive_write_open_filename(archive, destination) == ARCHIVE_OK
        else {
            throw TarArchive.writeError(archive, "gzip \(destination)")
        }
        guard let entry = libarchive.archive_entry_new() else {
            throw ArchiveError(.internalError, "archive_entry_new failed")
        }
        defer { libarchive.archive_entry_free(entry) }
        // The raw format writes one regular-file entry's data and no header of its own.
        libarchive.archive_entry_set_filetype(entry, 0o100000)
        libarchive.archive_entry_set_pathname(entry, "layer")
        guard libarchive.archive_write_header(archive, entry) == ARCHIVE_OK else {
            throw TarArchive.writeError(archive, "gzip \(destination)")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", source) { read(input, raw.baseAddress, raw.count) }
            }
            if count == 0 { break }
            let written = buffer.withUnsafeBytes {
                libarchive.archive_write_data(archive, $0.baseAddress, count)
            }
            guard written == count else {
                throw TarArchive.writeError(archive, "gzip \(destination)")
            }
        }
        guard libarchive.archive_write_close(archive) == ARCHIVE_OK else {
            throw TarArchive.writeError(archive, "gzip \(destination)")
        }
    }
}
