/// The Engine API routes that swiftd serves, each mapped to the job that handles it.
public enum DockerRoutes {
    public static let all: [Route] = [
        Route("GET", "/_ping", job: "ping", .text),
        Route("GET", "/version", job: "version", .json(.ok)),
        Route("GET", "/info", job: "info", .json(.ok)),
        Route("GET", "/events", job: "events", .stream(contentType: "application/json")),
        Route("GET", "/system/df", job: "system_df", .json(.ok)),
        Route("GET", "/volumes", job: "volumes", .json(.ok)),
        Route("POST", "/volumes/create", job: "volume_create", .json(.created)),
        Route("POST", "/volumes/prune", job: "volumes_prune", .json(.ok)),
        Route("GET", "/volumes/{name}", job: "volume_inspect", .json(.ok)),
        Route("DELETE", "/volumes/{name}", job: "volume_delete", .noContent),
        Route("GET", "/plugins", job: "plugins", .json(.ok)),
        // A daemon outside a swarm answers every swarm endpoint with 503.
        Route("GET", "/swarm", job: "swarm", .json(.ok)),
        Route("GET", "/nodes", job: "swarm", .json(.ok)),
        Route("GET", "/services", job: "swarm", .json(.ok)),
        Route("GET", "/tasks", job: "swarm", .json(.ok)),
        Route("GET", "/secrets", job: "swarm", .json(.ok)),
        Route("GET", "/configs", job: "swarm", .json(.ok)),

        Route("GET", "/containers/json", job: "containers", .json(.ok)),
        Route("POST", "/containers/create", job: "create", .json(.created)),
        Route("GET", "/containers/{name}/json", job: "container_inspect", .json(.ok)),
        Route("POST", "/containers/{name}/start", job: "start", .noContent),
        Route("POST", "/containers/{name}/stop", job: "stop", .noContent),
        Route("POST", "/containers/{name}/kill", job: "kill", .noContent),
        // The head goes out once the waiter is registered, so clients can start the container then.
        Route("POST", "/containers/{name}/wait", job: "wait", .stream(contentType: "application/json")),
        Route("POST", "/containers/{name}/attach", job: "attach", .hijack),
        Route("POST", "/containers/{name}/resize", job: "resize", .json(.ok)),
        Route("GET", "/containers/{name}/top", job: "top", .json(.ok)),
        Route("GET", "/containers/{name}/stats", job: "stats", .stream(contentType: "application/json")),
        Route("GET", "/containers/{name}/logs", job: "logs", .stream(contentType: "application/vnd.docker.multiplexed-stream")),
        Route("DELETE", "/containers/{name}", job: "delete", .noContent),
        Route("POST", "/containers/{name}/restart", job: "restart", .noContent),
        Route("POST", "/containers/{name}/pause", job: "pause", .noContent),
        Route("POST", "/containers/{name}/unpause", job: "unpause", .noContent),
        // The new name arrives as the query parameter `name`, so the path names it `container`.
        Route("POST", "/containers/{container}/rename", job: "rename", .noContent),
        Route("POST", "/containers/prune", job: "containers_prune", .json(.ok)),
        Route("POST", "/containers/{name}/update", job: "container_update", .json(.ok)),

        Route("POST", "/containers/{name}/exec", job: "exec_create", .json(.created)),
        Route("POST", "/exec/{id}/start", job: "exec_start", .hijack),
        Route("GET", "/exec/{id}/json", job: "exec_inspect", .json(.ok)),
        Route("POST", "/exec/{id}/resize", job: "exec_resize", .json(.ok)),

        Route("GET", "/containers/{name}/changes", job: "container_changes", .json(.ok)),
        Route("GET", "/containers/{name}/export", job: "export", .stream(contentType: "application/x-tar")),
        Route("HEAD", "/containers/{name}/archive", job: "container_stat_path", .noContent,
            responseHeaders: ["X-Docker-Container-Path-Stat"]),
        Route("GET", "/containers/{name}/archive", job: "container_archive", .stream(contentType: "application/x-tar"),
            responseHeaders: ["X-Docker-Container-Path-Stat"]),
        Route("PUT", "/containers/{name}/archive", job: "container_extract", .noContent, streamsBody: true),
        Route("POST", "/commit", job: "commit", .json(.created)),

        Route("GET", "/networks", job: "networks", .json(.ok)),
        Route("POST", "/networks/create", job: "network_create", .json(.created)),
        Route("POST", "/networks/prune", job: "networks_prune", .json(.ok)),
        Route("GET", "/networks/{name}", job: "network_inspect", .json(.ok)),
        Route("DELETE", "/networks/{name}", job: "network_delete", .noContent),
        Route("POST", "/networks/{name}/connect", job: "network_connect", .json(.ok)),
        Route("POST", "/networks/{name}/disconnect", job: "network_disconnect", .json(.ok)),

        Route("GET", "/images/json", job: "images", .json(.ok)),
        Route("GET", "/images/get", job: "image_export", .stream(contentType: "application/x-tar")),
        Route("POST", "/images/load", job: "load", .stream(contentType: "application/json"), streamsBody: true),
        Route("POST", "/images/prune", job: "images_prune", .json(.ok)),
        Route("GET", "/images/{name*}/get", job: "image_export", .stream(contentType: "application/x-tar")),
        Route("GET", "/images/{name*}/history", job: "history", .json(.ok)),
        Route("POST", "/images/create", job: "image_create", .stream(contentType: "application/json"), streamsBody: true),
        Route("GET", "/images/search", job: "search", .json(.ok)),
        Route("POST", "/images/{name*}/push", job: "push", .stream(contentType: "application/json")),
        Route("POST", "/auth", job: "auth", .json(.ok)),
        Route("GET", "/distribution/{name*}/json", job: "distribution_inspect", .json(.ok)),
        Route("GET", "/images/{name*}/json", job: "image_inspect", .json(.ok)),
        Route("POST", "/images/{name*}/tag", job: "tag", .json(.created)),
        Route("DELETE", "/images/{name*}", job: "image_delete", .json(.ok)),
    ] + swarmRoutes + pluginRoutes + unsupportedRoutes

    /// Every swarm endpoint: 503 as from a dockerd outside a swarm, and 501 for joining or
    /// making one, which swiftd cannot do.
    static let swarmRoutes: [Route] = [
        Route("POST", "/swarm/init", job: "swarm_unsupported", .json(.ok)),
        Route("POST", "/swarm/join", job: "swarm_unsupported", .json(.ok)),
        Route("POST", "/swarm/leave", job: "swarm_leave", .json(.ok)),
        Route("POST", "/swarm/update", job: "swarm", .json(.ok)),
        Route("GET", "/swarm/unlockkey", job: "swarm", .json(.ok)),
        Route("POST", "/swarm/unlock", job: "swarm", .json(.ok)),
    ] + ["nodes", "services", "tasks", "secrets", "configs"].flatMap { kind in
        [
            Route("GET", "/\(kind)/{id}", job: "swarm", .json(.ok)),
            Route("DELETE", "/\(kind)/{id}", job: "swarm", .json(.ok)),
            Route("POST", "/\(kind)/{id}/update", job: "swarm", .json(.ok)),
            Route("GET", "/\(kind)/{id}/logs", job: "swarm", .json(.ok)),
            Route("POST", "/\(kind)/create", job: "swarm", .json(.ok)),
        ]
    }

    /// Endpoints swiftd does not serve, answered with a clear 501 (or dockerd's 503 for a
    /// cluster volume) rather than a 404.
    static let unsupportedRoutes: [Route] = [
        Route("GET", "/containers/{name}/attach/ws", job: "attach_websocket", .json(.ok)),
        Route("POST", "/build", job: "build_unsupported", .json(.ok)),
        Route("POST", "/build/prune", job: "build_unsupported", .json(.ok)),
        Route("POST", "/session", job: "build_unsupported", .json(.ok)),
        Route("PUT", "/volumes/{name}", job: "volume_update", .json(.ok)),
    ]

    /// The plugin endpoints besides the (empty) list: swiftd has no plugins.
    static let pluginRoutes: [Route] = [
        Route("GET", "/plugins/privileges", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/pull", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/create", job: "plugins_unsupported", .json(.ok)),
        Route("GET", "/plugins/{name*}/json", job: "plugins_unsupported", .json(.ok)),
        Route("DELETE", "/plugins/{name*}", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/{name*}/enable", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/{name*}/disable", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/{name*}/upgrade", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/{name*}/push", job: "plugins_unsupported", .json(.ok)),
        Route("POST", "/plugins/{name*}/set", job: "plugins_unsupported", .json(.ok)),
    ]
}
