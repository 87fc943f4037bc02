import Foundation
import SwiftdAPI
import SwiftdEngine
import SwiftdSystem

/// `GET /system/df`'s response, with the fields swiftd fills.
struct DiskUsageResponse: Encodable {
    struct ImageRow: Encodable {
        var Id: String
        var ParentId: String
        var RepoTags: [String]
        var RepoDigests: [String]
        var Created: Int64
        var Size: Int64
        var SharedSize: Int64
        var Labels: [String: String]
        var Containers: Int
    }

    struct ContainerRow: Encodable {
        var Id: String
        var Names: [String]
        var Image: String
        var ImageID: String
        var Command: String
        var Created: Int64
        var State: String
        var Status: String
        var SizeRw: Int64
        var SizeRootFs: Int64
    }

    var LayersSize: Int64
    var Images: [ImageRow]
    var Containers: [ContainerRow]
    var Volumes: [String]
    var BuildCache: [String]
}

extension Daemon {
    /// Registers `system_df`, and the answers of a daemon that is not part of a swarm and has
    /// no volume or plugin support yet.
    func registerSystemHandlers() throws {
        try engine.register("system_df") { [self] job in
            let usage = try graph.diskUsage()
            let byID = Dictionary(uniqueKeysWithValues: graph.images().map { ($0.id, $0) })
            let images = usage.images.map { row in
                DiskUsageResponse.ImageRow(
                    Id: row.id, ParentId: "", RepoTags: row.repoTags, RepoDigests: [],
                    Created: Int64(byID[row.id].flatMap { parseTimestamp($0.created) }?.timeIntervalSince1970 ?? 0),
                    Size: row.size, SharedSize: row.sharedSize, Labels: byID[row.id]?.config.config?.labels ?? [:],
                    Containers: row.containers)
            }
            let sizes = Dictionary(uniqueKeysWithValues: usage.containers.map { ($0.id, $0.sizeRw) })
            let containers = allContainers().map { container in
                let row = summary(container)
                return DiskUsageResponse.ContainerRow(
                    Id: row.Id, Names: row.Names, Image: row.Image, ImageID: row.ImageID, Command: row.Command,
                    Created: row.Created, State: row.State, Status: row.Status, SizeRw: sizes[row.Id] ?? 0,
                    SizeRootFs: (byID[row.ImageID]?.size ?? 0) + (sizes[row.Id] ?? 0))
            }
            let response = DiskUsageResponse(LayersSize: usage.layersSize, Images: images, Containers: containers, Volumes: [], BuildCache: [])
            try await job.stdout.write(Array(try JSONEncoder().encode(response)))
        }
        // The messages a dockerd that is not in a swarm returns, so clients handle them as usual.
        try engine.register("swarm") { _ in
            throw SwiftdError(.unavailable,
                "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
        }
        try engine.register("swarm_leave") { _ in
            throw SwiftdError(.unavailable, "This node is not part of a swarm")
        }
        try engine.register("swarm_unsupported") { _ in
            throw SwiftdError(.unsupported, "swarm mode is not supported by swiftd; use an orchestrator such as Kubernetes through cri-dockerd")
        }
        try engine.register("plugins") { job in try await job.stdout.write("[]") }
        try engine.register("plugins_unsupported") { _ in
            throw SwiftdError(.unsupported, "plugins are not supported by swiftd")
        }
        try engine.register("attach_websocket") { _ in
            // TODO: attach over a WebSocket (RFC 6455 framing on the hijacked connection).
            throw SwiftdError(
                .unsupported,
                "attaching over a WebSocket is not supported by swiftd; use POST /containers/{id}/attach")
        }
        try engine.register("build_unsupported") { _ in
            // TODO: image builds (the classic builder and BuildKit sessions).
            throw SwiftdError(.unsupported, "image builds are not supported by swiftd yet")
        }
        try engine.register("volume_update") { _ in
            throw SwiftdError(
                .unavailable, "volume update only valid for cluster volumes, but swarm is unavailable")
        }
    }
}
