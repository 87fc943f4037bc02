import CArchive
import SwiftdCrypto
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

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
    /// The descriptor that receives a copy of every uncompressed byte, if any (not owned).
    private let copy: Int32?

    /// Opens `path` and detects its compression (gzip, bzip2, xz, lzma, zstd or none).
    /// With `copy`, every uncompressed byte read is also written to that descriptor.
    ///
    /// - Throws: `ArchiveError` when the file cannot be opened or is empty.
    convenience init(path: String, copy: Int32? = nil) throws {
        try self.init(source: .path(path), copy: copy)
    }

    /// Reads from `descriptor` (not closed here) as `init(path:copy:)` reads a file.
    convenience init(descriptor: Int32, copy: Int32? = nil) throws {
        try self.init(source: .descriptor(descriptor), copy: copy)
    }

    private enum Source {
        case path(String)
        case descriptor(Int32)
    }

    private init(source: Source, copy: Int32?) throws {
        let path: String
        switch source {
        case .path(let name): path = name
        case .descriptor(let fd): path = "descriptor \(fd)"
        }
        try requireLibarchive()
        guard let archive = libarchive.archive_read_new() else {
            throw ArchiveError(.internalError, "archive_read_new: out of memory")
        }
        // Only the built-in decompressors: filter_all would also run external programs
        // (lrzip, lzop, grzip) from this multithreaded process.
        _ = libarchive.archive_read_support_filter_gzip(archive)
        _ = libarchive.archive_read_support_filter_bzip2(archive)
        _ = libarchive.archive_read_support_filter_xz(archive)
        _ = libarchive.archive_read_support_filter_lzma(archive)
        _ = libarchive.archive_read_support_filter_zstd(archive)
        _ = libarchive.archive_read_support_format_raw(archive)
        let opened: Int32
        switch source {
        case .path(let name): opened = libarchive.archive_read_open_filename(archive, name, 1 << 16)
        case .descriptor(let fd): opened = libarchive.archive_read_open_fd(archive, fd, 1 << 16)
        }
        if opened != ARCHIVE_OK {
            let reason = Self.errorString(archive)
            _ = libarchive.archive_read_free(archive)
            throw ArchiveError(.invalidArgument, "archive_read_open \(path): \(reason)")
        }
        var entry: OpaquePointer?
        if libarchive.archive_read_next_header(archive, &entry) != ARCHIVE_OK {
            let reason = Self.errorString(archive)
            _ = libarchive.archive_read_free(archive)
            throw ArchiveError(.invalidArgument, "\(path): \(reason)")
        }
        self.archive = archive
        self.copy = copy
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        _ = libarchive.archive_read_free(archive)
        buffer.deallocate()
    }

    /// Reads the next block into the internal buffer; returns its length, 0 at the end, or -1
    /// on an error (recorded in `failure`). The block stays valid until the next call.
    func next(_ block: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int {
        let count = libarchive.archive_read_data(archive, buffer, capacity)
        if count < 0 {
            failure = Self.errorString(archive)
            return -1
        }
        if count > 0 {
            let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
            hasher.update(bytes)
            size += Int64(count)
            if let copy, !Self.writeAll(copy, bytes) {
                let reason = String(cString: strerror(Glibc.errno))
                failure = "failed to write the uncompressed copy: \(reason)"
                return -1
            }
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

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return true }
            let written = Glibc.write(fd, base + offset, bytes.count - offset)
            if written < 0 {
                if Glibc.errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    static func errorString(_ archive: OpaquePointer) -> String {
        guard let text = libarchive.archive_error_string(archive) else {
            return "unknown libarchive error"
        }
        return String(cString: text)
    }
}
