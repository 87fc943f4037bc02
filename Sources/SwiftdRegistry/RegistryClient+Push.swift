import Foundation
import SwiftdCrypto
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension RegistryClient {
    /// The scope of a push to `repository`.
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    /// Uploads a manifest (or index) `bytes` of `mediaType` as `reference` (a tag or its
    /// digest) of `repository`, and returns its digest. Blocks.
    ///
    /// - Throws: `RegistryError` with the registry's message when it rejects the manifest
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

/// Where a blob to upload comes from.
public enum BlobSource: Sendable {
    case bytes([UInt8])
    /// The whole file at the path.
    case file(String)
}

extension RegistryClient {
    /// Whether `repository` contains the blob `digest` (`HEAD`). Blocks.
    ///
    /// - Throws: `RegistryError` for statuses other than 200 and 404; as `send`.
    public func hasBlob(_ repository: String, digest: String) throws -> Bool {
        let response = try send(
            "HEAD", .path("/v2/\(repository)/blobs/\(digest)"), scope: Self.pushScope(repository))
        try check(response, [200, 404], "HEAD blob \(digest)")
        return response.status == 200
    }

    /// Asks the registry to mount the blob `digest` of `source` into `repository` without
    /// uploading it. Returns false when the registry started an upload instead (it lacks the
    /// blob there, or does not mount); that upload is cancelled. Blocks.
    ///
    /// - Throws: as `send`.
    public func mountBlob(_ repository: String, digest: String, from source: String) throws
        -> Bool
    {
        let query = "mount=\(digest)&from=\(source)"
        let response = try send(
            "POST", .path("/v2/\(repository)/blobs/uploads/?\(query)"),
            scope: Self.pushScope(repository))
        try check(response, [201, 202], "POST blob mount \(digest) from \(source)")
        if response.status == 202, let location = response.header("Location"),
            let url = try? uploadURL(location)
        {
            _ = try? send("DELETE", .url(url), scope: Self.pushScope(repository))
        }
        return response.status == 201
    }

    /// Uploads a blob whose digest is `digest`: monolithically (one `PUT`) when it is at most
    /// `chunkSize` bytes, else in `PATCH` chunks of `chunkSize` with `Content-Range`, then a
    /// closing `PUT ?digest=`. `progress` gets the bytes sent so far after each request.
    /// Blocks.
    ///
    /// - Throws: `RegistryError` with the registry's message (`DIGEST_INVALID` when the bytes
    ///   do not match `digest`); `SystemCallError` for the file.
    public func uploadBlob(
        _ repository: String, digest: String, from source: BlobSource,
        chunkSize: Int64 = 16 << 20, progress: (Int64) -> Void = { _ in }
    ) throws {
        let scope = Self.pushScope(repository)
        let size: Int64
        switch source {
        case .bytes(let bytes): size = Int64(bytes.count)
        case .file(let path): size = try fileSize(path)
        }
        let start = try send("POST", .path("/v2/\(repository)/blobs/uploads/"), scope: scope)
        try check(start, [202], "POST blob upload \(digest)")
        var location = try uploadURL(start.header("Location"))

        var sent: Int64 = 0
        if size > chunkSize, case .file(let path) = source {
            while sent < size {
                let length = min(chunkSize, size - sent)
                let response = try send(
                    "PATCH", .url(location), scope: scope,
                    headers: [
                        ("Content-Type", "application/octet-stream"),
                        ("Content-Range", "\(sent)-\(sent + length - 1)"),
                    ], body: .file(path: path, offset: sent, length: length))
                try check(response, [202], "PATCH blob \(digest) at \(sent)")
                location = try uploadURL(response.header("Location"))
                sent += length
                progress(sent)
            }
        }
        var final = location.absoluteString
        final += (location.query == nil ? "?" : "&") + "digest=" + digest
        guard let closing = URL(string: final) else {
            throw RegistryError(.unavailable, "registry \(host) sent a bad upload URL")
        }
        let body: HTTPRequest.RequestBody
        if sent == size {
            body = .none
        } else if case .bytes(let bytes) = source {
            body = .bytes(bytes)
        } else if case .file(let path) = source {
            body = .file(path: path, offset: 0, length: size)
        } else {
            body = .none
        }
        let response = try send(
            "PUT", .url(closing), scope: scope,
            headers: [("Content-Type", "application/octet-stream")], body: body)
        try check(response, [201], "PUT blob \(digest)")
        progress(size)
    }

    /// Resolves an upload `Location` header against the registry's base URL.
    private func uploadURL(_ location: String?) throws -> URL {
        guard let location, let base = baseURL,
            let url = URL(string: location, relativeTo: base)?.absoluteURL
        else {
            throw RegistryError(.unavailable, "registry \(host) sent no upload location")
        }
        return url
    }
}

/// The size of the file at `path`.
func fileSize(_ path: String) throws -> Int64 {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw SystemCallError(call: "stat", subject: path, errno: errno)
    }
    return Int64(info.st_size)
}

/// One result of a registry search.
public struct SearchResult: Codable, Sendable {
    public var name: String
    public var description: String?
    public var starCount: Int?
    public var isOfficial: Bool?
    public var isAutomated: Bool?

    enum CodingKeys: String, CodingKey {
        case name
        case description
        case starCount = "star_count"
        case isOfficial = "is_official"
        case isAutomated = "is_automated"
    }
}

extension RegistryClient {
    /// Checks the credentials: pings the registry and, when it asks for authentication,
    /// sends an authorised `GET /v2/` (fetching a token for the bearer flow). Blocks.
    ///
    /// - Throws: `RegistryError(.invalidArgument)` for rejected credentials; as `send`.
    public func login() throws {
        try ping()
        let response = try send("GET", .path("/v2/"), scope: "")
        try check(response, [200], "login to \(host)")
        _ = try? response.readAll(limit: 1 << 20)
    }

    /// Searches the registry's v1 search API (`GET /v1/search?q=…&n=…`), which Docker Hub
    /// offers and the distribution registry does not. Blocks.
    ///
    /// - Throws: `RegistryError(.unsupported)` when the registry has no search; as `send`.
    public func search(_ term: String, limit: Int) throws -> [SearchResult] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        let query = term.addingPercentEncoding(withAllowedCharacters: allowed) ?? term
        let response = try send("GET", .path("/v1/search?q=\(query)&n=\(limit)"), scope: "")
        if response.status == 404 || response.status == 405 {
            throw RegistryError(
                .unsupported,
                "registry \(host) does not support search (it responded \(response.status) to "
                    + "GET /v1/search)")
        }
        try check(response, [200], "search \(host)")
        let body = try response.readAll(limit: 8 << 20)
        struct Results: Decodable { var results: [SearchResult] }
        do {
            return try JSONDecoder().decode(Results.self, from: Data(body)).results
        } catch {
            throw RegistryError(.unavailable, "registry \(host) sent bad search results: \(error)")
        }
    }
}
