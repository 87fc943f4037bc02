import Foundation
import SwiftdSystem

extension Graph {
    /// Whether the layer `diffID` is stored.
    public func hasLayer(_ diffID: String) -> Bool {
        state.withLock { $0.layers[diffID] != nil }
    }

    /// The image ID that `reference` (its familiar string) is tagged to, if any.
    public func imageID(taggedAs reference: Reference) -> String? {
        state.withLock { $0.tags[reference.familiarString] }
    }

    /// Extracts a downloaded layer (plain or compressed tar at `path`) into a staging
    /// directory and returns it with its diff ID, without registering it. Blocks for the
    /// extraction. Pass the result to `registerPulled` or `discard(_:)`.
    ///
    /// - Throws: as `importLayer(fromFile:)`.
    public func stagePulledLayer(fromFile path: String) throws -> PendingLayer {
        PendingLayer(staged: try stageLayer(fromFile: path))
    }

    /// Removes a staged layer that will not be registered.
    public func discard(_ layer: PendingLayer) {
        discard(layer.staged)
    }

    /// Registers a pulled image: its staged layers (a diff ID already stored keeps the stored
    /// copy), its config (`configBytes`, whose sha256 is the image ID) and `references`
    /// (tags and `name@digest` references), all under the store's lock. Every layer the
    /// config names must be stored or staged; on any failure what was added is removed and
    /// the staged layers are discarded.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for a bad config or a missing layer;
    ///   `SystemCallError` for host failures.
    public func registerPulled(
        configBytes: [UInt8], layers: [PendingLayer], references: [Reference]
    ) throws -> Image {
        var pending = layers
        defer { for layer in pending { discard(layer.staged) } }
        let config = try decodeConfig(configBytes)
        return try state.withLock { state in
            var addedLayers: [LayerRecord] = []
            var addedImage: String?
            do {
                while let layer = pending.popLast() {
                    let (record, added) = try register(layer.staged, &state)
                    if added { addedLayers.append(record) }
                }
                let (id, added) = try storeConfig(configBytes, config, &state)
                if added { addedImage = id }
                var tags = state.tags
                for reference in references { tags[reference.familiarString] = id }
                if tags != state.tags {
                    try saveTags(tags)
                    state.tags = tags
                }
                return makeImage(id, state)
            } catch {
                if let id = addedImage {
                    try? FileSystem.remove(configPath(id))
                    state.images[id] = nil
                }
                for record in addedLayers { try? removeLayer(record, state: &state) }
                throw error
            }
        }
    }
}

/// A pulled layer extracted into a staging directory, not yet in the store.
public struct PendingLayer: Sendable {
    let staged: StagedLayer

    /// `sha256:` of the uncompressed tar.
    public var diffID: String { staged.diffID }
    /// The uncompressed size in bytes.
    public var size: Int64 { staged.size }
}
