import Foundation
import SwiftdCrypto
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A manifest's bytes as the registry sent them, with its media type and digest.
public struct FetchedManifest: Sendable {
    public var bytes: [UInt8]
    public var mediaType: String
    /// `sha256:` of `bytes`.
    public var digest: String
}

extension RegistryClient {
    /// The scope of a pull from `repository` (the name without the registry host).
    static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }

    /// Fetches the manifest `reference` (a tag or a digest) of `repository`. A digest
    /// reference is checked against the bytes. Blocks.
    ///
    /// - Throws: `RegistryError(.notFound)` for an unknown manifest,
    ///   `RegistryError(.invalidArgument)` for a digest mismatch or an unknown media type, and
    ///   as `send`.
    public func manifest(_ repository: String, reference: String) throws -> FetchedManifest {
        let request = "GET manifest \(repository):\(reference)"
        let response = try send(
            "GET", .path("/v2/\(repository)/manifests/\(reference)"),
            scope: Self.pullScope(repository),
            headers: [("Accept", ManifestMediaType.accepted.joined(separator: ", "))])
        try check(response, [200], request)
        let bytes = try response.readAll(limit: 4 << 20)
        let digest = "sha256:" + SHA256.hash(bytes)
        if reference.hasPrefix("sha256:"), reference != digest {
            throw RegistryError(
                .invalidArgument,
                "manifest \(repository)@\(reference) has digest \(digest): rejected")
        }
        var mediaType = response.header("Content-Type")?.split(separator: ";").first.map {
            String($0).trimmingCharacters(in: .whitespaces)
        }
        if let embedded = try? JSONDecoder().decode(MediaTypeOnly.self, from: Data(bytes)),
            let type = embedded.mediaType
        {
            mediaType = type
        }
        guard let mediaType, ManifestMediaType.accepted.contains(mediaType) else {
            throw RegistryError(
                .invalidArgument,
                "manifest \(repository):\(reference) has the unsupported media type "
                    + "\(mediaType ?? "none")")
        }
        return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest)
    }

    private struct MediaTypeOnly: Decodable {
        var mediaType: String?
    }

    /// Fetches a small blob (a config) into memory, checking its digest and size.
    ///
    /// - Throws: `RegistryError(.invalidArgument)` for a mismatch; as `send`.
    public func blob(_ repository: String, _ descriptor: Descriptor) throws -> [UInt8] {
        let response = try send(
            "GET", .path("/v2/\(repository)/blobs/\(descriptor.digest)"),
            scope: Self.pullScope(repository))
        try check(response, [200], "GET blob \(descriptor.digest)")
        let bytes = try response.readAll(limit: 16 << 20)
        let digest = "sha256:" + SHA256.hash(bytes)
        guard digest == descriptor.digest, Int64(bytes.count) == descriptor.size else {
            throw RegistryError(
                .invalidArgument,
                "blob \(descriptor.digest) arrived with digest \(digest) and size "
                    + "\(bytes.count) (expected size \(descriptor.size)): rejected")
        }
        return bytes
    }

    /// Downloads the blob `descriptor` of `repository` into a new file at `path`, hashing it
    /// while it streams; `progress` gets the byte count so far every 512 KiB or so. The file
    /// is removed when the digest or size does not match. Blocks.
    ///
    /// - Throws: `RegistryError(.invalidArgument)` for a digest or size mismatch,
    ///   `RegistryError(.unavailable)` for a broken connection, `SystemCallError` for the file.
    public func download(
        _ repository: String, _ descriptor: Descriptor, to path: String,
        progress: (Int64) -> Void = { _ in }
    ) throws {
        let response = try send(
            "GET", .path("/v2/\(repository)/blobs/\(descriptor.digest)"),
            scope: Self.pullScope(repository))
        try check(response, [200], "GET blob \(descriptor.digest)")
        let fd = try retryingInterrupts("open", path) {
            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        }
        var complete = false
        defer {
            close(fd)
            if !complete { unlink(path) }
        }
        let hasher = SHA256()
        var size: Int64 = 0
        var reported: Int64 = 0
        while let piece = try response.read() {
            hasher.update(piece)
            try writeAll(fd, piece, path)
            size += Int64(piece.count)
            guard size <= descriptor.size else {
                throw RegistryError(
                    .invalidArgument,
                    "blob \(descriptor.digest) is larger than its \(descriptor.size) bytes: "
                        + "rejected")
            }
            if size - reported >= 512 << 10 {
                reported = size
                progress(size)
            }
        }
        progress(size)
        let digest = "sha256:" + hasher.finalize()
        guard digest == descriptor.digest, size == descriptor.size else {
            throw RegistryError(
                .invalidArgument,
                "blob \(descriptor.digest) arrived with digest \(digest) and size \(size) "
                    + "(expected size \(descriptor.size)): rejected")
        }
        complete = true
    }
}

/// Writes all of `bytes` to `fd`.
func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
    try bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let count = try retryingInterrupts("write", path) {
                write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            offset += count
        }
    }
}
