import Foundation
import SwiftdCrypto
import SwiftdSystem

extension RegistryClient {
    /// The scope of a push to `repository`.
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    /// Uploads a manifest (or index) `bytes` of `mediaType` as `reference` (a tag or its
    /// digest) of `repository`, and returns its digest. Blocks.
    ///
    /// - Throws: `RegistryError` with the registry's message when it refuses the manifest
    ///   (such as `MANIFEST_BLOB_UNKNOWN` for a blob it lacks); as `send`.
    @discardableResult
    public func putManifest(
        _ repository: String, reference: String, bytes: [UInt8], mediaType: String
    ) throws -> String {
        let response = try send(
            "PUT", .path("/v2/\(repository)/manifests/\(reference)"),
            scope: Self.pushScope(repository), headers: [("Content-Type", mediaType)],
            body: .bytes(bytes))
        try check(response, [200, 201], "PUT manifest \(repository):\(reference)")
        _ = try? response.readAll(limit: 1 << 20)
        return "sha256:" + SHA256.hash(bytes)
    }
}
