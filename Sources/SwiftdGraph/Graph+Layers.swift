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
    /// only when every entry passed, so a failure leaves the store as it was. The uncompressed
    /// tar is kept beside the layer's files (`overlay2/<cache>/layer.tar`) so that `save`
    /// writes back the exact bytes of the diff ID. Blocks for the whole extraction.
    ///
    /// - Throws: `ArchiveError` (`invalidArgument`) naming the entry and the reason for a
    ///   hostile, corrupt or truncated archive; `SystemCallError` for host failures.
    public func importLayer(fromFile path: String) throws -> (diffID: String, size: Int64) {
        let staged = try stageLayer(fromFile: path)
        let record = try state.withLock { state in try register(staged, &state).record }
        return (record.diffID, record.size)
    }

    /// Extracts a layer into `overlay2/tmp-<cache>/` without registering it, keeping a copy
    /// of the uncompressed tar. The caller registers it with `register(_:_:)` or removes it
    /// with `discard(_:)`.
    func stageLayer(fromFile path: String) throws -> StagedLayer {
        let cacheID = randomHex(32)
        let temporary = overlayRoot + "/tmp-" + cacheID
        try FileSystem.createDirectory(temporary + "/diff", mode: 0o755)
        do {
            // TODO: keeping the uncompressed tar beside the extracted files doubles the disk
            // use of every layer. A tar-split record (headers and padding only, with file
            // bodies read back from diff/) would make save byte-exact for a few KiB a layer.
            let tarPath = temporary + "/layer.tar"
            let copy = try retryingInterrupts("open", tarPath) {
                open(tarPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            }
            defer { close(copy) }
            let result = try TarArchive.extract(
                file: path, into: temporary + "/diff", options: ExtractOptions(copy: copy))
            return StagedLayer(
                cacheID: cacheID, directory: temporary, diffID: result.digest, size: result.size)
        } catch {
            try? FileSystem.removeTree(temporary)
            throw error
        }
    }

    /// Removes a staged layer that will not be registered.
    func discard(_ staged: StagedLayer) {
        try? FileSystem.removeTree(staged.directory)
    }

    /// Moves a staged layer into place and records it; when the diff ID is already stored,
    /// drops the staged copy and returns the stored record. Call with the state locked.
    func register(_ staged: StagedLayer, _ state: inout GraphState) throws -> (
        record: LayerRecord, added: Bool
    ) {
        let temporary = staged.directory
        let cacheID = staged.cacheID
        if let existing = state.layers[staged.diffID] {
            try FileSystem.removeTree(temporary)
            return (existing, false)
        }
        let record = LayerRecord(
            diffID: staged.diffID, size: staged.size, cacheID: cacheID, link: randomLinkName())
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
        return (record, true)
    }

    /// Returns the stored uncompressed tar of the layer `diffID`, whose sha256 is `diffID`.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown layer; `.unsupported` for a layer
    ///   imported before swiftd kept layer tars.
    func layerTarPath(_ diffID: String, _ state: GraphState) throws -> String {
        guard let record = state.layers[diffID] else {
            throw SwiftdError(.notFound, "No such layer: \(diffID)")
        }
        let path = overlayRoot + "/" + record.cacheID + "/layer.tar"
        guard FileSystem.exists(path) else {
            throw SwiftdError(
                .unsupported,
                "layer \(diffID) has no stored tar (imported by an older swiftd); "
                    + "remove and import its image again")
        }
        return path
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

/// A layer extracted under `overlay2/tmp-<cacheID>/` and not yet in the index.
struct StagedLayer: Sendable {
    var cacheID: String
    /// `overlay2/tmp-<cacheID>`, holding `diff/` and `layer.tar`.
    var directory: String
    var diffID: String
    var size: Int64
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
