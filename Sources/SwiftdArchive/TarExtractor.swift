import CArchive
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Options for extracting an archive.
public struct ExtractOptions: Sendable {
    /// Extract as an image layer: refuse device nodes and turn `.wh.NAME` entries into overlay
    /// whiteouts (a 0/0 character device) and `.wh..wh..opq` into the `trusted.overlay.opaque`
    /// attribute of its directory. Otherwise whiteout names are ordinary files.
    public var layer: Bool
    /// Whether device nodes may be created. Always false in layer mode; an outer archive
    /// (`docker load`) has no business holding devices either.
    public var devices: Bool
    /// A file descriptor that receives a copy of the whole uncompressed tar stream (the bytes
    /// the digest covers), so that the exact layer tar can be written out again. Not closed.
    public var copy: Int32?
    /// A directory containing the target that acts as a chroot for the extraction. Symbolic
    /// links already on disk resolve from it (an absolute target starts at it, and `..` stops
    /// at it) instead of being rejected when they lead above the target. Copies into a
    /// container use it, because absolute links there mean paths in its rootfs.
    public var confinedTo: String?
    /// Reject an entry that would replace a directory with a non-directory or the reverse.
    public var noOverwriteDirNonDir = false
    /// Restore the archive's numeric owners. When false, files belong to the extracting user.
    public var keepOwners = true
    /// An owner for every extracted file in place of the archive's (needs `keepOwners`).
    public var owner: (uid: UInt32, gid: UInt32)?
    /// A leading entry-name component to rename: `from` (a name, or `.` or `/` for every
    /// entry) becomes the components of `to`, as `docker cp` renames a copied resource.
    public var rename: (from: String, to: String)?
    /// Extract absolute entry names below the target, as GNU tar does, instead of rejecting
    /// them. Image layers never need this; `docker cp` of a container's `/` sends `/bin` and
    /// so on.
    public var stripsLeadingSlash = false

    public init(layer: Bool = true, devices: Bool = false, copy: Int32? = nil) {
        self.layer = layer
        self.devices = devices && !layer
        self.copy = copy
    }
}

/// The result of an extraction: what the archive contained.
public struct ExtractResult: Sendable, Equatable {
    /// `sha256:<hex>` of the uncompressed tar stream: the layer's diff ID.
    public var digest: String
    /// The length of the uncompressed tar stream in bytes.
    public var size: Int64
    /// The number of entries in the archive.
    public var entries: Int
}

/// The destination of entries: the root that paths resolve in, and the components of the
/// target directory below it (none unless `ExtractOptions.confinedTo` names an ancestor).
struct ExtractTarget {
    let root: String
    let base: [String]
    let confined: Bool

    init(directory: String, options: ExtractOptions) throws {
        let canonical = try EntryPath.canonical(directory)
        guard let confinement = options.confinedTo else {
            (root, base, confined) = (canonical, [], false)
            return
        }
        let chroot = try EntryPath.canonical(confinement)
        let prefix = chroot == "/" ? "/" : chroot + "/"
        guard canonical == chroot || canonical.hasPrefix(prefix) else {
            throw ArchiveError(
                .invalidArgument, "\(directory) is not inside \(confinement)")
        }
        let below = canonical == chroot ? "" : String(canonical.dropFirst(prefix.count))
        root = chroot
        base = below.split(separator: "/").map(String.init)
        confined = true
    }
}

/// Reading and writing tar archives with libarchive.
public enum TarArchive {
    /// Extracts the tar archive at `file` (plain, gzip, bzip2, xz, lzma or zstd, detected from
    /// its content) into the existing directory `directory`, and hashes the uncompressed stream.
    ///
    /// Ownership, modes, times and extended attributes are restored (numeric IDs, never names;
    /// `trusted.overlay.*` attributes from the archive are dropped). Every entry is checked
    /// first: absolute names, `..` components, paths through a symbolic link that leads out of
    /// `directory`, hard links to anything outside it, and in layer mode device nodes and
    /// malformed whiteouts are refused. A refused entry stops the extraction; the caller
    /// removes the partly filled directory. Blocks for the whole extraction.
    ///
    /// - Throws: `ArchiveError` (`invalidArgument`) naming the entry and the reason, or the
    ///   libarchive message for a corrupt or truncated archive; `SystemCallError` for host
    ///   failures.
    public static func extract(
        file: String, into directory: String, options: ExtractOptions = ExtractOptions()
    ) throws -> ExtractResult {
        let target = try ExtractTarget(directory: directory, options: options)
        let stream = try DecompressedStream(path: file, copy: options.copy)
        return try extract(stream, into: target, options: options)
    }

    /// Extracts the archive read from `descriptor` (a file, pipe or socket, read to the end
    /// of the archive and not closed) as `extract(file:into:options:)` does.
    ///
    /// - Throws: as `extract(file:into:options:)`.
    public static func extract(
        descriptor: Int32, into directory: String, options: ExtractOptions = ExtractOptions()
    ) throws -> ExtractResult {
        let target = try ExtractTarget(directory: directory, options: options)
        let stream = try DecompressedStream(descriptor: descriptor, copy: options.copy)
        return try extract(stream, into: target, options: options)
    }

    /// Reads the archive at `path` (plain or compressed) to its end without writing anything.
    /// A caller that cannot undo an extraction calls it first, to reject a truncated or corrupt
    /// archive before the first entry is written.
    ///
    /// - Throws: `ArchiveError` (`invalidArgument`) naming the entry being read and libarchive's
    ///   or the decompressor's message.
    public static func check(file path: String) throws {
        let stream = try DecompressedStream(path: path)
        let reader = try openReader(stream)
        defer { _ = libarchive.archive_read_free(reader) }
        try withExtendedLifetime(stream) {
            while true {
                var entry: OpaquePointer?
                let status = libarchive.archive_read_next_header(reader, &entry)
                if status == ARCHIVE_EOF { break }
                guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                    throw readError(reader, stream, entry: nil)
                }
                // Without a seek callback, skipping reads the data, so a truncated body fails here.
                if libarchive.archive_read_data_skip(reader) < ARCHIVE_WARN {
                    let name = libarchive.archive_entry_pathname(entry).map { String(cString: $0) }
                    throw readError(reader, stream, entry: name)
                }
            }
            try stream.drain()
        }
    }

    private static func extract(
        _ stream: DecompressedStream, into target: ExtractTarget, options: ExtractOptions
    ) throws -> ExtractResult {
        let reader = try openReader(stream)
        defer { _ = libarchive.archive_read_free(reader) }

        try requireLibarchive()
        guard let writer = libarchive.archive_write_disk_new() else {
            throw ArchiveError(.internalError, "archive_write_disk_new: out of memory")
        }
        defer { _ = libarchive.archive_write_free(writer) }
        var flags = extractFlags
        if !options.keepOwners { flags &= ~ARCHIVE_EXTRACT_OWNER }
        _ = libarchive.archive_write_disk_set_options(writer, flags)

        var count = 0
        try withExtendedLifetime(stream) {
            while true {
                var entry: OpaquePointer?
                let status = libarchive.archive_read_next_header(reader, &entry)
                if status == ARCHIVE_EOF { break }
                guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                    throw readError(reader, stream, entry: nil)
                }
                count += 1
                let extractor = EntryExtractor(
                    target: target, entry: entry, reader: reader, writer: writer,
                    stream: stream, options: options)
                try extractor.run()
            }
            try stream.drain()
        }
        if libarchive.archive_write_close(writer) < ARCHIVE_WARN {
            throw ArchiveError(
                .internalError,
                "archive_write_close: \(DecompressedStream.errorString(writer))")
        }
        return ExtractResult(digest: stream.digest(), size: stream.size, entries: count)
    }

    /// Returns a libarchive tar reader that reads `stream`, which the caller keeps alive while
    /// it reads and frees with `archive_read_free`.
    private static func openReader(_ stream: DecompressedStream) throws -> OpaquePointer {
        try requireLibarchive()
        guard let reader = libarchive.archive_read_new() else {
            throw ArchiveError(.internalError, "archive_read_new: out of memory")
        }
        _ = libarchive.archive_read_support_format_tar(reader)
        let context = Unmanaged.passUnretained(stream).toOpaque()
        let opened = libarchive.archive_read_open(reader, context, nil, { _, context, block in
            guard let context else { return -1 }
            return Unmanaged<DecompressedStream>.fromOpaque(context).takeUnretainedValue().next(block)
        }, nil)
        guard opened == ARCHIVE_OK else {
            let error = readError(reader, stream, entry: nil)
            _ = libarchive.archive_read_free(reader)
            throw error
        }
        return reader
    }

    /// ARCHIVE_EXTRACT_OWNER | PERM | TIME | XATTR | SECURE_SYMLINKS | SECURE_NODOTDOT.
    /// Our own checks come first; libarchive's symlink guard backs them up (it refuses any
    /// symbolic link in a parent path, which `EntryPath.resolve` has already removed).
    static let extractFlags: Int32 =
        ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME
        | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS
        | ARCHIVE_EXTRACT_SECURE_NODOTDOT

    /// The error for a failed read: the decompressor's message if it failed underneath.
    static func readError(_ reader: OpaquePointer, _ stream: DecompressedStream, entry: String?)
        -> ArchiveError
    {
        let reason = stream.failure ?? DecompressedStream.errorString(reader)
        return ArchiveError(.invalidArgument, entry: entry, reason)
    }
}
