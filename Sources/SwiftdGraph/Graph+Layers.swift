import Foundation
import SwiftdArchive
import SwiftdCrypto
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Graph {
    /// Extracts the tar at `path` (plain or compressed) as a new layer and returns its diff ID
    /// (sha256 of the uncompressed tar) and the uncompressed size. A layer with the same diff
    /// ID is stored once: the second import returns the first one's record.
    ///
    /// The archive goes into a temporary directory under overlay2/ that is renamed into place
    /// only when every entry passed, so a failure leaves the store as it was. Blocks for the
    /// whole extraction.
    ///
    /// - Throws: `ArchiveError` (`invalidArgument`) naming the entry and the reason for a
    ///   hostile, corrupt or truncated archive; `SystemCallError` for host failures.
    public func importLayer(fromFile path: String) throws -> (diffID: String, size: Int64) {
        let cacheID = randomHex(32)
        let temporary = overlayRoot + "/tmp-" + cacheID
        try FileSystem.createDirectory(temporary + "/diff", mode: 0o755)
        let result: ExtractResult
        do {
            result = try TarArchive.extract(file: path, into: temporary + "/diff")
        } catch {
            try? FileSystem.removeTree(temporary)
            throw error
        }

        return try state.withLock { state in
            if let existing = state.layers[result.digest] {
                try FileSystem.removeTree(temporary)
                return (existing.diffID, existing.size)
            }
            let record = LayerRecord(
                diffID: result.digest, size: result.size, cacheID: cacheID, link: randomLinkName())
            do {
                try FileSystem.writeAtomically(temporary + "/link", Array(record.link.utf8))
                try rename(temporary, to: overlayRoot + "/" + cacheID)
            } catch {
                try? FileSystem.removeTree(temporary)
                throw error
            }
            // The link, then the record: a crash before the record leaves an orphan that
            // `init` removes.
            let link = overlayRoot + "/l/" + record.link
            if symlink("../" + cacheID + "/diff", link) != 0 {
                let code = errno
                try? FileSystem.removeTree(overlayRoot + "/" + cacheID)
                throw SystemCallError(call: "symlink", subject: link, errno: code)
            }
            do {
                try FileSystem.writeAtomically(layerPath(record.diffID), try encode(record))
            } catch {
                try? FileSystem.remove(link)
                try? FileSystem.removeTree(overlayRoot + "/" + cacheID)
                throw error
            }
            state.layers[record.diffID] = record
            return (record.diffID, record.size)
        }
    }

    /// The diff IDs of every stored layer.
    public func layers() -> [String] {
        state.withLock { Array($0.layers.keys).sorted() }
    }

    /// The directory holding the files of the layer `diffID` (for export and diff).
    ///
    /// - Throws: `SwiftdError(.notFound)` when no such layer is stored.
    public func layerDirectory(_ diffID: String) throws -> String {
        guard let record = state.withLock({ $0.layers[diffID] }) else {
            throw SwiftdError(.notFound, "No such layer: \(diffID)")
        }
        return overlayRoot + "/" + record.cacheID + "/diff"
    }

    /// Removes a layer's record, link and directory, in the order that leaves only orphans
    /// for `init` to remove if it stops half-way. Call with the state locked.
    func removeLayer(_ record: LayerRecord, state: inout GraphState) throws {
        try FileSystem.remove(layerPath(record.diffID))
        state.layers[record.diffID] = nil
        try FileSystem.remove(overlayRoot + "/l/" + record.link)
        let doomed = overlayRoot + "/tmp-" + record.cacheID
        try rename(overlayRoot + "/" + record.cacheID, to: doomed)
        try FileSystem.removeTree(doomed)
    }

    func rename(_ source: String, to target: String) throws {
        if Glibc.rename(source, target) != 0 {
            throw SystemCallError(call: "rename", subject: "\(source) to \(target)", errno: errno)
        }
    }

    func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}

/// `count` random bytes as hex.
func randomHex(_ count: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return hexString((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
}

/// A 26-character name of `A`–`Z` and `2`–`7`: base32 of 16 random bytes, as Docker's
/// overlay2 `l/` names are, short enough that 40+ layers fit in one page of mount data.
func randomLinkName() -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    var generator = SystemRandomNumberGenerator()
    return String((0..<26).map { _ in alphabet[Int.random(in: 0..<32, using: &generator)] })
}
