import Foundation
import SwiftdArchive
import SwiftdCrypto
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The digest and size of each layer's gzip form, by diff ID, in
/// `<root>/image/compressed/<hex of the diff ID>.json`. A push looks a layer up here to ask
/// registries for the compressed blob without compressing it again. The compressed bytes are
/// not kept, so they are made again when a registry lacks the blob.
struct CompressedLayerCache: Sendable {
    /// One layer's gzip form.
    struct Entry: Codable, Equatable {
        var digest: String
        var size: Int64
    }

    let directory: String

    init(root: String) {
        directory = root + "/image/compressed"
    }

    /// Returns the cached gzip form of the layer `diffID`, or nil when there is none or it is
    /// unreadable.
    func entry(for diffID: String) -> Entry? {
        guard let bytes = try? FileSystem.read(path(diffID)) else { return nil }
        return try? JSONDecoder().decode(Entry.self, from: Data(bytes))
    }

    /// Compresses the layer tar at `tarPath` into a new temporary file under the store's
    /// `image/` directory (whose `tmp-` leftovers the store removes at start-up), records its
    /// digest and size for `diffID`, and returns the file's path and entry. The caller
    /// removes the file. Blocks.
    ///
    /// - Throws: `SystemCallError` or `ArchiveError` when reading, compressing or recording
    ///   fails.
    func compress(_ diffID: String, tarPath: String, root: String) throws -> (String, Entry) {
        let file = root + "/image/tmp-push-" + SHA256.hash(UUID().uuidString).prefix(16) + ".gz"
        do {
            try GzipCompressor.compress(file: tarPath, to: file)
            let entry = Entry(digest: try Self.digest(ofFile: file), size: try fileSize(file))
            try FileSystem.createDirectory(directory, mode: 0o700)
            try FileSystem.writeAtomically(
                path(diffID), Array(try JSONEncoder().encode(entry)))
            return (file, entry)
        } catch {
            try? FileSystem.remove(file)
            throw error
        }
    }

    private func path(_ diffID: String) -> String {
        directory + "/" + diffID.dropFirst("sha256:".count) + ".json"
    }

    /// `sha256:` of the file at `path`, read in 64 KiB pieces.
    static func digest(ofFile path: String) throws -> String {
        let fd = try retryingInterrupts("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        let hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try retryingInterrupts("read", path) { read(fd, raw.baseAddress, raw.count) }
            }
            if count == 0 { break }
            hasher.update(buffer[0..<count])
        }
        return "sha256:" + hasher.finalize()
    }
}
