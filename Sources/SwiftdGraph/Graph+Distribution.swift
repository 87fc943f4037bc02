import Foundation
import SwiftdSystem

/// Where a layer's blob was seen in a registry: its digest there (usually of the gzip
/// compressed tar), size and media type, and the repository that contains it.
public struct DistributionRecord: Codable, Sendable, Equatable {
    public var digest: String
    public var size: Int64
    public var mediaType: String
    /// The registry's `host[:port]`.
    public var registry: String
    /// The repository inside the registry, such as `library/busybox`.
    public var repository: String

    public init(
        digest: String, size: Int64, mediaType: String, registry: String, repository: String
    ) {
        self.digest = digest
        self.size = size
        self.mediaType = mediaType
        self.registry = registry
        self.repository = repository
    }
}

extension Graph {
    private var distributionDirectory: String { root + "/image/distribution" }

    private func distributionPath(_ diffID: String) -> String {
        distributionDirectory + "/" + diffID.dropFirst("sha256:".count) + ".json"
    }

    /// The registry blobs known to hold the layer `diffID`, most recent first.
    public func distributionRecords(_ diffID: String) -> [DistributionRecord] {
        guard let bytes = try? FileSystem.read(distributionPath(diffID)),
            let records = try? JSONDecoder().decode([DistributionRecord].self, from: Data(bytes))
        else { return [] }
        return records
    }

    /// Remembers that `record` contains the layer `diffID`, so that a later push can skip or
    /// mount the blob instead of uploading it. Keeps the newest 16 records per layer.
    /// Blocks on a small atomic write.
    ///
    /// - Throws: `SystemCallError` when the record cannot be written.
    public func recordDistribution(_ record: DistributionRecord, forLayer diffID: String) throws {
        try FileSystem.createDirectory(distributionDirectory, mode: 0o700)
        try state.withLock { _ in
            var records = distributionRecords(diffID).filter { $0 != record }
            records.insert(record, at: 0)
            try FileSystem.writeAtomically(
                distributionPath(diffID), try encode(Array(records.prefix(16))), mode: 0o600)
        }
    }

    /// What a push of `nameOrID` uploads: the image ID, its config bytes (whose sha256 is the
    /// ID) and each layer's diff ID with the path of its stored uncompressed tar.
    ///
    /// - Throws: `SwiftdError(.notFound)` for an unknown image; `.unsupported` for a layer
    ///   stored without its tar.
    public func pushContent(of nameOrID: String) throws -> (
        id: String, configBytes: [UInt8], layers: [(diffID: String, tarPath: String)]
    ) {
        try state.withLock { state in
            let id = try resolve(nameOrID, state).id
            let bytes = try FileSystem.read(configPath(id))
            let diffIDs = state.images[id]?.rootfs.diffIDs ?? []
            let layers = try diffIDs.map { ($0, try layerTarPath($0, state)) }
            return (id, bytes, layers)
        }
    }
}
