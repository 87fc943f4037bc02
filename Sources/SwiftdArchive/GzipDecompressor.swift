/// Decompression of whole files through libarchive's filters.
public enum GzipDecompressor {
    /// Reads gzip data from `source` and writes the uncompressed bytes to `destination`. The
    /// other filters that `DecompressedStream` detects work too, and data without compression
    /// is copied as it is. Neither descriptor is closed. Blocks while it reads and writes.
    ///
    /// - Throws: `ArchiveError(.invalidArgument)` when `source` is empty, its data is corrupt
    ///   or cut short, or a write to `destination` fails.
    public static func decompress(descriptor source: Int32, to destination: Int32) throws {
        let stream = try DecompressedStream(descriptor: source, copy: destination)
        try stream.drain()
    }
}
