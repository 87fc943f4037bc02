/// The OCI / Docker image configuration, with the JSON keys Docker writes.
public struct ImageConfig: Codable, Sendable, Equatable {
    /// The CPU architecture, such as `amd64`.
    public var architecture: String
    /// The operating system, `linux`.
    public var os: String
    /// When the image was created, RFC 3339.
    public var created: String?
    public var author: String?
    /// The defaults for containers run from the image.
    public var config: ContainerConfig?
    /// The layers, bottom first, by diff ID.
    public var rootfs: RootFS
    public var history: [History]?

    public init(
        architecture: String = "amd64", os: String = "linux", created: String? = nil,
        author: String? = nil, config: ContainerConfig? = nil, rootfs: RootFS,
        history: [History]? = nil
    ) {
        self.architecture = architecture
        self.os = os
        self.created = created
        self.author = author
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    /// The `config` object: defaults for a container's process.
    public struct ContainerConfig: Codable, Sendable, Equatable {
        public var user: String?
        public var env: [String]?
        public var cmd: [String]?
        public var entrypoint: [String]?
        public var workingDir: String?
        public var labels: [String: String]?
        /// Keys such as `80/tcp`; the values are empty objects.
        public var exposedPorts: [String: EmptyObject]?
        /// Keys are container paths; the values are empty objects.
        public var volumes: [String: EmptyObject]?
        public var stopSignal: String?

        public init(
            user: String? = nil, env: [String]? = nil, cmd: [String]? = nil,
            entrypoint: [String]? = nil, workingDir: String? = nil,
            labels: [String: String]? = nil, exposedPorts: [String: EmptyObject]? = nil,
            volumes: [String: EmptyObject]? = nil, stopSignal: String? = nil
        ) {
            self.user = user
            self.env = env
            self.cmd = cmd
            self.entrypoint = entrypoint
            self.workingDir = workingDir
            self.labels = labels
            self.exposedPorts = exposedPorts
            self.volumes = volumes
            self.stopSignal = stopSignal
        }

        enum CodingKeys: String, CodingKey {
            case user = "User"
            case env = "Env"
            case cmd = "Cmd"
            case entrypoint = "Entrypoint"
            case workingDir = "WorkingDir"
            case labels = "Labels"
            case exposedPorts = "ExposedPorts"
            case volumes = "Volumes"
            case stopSignal = "StopSignal"
        }
    }

    /// The `rootfs` object.
    public struct RootFS: Codable, Sendable, Equatable {
        /// Always `layers`.
        public var type: String
        /// `sha256:<hex>` of each uncompressed layer tar, bottom first.
        public var diffIDs: [String]

        public init(type: String = "layers", diffIDs: [String]) {
            self.type = type
            self.diffIDs = diffIDs
        }

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    /// One `history` entry: the step that made a layer (or an empty layer).
    public struct History: Codable, Sendable, Equatable {
        public var created: String?
        public var createdBy: String?
        public var author: String?
        public var comment: String?
        /// True for a step that changed only the config and made no layer.
        public var emptyLayer: Bool?

        public init(
            created: String? = nil, createdBy: String? = nil, author: String? = nil,
            comment: String? = nil, emptyLayer: Bool? = nil
        ) {
            self.created = created
            self.createdBy = createdBy
            self.author = author
            self.comment = comment
            self.emptyLayer = emptyLayer
        }

        enum CodingKeys: String, CodingKey {
            case created
            case createdBy = "created_by"
            case author
            case comment
            case emptyLayer = "empty_layer"
        }
    }
}

/// The `{}` values of `ExposedPorts` and `Volumes`.
public struct EmptyObject: Codable, Sendable, Equatable, Hashable {
    public init() {}
}
