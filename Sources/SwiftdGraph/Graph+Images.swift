import Foundation
import SwiftdCrypto
import SwiftdSystem

extension Graph {
    /// Stores `config` as JSON (sorted keys); its sha256 is the image ID. Every layer in
    /// `rootfs.diff_ids` must already be imported. Storing the same config again returns the
    /// same image.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for a missing layer or a `rootfs.type` other
    ///   than `layers`; `SystemCallError` when the file cannot be written.
    public func createImage(_ config: ImageConfig) throws -> Image {
        try createImage(configBytes: try encode(config))
    }

    /// Stores the exact `configBytes` (as pulled from a registry or loaded from a tar), so
    /// that the image ID is the sha256 the registry announced.
    ///
    /// - Throws: as `createImage(_:)`, and `invalidArgument` when the bytes are not an image
    ///   config.
    public func createImage(configBytes: [UInt8]) throws -> Image {
        let config = try decodeConfig(configBytes)
        return try state.withLock { state in
            let id = try storeConfig(configBytes, config, &state).id
            return makeImage(id, state)
        }
    }

    /// Writes a decoded config whose layers must be stored; returns its ID and whether it
    /// is new. Call with the state locked.
    func storeConfig(_ bytes: [UInt8], _ config: ImageConfig, _ state: inout GraphState) throws
        -> (id: String, added: Bool)
    {
        let id = "sha256:" + SHA256.hash(bytes)
        for diffID in config.rootfs.diffIDs where state.layers[diffID] == nil {
            throw SwiftdError(.invalidArgument, "image config names a missing layer: \(diffID)")
        }
        guard state.images[id] == nil else { return (id, false) }
        try FileSystem.writeAtomically(configPath(id), bytes, mode: 0o600)
        state.images[id] = config
        return (id, true)
    }

    /// Decodes image config bytes and checks `rootfs.type`.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` "invalid image config: …".
    func decodeConfig(_ bytes: [UInt8]) throws -> ImageConfig {
        let config: ImageConfig
        do {
            config = try JSONDecoder().decode(ImageConfig.self, from: Data(bytes))
        } catch {
            throw SwiftdError(.invalidArgument, "invalid image config: \(describeDecodingFailure(error))")
        }
        guard config.rootfs.type == "layers" else {
            throw SwiftdError(
                .invalidArgument, "invalid image config: rootfs type \"\(config.rootfs.type)\"")
        }
        return config
    }

    /// Points `reference` at the image `imageID` (any form `image(_:)` accepts), moving the
    /// tag if it pointed elsewhere.
    ///
    /// - Throws: `SwiftdError(.notFound)` "No such image: …"; `SystemCallError` when the tag
    ///   store cannot be written.
    public func tag(_ imageID: String, as reference: Reference) throws {
        try state.withLock { state in
            let id = try resolve(imageID, state).id
            var tags = state.tags
            tags[reference.familiarString] = id
            try saveTags(tags)
            state.tags = tags
        }
    }

    /// Finds an image by reference (`name[:tag]` or `name@digest`), full ID (`sha256:<hex>`
    /// or 64 hex digits) or a unique ID prefix.
    ///
    /// - Throws: `SwiftdError(.notFound)` "No such image: NAME"; `invalidArgument` when a
    ///   prefix matches more than one image.
    public func image(_ nameOrID: String) throws -> Image {
        try state.withLock { state in
            makeImage(try resolve(nameOrID, state).id, state)
        }
    }

    /// Every image, newest first.
    public func images() -> [Image] {
        state.withLock { state in
            state.images.keys.map { makeImage($0, state) }
                .sorted { ($0.created, $0.id) > ($1.created, $1.id) }
        }
    }

    /// Removes a tag, or an image and the layers no other image uses, as `docker rmi` does
    /// without `--force`, and returns its report lines: `Untagged: busybox:latest` and
    /// `Deleted: sha256:…` (the image ID, then the chain IDs of removed layers).
    ///
    /// By name, only that tag goes, with the digest references of its repository when it is
    /// the repository's last tag. The image goes with its last reference. By ID, the image and
    /// all its tags go unless they belong to more than one repository.
    ///
    /// With `force`, an ID tagged in several repositories loses all its tags, and an image a
    /// container layer still uses loses its tags but stays (dangling) for that container.
    ///
    /// - Throws: `SwiftdError(.notFound)`. `.conflict` without `force` when a container layer
    ///   uses the image and the removal would leave it without a tag or delete it, or when the
    ///   ID is tagged in several repositories. `SystemCallError` on a write failure.
    public func deleteImage(_ nameOrID: String, force: Bool = false) throws -> [String] {
        try deleteImage(nameOrID, force: force, unlessUsed: false)
    }

    /// Runs `deleteImage(_:force:)`, and with `unlessUsed` throws `.conflict` before changing
    /// anything when a container layer uses the image, regardless of `force`.
    func deleteImage(_ nameOrID: String, force: Bool, unlessUsed: Bool) throws -> [String] {
        try state.withLock { state in
            let (id, byReference) = try resolve(nameOrID, state)
            let short = String(id.dropFirst("sha256:".count).prefix(12))
            if unlessUsed, let user = state.containers.values.first(where: { $0.imageID == id }) {
                throw SwiftdError(
                    .conflict,
                    "conflict: unable to delete \(short) - container \(user.id.prefix(12)) is "
                        + "using its referenced image \(short)")
            }
            let imageTags = state.tags.filter { $0.value == id }.map(\.key).sorted()
            var untag: [String]
            if let byReference {
                untag = [byReference]
                let repository = repositoryName(byReference)
                let otherTags = imageTags.filter {
                    !$0.contains("@") && $0 != byReference && repositoryName($0) == repository
                }
                if !byReference.contains("@") && otherTags.isEmpty {
                    // The repository's last tag takes its digest references with it, as in
                    // dockerd, so that a pulled image does not stay behind unnamed.
                    untag += imageTags.filter {
                        $0.contains("@") && repositoryName($0) == repository
                    }
                }
            } else {
                let repositories = Set(imageTags.map(repositoryName))
                if repositories.count > 1 && !force {
                    throw SwiftdError(
                        .conflict,
                        "conflict: unable to delete \(short) (must be forced) - image is "
                            + "referenced in multiple repositories")
                }
                untag = imageTags
            }
            let user = state.containers.values.first(where: { $0.imageID == id })
            if byReference != nil, !force, let user, isSingleReference(imageTags) {
                // Untagging would leave the container's image dangling, so dockerd requires -f.
                throw SwiftdError(
                    .conflict,
                    "conflict: unable to remove repository reference \"\(nameOrID)\" (must "
                        + "force) - container \(user.id.prefix(12)) is using its referenced "
                        + "image \(short)")
            }
            // Forced by ID, an image that only stopped containers use goes, as in dockerd: the
            // containers keep its layers. The daemon rejects this for a running container.
            let deletesImage =
                untag.count == imageTags.count && (user == nil || !force || byReference == nil)
            if deletesImage, !force, let user {
                throw SwiftdError(
                    .conflict,
                    "conflict: unable to delete \(short) (must be forced) - container "
                        + "\(user.id.prefix(12)) is using its referenced image \(short)")
            }

            var report: [String] = []
            if !untag.isEmpty {
                var tags = state.tags
                for reference in untag { tags[reference] = nil }
                try saveTags(tags)
                state.tags = tags
                report += untag.map { "Untagged: \($0)" }
            }
            guard deletesImage, let config = state.images[id] else { return report }
            for var container in state.containers.values
            where container.imageID == id && container.diffIDs == nil {
                // Older records name only the image: give them its layers before it goes.
                container.diffIDs = config.rootfs.diffIDs
                try FileSystem.writeAtomically(containerPath(container.id), try encode(container))
                state.containers[container.id] = container
            }
            try FileSystem.remove(configPath(id))
            state.images[id] = nil
            report.append("Deleted: \(id)")
            report += try removeUnusedLayers(config.rootfs.diffIDs, state: &state)
            return report
        }
    }

    /// Removes the layers of `diffIDs` (an image's, bottom first) that no image and no
    /// container layer uses, top first, and returns a `Deleted: CHAIN_ID` line for each.
    @discardableResult
    func removeUnusedLayers(_ diffIDs: [String], state: inout GraphState) throws -> [String] {
        var inUse = Set(state.images.values.flatMap(\.rootfs.diffIDs))
        for container in state.containers.values {
            inUse.formUnion(container.layerStack(state) ?? [])
        }
        let chains = ChainID.chainIDs(diffIDs)
        var removed: Set<String> = []
        var report: [String] = []
        for (diffID, chainID) in zip(diffIDs, chains).reversed()
        where !inUse.contains(diffID) && !removed.contains(diffID) {
            guard let record = state.layers[diffID] else { continue }
            try removeLayer(record, state: &state)
            removed.insert(diffID)
            report.append("Deleted: \(chainID)")
        }
        return report
    }

    /// Resolves `nameOrID` to an image ID, and reports which tag matched if it was a reference.
    ///
    /// - Throws: `SwiftdError`: `notFound` for a name or ID of no image. `invalidArgument` with
    ///   Docker's reference message for a text that is neither a reference nor an ID, and for an
    ///   ID prefix that several images share.
    func resolve(_ nameOrID: String, _ state: GraphState) throws -> (
        id: String, reference: String?
    ) {
        if nameOrID.hasPrefix("sha256:"), state.images[nameOrID] != nil { return (nameOrID, nil) }
        let parsed = Result { try Reference(parsing: nameOrID) }
        if case .success(let reference) = parsed, let id = state.tags[reference.familiarString] {
            return (id, reference.familiarString)
        }
        let hex = nameOrID.hasPrefix("sha256:") ? String(nameOrID.dropFirst(7)) : nameOrID
        let isHex = !hex.isEmpty && hex.utf8.allSatisfy({ isLowerHexDigit($0) })
        if isHex {
            let matches = state.images.keys.filter { $0.dropFirst(7).hasPrefix(hex) }
            if matches.count == 1, let only = matches.first { return (only, nil) }
            if matches.count > 1 {
                throw SwiftdError(
                    .invalidArgument, "multiple IDs found with provided prefix: \(nameOrID)")
            }
        }
        // As dockerd: a name that is neither a reference nor an ID is a bad request (400).
        if case .failure(let error) = parsed, !isHex, !nameOrID.hasPrefix("sha256:") { throw error }
        throw SwiftdError(.notFound, "No such image: \(nameOrID)")
    }

    func makeImage(_ id: String, _ state: GraphState) -> Image {
        let config = state.images[id] ?? ImageConfig(rootfs: .init(diffIDs: []))
        let references = state.tags.filter { $0.value == id }.map(\.key)
        let size = config.rootfs.diffIDs.reduce(Int64(0)) { $0 + (state.layers[$1]?.size ?? 0) }
        return Image(
            id: id, config: config,
            repoTags: references.filter { !$0.contains("@") }.sorted(),
            repoDigests: references.filter { $0.contains("@") }.sorted(),
            size: size, created: config.created ?? "")
    }

    func saveTags(_ tags: [String: String]) throws {
        var file = TagStoreFile(repositories: [:])
        for (reference, id) in tags {
            file.repositories[repositoryName(reference), default: [:]][reference] = id
        }
        try FileSystem.writeAtomically(tagStorePath, try encode(file), mode: 0o600)
    }
}

/// Reports whether `references` (tags and digests of one image) name one repository and contain
/// at most one tag, as dockerd's `isSingleReference`. Removing that tag leaves the image unnamed.
func isSingleReference(_ references: [String]) -> Bool {
    let tags = references.filter { !$0.contains("@") }
    guard references.count > 1 else { return references.count == 1 }
    guard tags.count <= 1 else { return false }
    let repositories = Set(references.map(repositoryName))
    return repositories.count == 1
}

/// The repository part of a familiar reference: `busybox` of `busybox:latest`.
func repositoryName(_ reference: String) -> String {
    var name = Substring(reference)
    if let at = name.firstIndex(of: "@") { name = name[..<at] }
    if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
        name = name[..<colon]
    }
    return String(name)
}

private func isLowerHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
}
