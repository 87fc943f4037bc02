import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdGraph
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

extension Daemon {
    /// Registers the image handlers.
    func registerImageHandlers() throws {
        try engine.register("import") { [self] job in try await importImage(job) }
        try engine.register("images") { [self] job in try await listImages(job) }
        try engine.register("tag") { [self] job in
            let image = try graph.image(try job.argument("name"))
            guard let repo = job.environment["repo"], !repo.isEmpty else {
                throw SwiftdError(.invalidArgument, "repository name must have at least one component")
            }
            let tag = job.environment["tag"].flatMap { $0.isEmpty ? nil : $0 }
            let reference = try Reference(parsing: tag.map { "\(repo):\($0)" } ?? repo)
            guard reference.digest == nil else {
                throw SwiftdError(.invalidArgument, "refusing to create a tag with a digest reference")
            }
            try graph.tag(image.id, as: reference)
            events.emit(type: "image", action: "tag", id: image.id, attributes: ["name": reference.familiarString])
        }
        try engine.register("image_delete") { [self] job in
            let name = try job.argument("name")
            let force = job.environment["force"].map { $0 == "1" || $0 == "true" } ?? false
            if force { try refuseForcedDeleteOfRunningImage(name) }
            let items = imageDeleteItems(try graph.deleteImage(name, force: force))
            for item in items {
                for (key, value) in item {
                    let action = key == "Untagged" ? "untag" : "delete"
                    events.emit(type: "image", action: action, id: value, attributes: ["name": name])
                }
            }
            try await job.stdout.write(Array(try JSONEncoder().encode(items)))
        }
        try engine.register("image_inspect") { [self] job in
            let image = try graph.image(try job.argument("name"))
            try await job.stdout.write(Array(try JSONEncoder().encode(ImageInspect(image))))
        }
    }

    /// Docker's hard conflict: even `rmi -f` by ID may not untag the image of a running
    /// container (by tag it may; the image stays for the container).
    private func refuseForcedDeleteOfRunningImage(_ name: String) throws {
        let image = try graph.image(name)
        let byTag = (try? Reference(parsing: name)).map { reference in
            (image.repoTags + image.repoDigests).contains(reference.familiarString)
        } ?? false
        guard !byTag,
            let running = allContainers().first(where: { $0.record.imageID == image.id && $0.isRunning })
        else { return }
        let short = image.id.dropFirst("sha256:".count).prefix(12)
        throw SwiftdError(
            .conflict,
            "conflict: unable to delete \(short) (cannot be forced) - image is being used by "
                + "running container \(running.id.prefix(12))")
    }

    /// `GET /images/json`: newest first, with the `dangling`, `reference`, `label`, `before`
    /// and `since` filters.
    private func listImages(_ job: Job) async throws {
        let filters = try FilterArguments(
            json: job.environment["filters"], allowed: ["dangling", "reference", "label", "before", "since"])
        let dangling = try filters.bool("dangling")
        func createdTime(_ image: Image) -> Double {
            parseTimestamp(image.created)?.timeIntervalSince1970 ?? 0
        }
        let before = try filters["before"].map { try $0.map { createdTime(try graph.image($0)) } }
        let since = try filters["since"].map { try $0.map { createdTime(try graph.image($0)) } }
        let counts = Dictionary(grouping: allContainers(), by: { $0.record.imageID }).mapValues(\.count)
        var summaries: [ImageSummary] = []
        for image in graph.images() {
            if let dangling, image.repoTags.isEmpty != dangling { continue }
            if let before, !before.allSatisfy({ createdTime(image) < $0 }) { continue }
            if let since, !since.allSatisfy({ createdTime(image) > $0 }) { continue }
            let labels = image.config.config?.labels ?? [:]
            if !filters.labelsMatch(labels) { continue }
            var repoTags = image.repoTags
            if let patterns = filters["reference"] {
                // Docker matches the pattern against the repository and against repo:tag, and
                // lists only the tags that matched.
                repoTags = repoTags.filter { tag in
                    patterns.contains { globMatches($0, tag) || globMatches($0, repositoryOf(tag)) }
                }
                if repoTags.isEmpty { continue }
            }
            var summary = ImageSummary(
                Id: image.id, RepoTags: repoTags,
                Created: Int64(createdTime(image)), Size: image.size, Labels: labels, Containers: counts[image.id] ?? 0)
            summary.RepoDigests = image.repoDigests
            summaries.append(summary)
        }
        try await job.stdout.write(Array(try JSONEncoder().encode(summaries)))
    }
}

/// The repository of a familiar `name:tag`: `localhost:5000/a` of `localhost:5000/a:1`.
private func repositoryOf(_ tag: String) -> String {
    guard let colon = tag.lastIndex(of: ":"), !tag[colon...].contains("/") else { return tag }
    return String(tag[..<colon])
}

/// The `changes` query parameter: repeated keys arrive joined by newlines, and the docker CLI
/// also sends several instructions in one value separated by newlines.
func splitChanges(_ value: String?) -> [String] {
    (value ?? "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
}

/// `GET /images/{name}/json`, with the fields swiftd fills.
struct ImageInspect: Encodable {
    var Id: String
    var RepoTags: [String]
    var RepoDigests: [String]
    var Parent: String
    var Comment: String
    var Created: String
    var Author: String
    var Config: ImageConfig.ContainerConfig?
    var Architecture: String
    var Os: String
    var Size: Int64
    var RootFS: LayerList
    var Metadata: [String: String]

    struct LayerList: Encodable {
        var `Type`: String
        var Layers: [String]
    }

    init(_ image: Image) {
        Id = image.id
        RepoTags = image.repoTags
        RepoDigests = image.repoDigests
        Parent = ""
        Comment = image.config.history?.last?.comment ?? ""
        Created = image.created
        Author = image.config.author ?? ""
        Config = image.config.config
        Architecture = image.config.architecture
        Os = image.config.os
        Size = image.size
        RootFS = LayerList(Type: "layers", Layers: image.config.rootfs.diffIDs)
        Metadata = ["LastTagTime": ""]
    }
}
