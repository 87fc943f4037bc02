import CArchive
import SwiftdCrypto

/// The uncompressed bytes of an archive file, read through libarchive's filters with its raw
/// format, hashed and counted as they pass to the tar reader.
///
/// The tar reader pulls from it through `archive_read_open` callbacks, so the file is read and
/// decompressed once, and the hash covers exactly the bytes that the tar reader sees plus any
/// trailing padding that `drain()` reads after the end-of-archive marker.
final class DecompressedStream {
    private let archive: OpaquePointer
    private let buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 16
    private let hasher = SHA256()
    /// The number of uncompressed bytes read so far.
    private(set) var size: Int64 = 0
    /// The libarchive message of a read error, kept because the tar reader only sees -1.
    private(set) var failure: String?

    /// Opens `path` and detects its compression (gzip, bzip2, xz, lzma, zstd or none).
    ///
    /// - Throws: `ArchiveError` when the file cannot be opened or is empty.
    init(path: String) throws {
        guard let archive = archive_read_new() else {
            throw ArchiveError(.internalError, "archive_read_new: out of memory")
        }
        // Only the built-in decompressors: filter_all would also run external programs
        // (lrzip, lzop, grzip) from this multithreaded process.
        archive_read_support_filter_gzip(archive)
        archive_read_support_filter_bzip2(archive)
        archive_read_support_filter_xz(archive)
        archive_read_support_filter_lzma(archive)
        archive_read_support_filter_zstd(archive)
        archive_read_support_format_raw(archive)
        if archive_read_open_filename(archive, path, 1 << 16) != ARCHIVE_OK {
            let reason = Self.errorString(archive)
            archive_read_free(archive)
            throw ArchiveError(.invalidArgument, "archive_read_open_filename \(path): \(reason)")
        }
        var entry: OpaquePointer?
        if archive_read_next_header(archive, &entry) != ARCHIVE_OK {
            let reason = Self.errorString(archive)
            archive_read_free(archive)
            throw ArchiveError(.invalidArgument, "\(path): \(reason)")
        }
        self.archive = archive
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        archive_read_free(archive)
        buffer.deallocate()
    }

    /// Reads the next block into the internal buffer; returns its length, 0 at the end, or -1
    /// on an error (recorded in `failure`). The block stays valid until the next call.
    func next(_ block: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int {
        let count = archive_read_data(archive, buffer, capacity)
        if count < 0 {
            failure = Self.errorString(archive)
            return -1
        }
        if count > 0 {
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: count))
            size += Int64(count)
        }
        block?.pointee = UnsafeRawPointer(buffer)
        return count
    }

    /// Reads and hashes whatever follows the tar reader's last read (end-of-archive padding).
    func drain() throws {
        while true {
            let count = next(nil)
            if count == 0 { return }
            if count < 0 {
                throw ArchiveError(.invalidArgument, failure ?? "read error")
            }
        }
    }

    /// The sha256 of every byte read, as `sha256:<hex>`. Call once, after `drain()`.
    func digest() -> String { "sha256:" + hasher.finalize() }

    static func errorString(_ archive: OpaquePointer) -> String {
        guard let text = archive_error_string(archive) else { return "unknown libarchive error" }
        return String(cString: text)
    }
}
