/// Request and response bodies of the Docker Engine API v1.45, with the API's field names.
/// Only the fields swiftd reads or fills are declared; decoding ignores the others.

/// `POST /containers/create`: the container config with `HostConfig` inside it.
public struct ContainerCreateRequest: Codable, Sendable {
    public var Hostname: String?
    public var Domainname: String?
    public var User: String?
    public var AttachStdin: Bool?
    public var AttachStdout: Bool?
    public var AttachStderr: Bool?
    public var Tty: Bool?
    public var OpenStdin: Bool?
    public var StdinOnce: Bool?
    public var Env: [String]?
    public var Cmd: [String]?
    public var Entrypoint: [String]?
    public var Image: String?
    public var Labels: [String: String]?
    public var WorkingDir: String?
    public var StopSignal: String?
    public var StopTimeout: Int?
    /// Container ports such as `80/tcp`, each with an empty object.
    public var ExposedPorts: [String: [String: String]]?
    public var HostConfig: HostConfig?
    /// The endpoint settings (`--network-alias`, `--ip`) of the networks the container joins.
    public var NetworkingConfig: NetworkingConfig?
    /// The container-wide MAC address that clients of API versions before 1.44 send; the
    /// daemon moves it to the endpoint of the network mode.
    public var MacAddress: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case Hostname, Domainname, User, AttachStdin, AttachStdout, AttachStderr, Tty, OpenStdin
        case StdinOnce, Env, Cmd, Entrypoint, Image, Labels, WorkingDir, StopSignal, StopTimeout
        case ExposedPorts, HostConfig
        case NetworkingConfig, MacAddress
    }

    /// Decodes the request; `Cmd` and `Entrypoint` may be a string as well as a list, as
    /// dockerd accepts them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        Hostname = try container.decodeIfPresent(String.self, forKey: .Hostname)
        Domainname = try container.decodeIfPresent(String.self, forKey: .Domainname)
        User = try container.decodeIfPresent(String.self, forKey: .User)
        AttachStdin = try container.decodeIfPresent(Bool.self, forKey: .AttachStdin)
        AttachStdout = try container.decodeIfPresent(Bool.self, forKey: .AttachStdout)
        AttachStderr = try container.decodeIfPresent(Bool.self, forKey: .AttachStderr)
        Tty = try container.decodeIfPresent(Bool.self, forKey: .Tty)
        OpenStdin = try container.decodeIfPresent(Bool.self, forKey: .OpenStdin)
        StdinOnce = try container.decodeIfPresent(Bool.self, forKey: .StdinOnce)
        Env = try container.decodeIfPresent([String].self, forKey: .Env)
        Cmd = try Self.decodeStringList(container, .Cmd)
        Entrypoint = try Self.decodeStringList(container, .Entrypoint)
        Image = try container.decodeIfPresent(String.self, forKey: .Image)
        Labels = try container.decodeIfPresent([String: String].self, forKey: .Labels)
        WorkingDir = try container.decodeIfPresent(String.self, forKey: .WorkingDir)
        StopSignal = try container.decodeIfPresent(String.self, forKey: .StopSignal)
        StopTimeout = try container.decodeIfPresent(Int.self, forKey: .StopTimeout)
        ExposedPorts = try container.decodeIfPresent(
            [String: [String: String]].self, forKey: .ExposedPorts)
        HostConfig = try container.decodeIfPresent(SwiftdAPI.HostConfig.self, forKey: .HostConfig)
        NetworkingConfig = try container.decodeIfPresent(
            SwiftdAPI.NetworkingConfig.self, forKey: .NetworkingConfig)
        MacAddress = try container.decodeIfPresent(String.self, forKey: .MacAddress)
    }

    private static func decodeStringList(
        _ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> [String]? {
        if let single = try? container.decodeIfPresent(String.self, forKey: key) { return [single] }
        return try container.decodeIfPresent([String].self, forKey: key)
    }
}

/// The part of a container's configuration that depends on the host.
public struct HostConfig: Codable, Sendable, Equatable {
    /// Memory limit in bytes; 0 means none.
    public var Memory: Int64?
    public var AutoRemove: Bool?
    public var NetworkMode: String?
    public var Privileged: Bool?
    public var CapAdd: [String]?
    public var CapDrop: [String]?
    public var ReadonlyRootfs: Bool?
    /// CPU limit in billionths of a CPU (`--cpus 0.5` is 500000000).
    public var NanoCpus: Int64?
    public var CpuShares: Int64?
    public var PidsLimit: Int64?
    /// tmpfs mounts: container path to mount options.
    public var Tmpfs: [String: String]?
    /// `no-new-privileges`, `seccomp=unconfined` or `seccomp=FILE CONTENTS`.
    public var SecurityOpt: [String]?
    public var ShmSize: Int64?
    /// `--storage-opt`: options of the container's writable layer; `size` is the only one.
    public var StorageOpt: [String: String]?
    /// The terminal's first size with `Tty`: `[height, width]`.
    public var ConsoleSize: [Int]?
    /// The logging driver; swiftd writes `json-file` logs.
    public var LogConfig: LogConfiguration?
    /// Published ports: container port such as `80/tcp` to host bindings.
    public var PortBindings: [String: [HostPortBinding]]?
    /// `-P`: publish every exposed port on a free host port.
    public var PublishAllPorts: Bool?
    /// `--link`: `/CHILD:/PARENT/ALIAS`, or `NAME:ALIAS` as clients send them.
    public var Links: [String]?
    public var Dns: [String]?
    public var DnsSearch: [String]?
    public var DnsOptions: [String]?
    /// `--add-host`: `NAME:ADDRESS` lines for the container's /etc/hosts.
    public var ExtraHosts: [String]?
    /// `--restart`: restarts the container when it exits.
    public var RestartPolicy: RestartPolicy?
    /// `-v`: `HOST:CONTAINER[:ro|rw]` binds, `NAME:CONTAINER[:…]` named volumes, and
    /// `CONTAINER` anonymous volumes.
    public var Binds: [String]?
    /// `--mount`: bind, volume and tmpfs mounts.
    public var Mounts: [MountRequest]?
    /// `--ulimit`: resource limits set in the container.
    public var Ulimits: [UlimitRequest]?
    /// `--memory-swap`: memory plus swap in bytes; -1 is unlimited.
    public var MemorySwap: Int64?
    /// `--memory-reservation`: the soft memory limit in bytes.
    public var MemoryReservation: Int64?
    /// `--cpu-quota`: microseconds of CPU time per `CpuPeriod`.
    public var CpuQuota: Int64?
    /// `--cpu-period`: the CFS period in microseconds.
    public var CpuPeriod: Int64?
    /// `--cpuset-cpus`: the CPUs the container may use, such as `0-1` or `0,2`.
    public var CpusetCpus: String?
    /// `--cpuset-mems`: the memory nodes the container may use.
    public var CpusetMems: String?
    /// `--oom-kill-disable`: the OOM killer spares the container (cgroup v1).
    public var OomKillDisable: Bool?
    /// `--init`: a reaper runs as PID 1 with the command as its child.
    public var Init: Bool?
    /// `--device`: host devices made in the container's /dev.
    public var Devices: [DeviceMapping]?
    /// `--ipc`: `private` (the default), `shareable`, `host` or `container:NAME`.
    public var IpcMode: String?
    /// `--pid`: empty for a new namespace, `host` or `container:NAME`.
    public var PidMode: String?
    /// `--uts`: empty for a new namespace or `host`.
    public var UTSMode: String?
    /// `--volumes-from`: `CONTAINER[:ro|rw]` whose volumes and binds are mounted too.
    public var VolumesFrom: [String]?

    public init() {}
}

/// One `HostConfig.Ulimits` entry.
public struct UlimitRequest: Codable, Sendable, Equatable {
    public var Name: String
    public var Soft: Int64
    public var Hard: Int64

    public init(Name: String, Soft: Int64, Hard: Int64) {
        self.Name = Name
        self.Soft = Soft
        self.Hard = Hard
    }
}

/// One `HostConfig.Devices` entry (`--device HOST[:CONTAINER[:PERMISSIONS]]`).
public struct DeviceMapping: Codable, Sendable, Equatable {
    public var PathOnHost: String
    /// The path inside the container; empty means `PathOnHost`.
    public var PathInContainer: String?
    /// Some of `r`, `w` and `m`; empty means `rwm`.
    public var CgroupPermissions: String?

    public init(PathOnHost: String, PathInContainer: String? = nil, CgroupPermissions: String? = nil) {
        self.PathOnHost = PathOnHost
        self.PathInContainer = PathInContainer
        self.CgroupPermissions = CgroupPermissions
    }
}

/// `HostConfig.LogConfig`: the logging driver and its options.
public struct LogConfiguration: Codable, Sendable, Equatable {
    public var `Type`: String
    public var Config: [String: String]?

    public init(Type: String, Config: [String: String]? = [:]) {
        self.Type = Type
        self.Config = Config
    }
}

/// A host address and port that a container port is published on; an empty or missing
/// `HostPort` asks for a free port.
public struct HostPortBinding: Codable, Sendable, Equatable {
    public var HostIp: String?
    public var HostPort: String?

    public init(HostIp: String? = nil, HostPort: String? = nil) {
        self.HostIp = HostIp
        self.HostPort = HostPort
    }
}

/// One `HostConfig.Mounts` entry (`--mount type=…,source=…,target=…`).
public struct MountRequest: Codable, Sendable, Equatable {
    /// `bind`, `volume` or `tmpfs`.
    public var `Type`: String?
    public var Source: String?
    public var Target: String?
    public var ReadOnly: Bool?
    public var TmpfsOptions: TmpfsOptions?

    public struct TmpfsOptions: Codable, Sendable, Equatable {
        public var SizeBytes: Int64?
        public var Mode: UInt32?

        public init() {}
    }

    public init() {}
}

/// A mount of a container as inspect shows it (`Mounts`).
public struct MountPoint: Codable, Sendable, Equatable {
    /// `bind`, `volume` or `tmpfs`.
    public var `Type`: String
    /// The volume's name, for a volume.
    public var Name: String?
    /// The host path: the bind source or the volume's `_data` directory.
    public var Source: String
    public var Destination: String
    /// `local` for a volume.
    public var Driver: String?
    /// The options as given, such as `ro` or `z`.
    public var Mode: String
    public var RW: Bool
    public var Propagation: String

    public init(
        type: String, name: String? = nil, source: String, destination: String,
        driver: String? = nil, mode: String = "", readWrite: Bool = true
    ) {
        self.Type = type
        Name = name
        Source = source
        Destination = destination
        Driver = driver
        Mode = mode
        RW = readWrite
        Propagation = type == "bind" ? "rprivate" : ""
    }
}

/// `HostConfig.RestartPolicy`: `no`, `always`, `on-failure` (with a retry limit, 0 for none)
/// or `unless-stopped`.
public struct RestartPolicy: Codable, Sendable, Equatable {
    public var Name: String?
    public var MaximumRetryCount: Int?

    public init(Name: String, MaximumRetryCount: Int = 0) {
        self.Name = Name
        self.MaximumRetryCount = MaximumRetryCount
    }
}

/// The response of `POST /containers/create`.
public struct ContainerCreateResponse: Codable, Sendable {
    public var Id: String
    public var Warnings: [String]

    public init(Id: String, Warnings: [String] = []) {
        self.Id = Id
        self.Warnings = Warnings
    }
}

/// One network a container is attached to.
public struct EndpointSettings: Codable, Sendable, Equatable {
    public var NetworkID: String
    public var EndpointID: String
    public var Gateway: String
    public var IPAddress: String
    public var IPPrefixLen: Int
    public var MacAddress: String
    /// The container's names on a user-defined network other than its name and short ID.
    public var Aliases: [String]?
    /// The address the container asked for on this network.
    public var IPAMConfig: EndpointIPAMConfig?
    /// The names the network's DNS server resolves to this endpoint.
    public var DNSNames: [String]?

    public init(NetworkID: String, EndpointID: String, Gateway: String, IPAddress: String, IPPrefixLen: Int, MacAddress: String) {
        self.NetworkID = NetworkID
        self.EndpointID = EndpointID
        self.Gateway = Gateway
        self.IPAddress = IPAddress
        self.IPPrefixLen = IPPrefixLen
        self.MacAddress = MacAddress
    }
}

/// A container's networks, keyed by network name.
public struct NetworkSettingsSummary: Codable, Sendable {
    public var Networks: [String: EndpointSettings]

    public init(Networks: [String: EndpointSettings]) { self.Networks = Networks }
}

/// One row of `GET /containers/json`.
public struct ContainerSummary: Codable, Sendable {
    public var Id: String
    public var Names: [String]
    public var Image: String
    public var ImageID: String
    public var Command: String
    public var Created: Int64
    public var State: String
    public var Status: String
    public var Ports: [Port]
    public var Labels: [String: String]
    public var HostConfig: [String: String]
    public var NetworkSettings: NetworkSettingsSummary
    public var Mounts: [String]

    public struct Port: Codable, Sendable {
        public var IP: String?
        public var PrivatePort: Int
        public var PublicPort: Int?
        public var `Type`: String

        public init(IP: String?, PrivatePort: Int, PublicPort: Int?, Type: String) {
            self.IP = IP
            self.PrivatePort = PrivatePort
            self.PublicPort = PublicPort
            self.Type = Type
        }
    }

    public init(Id: String, Names: [String], Image: String, ImageID: String, Command: String, Created: Int64, State: String, Status: String, Labels: [String: String], NetworkMode: String, NetworkSettings: NetworkSettingsSummary) {
        self.Id = Id
        self.Names = Names
        self.Image = Image
        self.ImageID = ImageID
        self.Command = Command
        self.Created = Created
        self.State = State
        self.Status = Status
        self.Ports = []
        self.Labels = Labels
        self.HostConfig = ["NetworkMode": NetworkMode]
        self.NetworkSettings = NetworkSettings
        self.Mounts = []
    }
}

/// `State` of `GET /containers/{id}/json`.
public struct ContainerState: Codable, Sendable, Equatable {
    public var Status: String
    public var Running: Bool
    public var Paused: Bool
    public var Restarting: Bool
    public var OOMKilled: Bool
    public var Dead: Bool
    public var Pid: Int32
    public var ExitCode: Int32
    public var Error: String
    public var StartedAt: String
    public var FinishedAt: String

    public init() {
        Status = "created"
        Running = false
        Paused = false
        Restarting = false
        OOMKilled = false
        Dead = false
        Pid = 0
        ExitCode = 0
        Error = ""
        StartedAt = "0001-01-01T00:00:00Z"
        FinishedAt = "0001-01-01T00:00:00Z"
    }
}

/// The `Config` of `GET /containers/{id}/json`.
public struct ContainerConfig: Codable, Sendable, Equatable {
    public var Hostname: String
    public var Domainname: String
    public var User: String
    public var AttachStdin: Bool
    public var AttachStdout: Bool
    public var AttachStderr: Bool
    public var Tty: Bool
    public var OpenStdin: Bool
    public var StdinOnce: Bool
    public var Env: [String]
    public var Cmd: [String]?
    public var Entrypoint: [String]?
    public var Image: String
    public var Labels: [String: String]
    public var WorkingDir: String
    public var StopSignal: String?
    public var StopTimeout: Int?
    /// Container ports such as `80/tcp`: the image's and those asked for at create.
    public var ExposedPorts: [String: [String: String]]?

    public init(Hostname: String, Image: String) {
        self.Hostname = Hostname
        Domainname = ""
        User = ""
        AttachStdin = false
        AttachStdout = true
        AttachStderr = true
        Tty = false
        OpenStdin = false
        StdinOnce = false
        Env = []
        Cmd = nil
        Entrypoint = nil
        self.Image = Image
        Labels = [:]
        WorkingDir = ""
        StopSignal = nil
    }
}

/// `NetworkSettings` of `GET /containers/{id}/json`.
public struct NetworkSettings: Codable, Sendable {
    public var Bridge: String
    public var SandboxKey: String
    public var Gateway: String
    public var IPAddress: String
    public var IPPrefixLen: Int
    public var MacAddress: String
    /// Container port such as `80/tcp` to its host bindings; null for an exposed port that
    /// is not published.
    public var Ports: [String: [HostPortBinding]?]
    public var Networks: [String: EndpointSettings]

    public init(Bridge: String, SandboxKey: String, endpoint: EndpointSettings?, networkName: String) {
        self.Bridge = Bridge
        self.SandboxKey = SandboxKey
        Gateway = endpoint?.Gateway ?? ""
        IPAddress = endpoint?.IPAddress ?? ""
        IPPrefixLen = endpoint?.IPPrefixLen ?? 0
        MacAddress = endpoint?.MacAddress ?? ""
        Ports = [:]
        Networks = endpoint.map { [networkName: $0] } ?? [:]
    }
}

/// `GET /containers/{id}/json`.
public struct ContainerInspect: Codable, Sendable {
    public var Id: String
    public var Created: String
    public var Path: String
    public var Args: [String]
    public var State: ContainerState
    public var Image: String
    public var ResolvConfPath: String
    public var HostnamePath: String
    public var HostsPath: String
    public var LogPath: String
    public var Name: String
    public var RestartCount: Int
    public var Driver: String
    public var Platform: String
    public var MountLabel: String
    public var ProcessLabel: String
    public var AppArmorProfile: String
    public var ExecIDs: [String]?
    public var HostConfig: HostConfig
    public var GraphDriver: GraphDriverData
    public var Mounts: [MountPoint]
    public var Config: ContainerConfig
    public var NetworkSettings: NetworkSettings

    public struct GraphDriverData: Codable, Sendable {
        public var Name: String
        public var Data: [String: String]

        public init(Name: String, Data: [String: String]) {
            self.Name = Name
            self.Data = Data
        }
    }

    public init(Id: String, Created: String, Path: String, Args: [String], State: ContainerState, Image: String, LogPath: String, Name: String, HostConfig: HostConfig, GraphDriver: GraphDriverData, Config: ContainerConfig, NetworkSettings: NetworkSettings) {
        self.Id = Id
        self.Created = Created
        self.Path = Path
        self.Args = Args
        self.State = State
        self.Image = Image
        ResolvConfPath = ""
        HostnamePath = ""
        HostsPath = ""
        self.LogPath = LogPath
        self.Name = Name
        RestartCount = 0
        Driver = GraphDriver.Name
        Platform = "linux"
        MountLabel = ""
        ProcessLabel = ""
        AppArmorProfile = ""
        ExecIDs = nil
        self.HostConfig = HostConfig
        self.GraphDriver = GraphDriver
        Mounts = []
        self.Config = Config
        self.NetworkSettings = NetworkSettings
    }
}

/// The response of `POST /containers/{id}/wait`.
public struct ContainerWaitResponse: Codable, Sendable {
    public var StatusCode: Int64
    public var Error: WaitError?

    public struct WaitError: Codable, Sendable {
        public var Message: String
    }

    public init(StatusCode: Int64, error: String? = nil) {
        self.StatusCode = StatusCode
        self.Error = error.map { WaitError(Message: $0) }
    }
}

/// One row of `GET /images/json`.
public struct ImageSummary: Codable, Sendable {
    public var Id: String
    public var ParentId: String
    public var RepoTags: [String]
    public var RepoDigests: [String]
    public var Created: Int64
    public var Size: Int64
    public var SharedSize: Int64
    public var Labels: [String: String]
    public var Containers: Int

    public init(Id: String, RepoTags: [String], Created: Int64, Size: Int64, Labels: [String: String], Containers: Int) {
        self.Id = Id
        ParentId = ""
        self.RepoTags = RepoTags
        RepoDigests = []
        self.Created = Created
        self.Size = Size
        SharedSize = -1
        self.Labels = Labels
        self.Containers = Containers
    }
}

/// `GET /version`.
public struct VersionResponse: Codable, Sendable {
    public var Platform: PlatformName
    public var Components: [Component]
    public var Version: String
    public var ApiVersion: String
    public var MinAPIVersion: String
    public var GitCommit: String
    public var GoVersion: String
    public var Os: String
    public var Arch: String
    public var KernelVersion: String
    public var BuildTime: String
    public var Experimental: Bool

    public struct PlatformName: Codable, Sendable {
        public var Name: String
    }

    public struct Component: Codable, Sendable {
        public var Name: String
        public var Version: String
        public var Details: [String: String]
    }

    public init(version: String, commit: String, swiftVersion: String, kernel: String, buildTime: String) {
        Platform = PlatformName(Name: "swiftd")
        Components = [Component(Name: "Engine", Version: version, Details: [
            "ApiVersion": APIVersion.current, "MinAPIVersion": APIVersion.minimum, "GitCommit": commit,
            "GoVersion": swiftVersion, "Os": "linux", "Arch": "amd64", "KernelVersion": kernel,
        ])]
        Version = version
        ApiVersion = APIVersion.current
        MinAPIVersion = APIVersion.minimum
        GitCommit = commit
        GoVersion = swiftVersion
        Os = "linux"
        Arch = "amd64"
        KernelVersion = kernel
        BuildTime = buildTime
        Experimental = false
    }
}

/// `GET /info`, with the fields swiftd can fill.
public struct InfoResponse: Codable, Sendable {
    public var ID: String
    public var Containers: Int
    public var ContainersRunning: Int
    public var ContainersPaused: Int
    public var ContainersStopped: Int
    public var Images: Int
    public var Driver: String
    public var DriverStatus: [[String]]
    public var MemoryLimit: Bool
    public var SwapLimit: Bool
    public var CpuCfsPeriod: Bool
    public var CpuCfsQuota: Bool
    public var IPv4Forwarding: Bool
    public var Debug: Bool
    public var NFd: Int
    public var NGoroutines: Int
    public var SystemTime: String
    public var LoggingDriver: String
    public var CgroupDriver: String
    public var CgroupVersion: String
    public var NEventsListener: Int
    public var KernelVersion: String
    public var OperatingSystem: String
    public var OSType: String
    public var Architecture: String
    public var NCPU: Int
    public var MemTotal: Int64
    public var IndexServerAddress: String
    public var DockerRootDir: String
    public var Name: String
    public var Labels: [String]
    public var ExperimentalBuild: Bool
    public var LiveRestoreEnabled: Bool
    public var ServerVersion: String
    public var DefaultRuntime: String
    public var Runtimes: [String: [String: String]]
    public var SecurityOptions: [String]
    public var RegistryConfig: RegistryServiceConfig
    public var Swarm: SwarmInfo
    public var Plugins: PluginsInfo
    public var Warnings: [String]

    /// `RegistryConfig`: the mirrors and the registries reached without TLS checks.
    public struct RegistryServiceConfig: Codable, Sendable {
        public var InsecureRegistryCIDRs: [String]
        public var IndexConfigs: [String: IndexInfo]
        public var Mirrors: [String]

        public init(InsecureRegistryCIDRs: [String], IndexConfigs: [String: IndexInfo], Mirrors: [String]) {
            self.InsecureRegistryCIDRs = InsecureRegistryCIDRs
            self.IndexConfigs = IndexConfigs
            self.Mirrors = Mirrors
        }
    }

    /// One registry of `RegistryConfig.IndexConfigs`.
    public struct IndexInfo: Codable, Sendable {
        public var Name: String
        public var Mirrors: [String]
        public var Secure: Bool
        public var Official: Bool

        public init(Name: String, Mirrors: [String], Secure: Bool, Official: Bool) {
            self.Name = Name
            self.Mirrors = Mirrors
            self.Secure = Secure
            self.Official = Official
        }
    }

    /// `Swarm`: always inactive, as swiftd never joins one.
    public struct SwarmInfo: Codable, Sendable {
        public var NodeID = ""
        public var NodeAddr = ""
        public var LocalNodeState = "inactive"
        public var ControlAvailable = false
        public var Error = ""
    }

    /// `Plugins`: the built-in drivers, by kind.
    public struct PluginsInfo: Codable, Sendable {
        public var Volume = ["local"]
        public var Network = ["bridge", "host", "null"]
        public var Authorization: [String]? = nil
        public var Log = ["json-file"]
    }

    public init(ID: String, Driver: String, DockerRootDir: String, ServerVersion: String) {
        self.ID = ID
        Containers = 0
        ContainersRunning = 0
        ContainersPaused = 0
        ContainersStopped = 0
        Images = 0
        self.Driver = Driver
        DriverStatus = []
        MemoryLimit = true
        SwapLimit = false
        CpuCfsPeriod = true
        CpuCfsQuota = true
        IPv4Forwarding = true
        Debug = false
        NFd = 0
        NGoroutines = 0
        SystemTime = ""
        LoggingDriver = "json-file"
        CgroupDriver = "cgroupfs"
        CgroupVersion = "1"
        NEventsListener = 0
        KernelVersion = ""
        OperatingSystem = ""
        OSType = "linux"
        Architecture = "x86_64"
        NCPU = 1
        MemTotal = 0
        IndexServerAddress = "https://index.docker.io/v1/"
        self.DockerRootDir = DockerRootDir
        Name = ""
        Labels = []
        ExperimentalBuild = false
        LiveRestoreEnabled = false
        self.ServerVersion = ServerVersion
        DefaultRuntime = "native"
        Runtimes = ["native": ["path": "swiftd"]]
        SecurityOptions = ["name=seccomp,profile=builtin"]
        RegistryConfig = RegistryServiceConfig(
            InsecureRegistryCIDRs: ["127.0.0.0/8"],
            IndexConfigs: ["docker.io": IndexInfo(Name: "docker.io", Mirrors: [], Secure: true, Official: true)],
            Mirrors: [])
        Swarm = SwarmInfo()
        Plugins = PluginsInfo()
        Warnings = []
    }
}

/// One message of a JSON progress stream (import, load, pull).
public struct ProgressMessage: Codable, Sendable {
    public var status: String?
    public var id: String?
    public var progress: String?
    /// Bytes done and expected; docker sends `{}` for a layer's steps that count no bytes.
    public var progressDetail: ProgressDetail?
    public var stream: String?
    public var error: String?
    public var errorDetail: ErrorDetail?

    public struct ErrorDetail: Codable, Sendable {
        public var message: String
    }

    public struct ProgressDetail: Codable, Sendable, Equatable {
        public var current: Int64?
        public var total: Int64?

        public init(current: Int64? = nil, total: Int64? = nil) {
            self.current = current
            self.total = total
        }
    }

    public init(status: String? = nil, id: String? = nil, stream: String? = nil, error: String? = nil) {
        self.status = status
        self.id = id
        self.stream = stream
        self.error = error
        self.errorDetail = error.map { ErrorDetail(message: $0) }
    }
}

/// One network of `GET /networks` and `GET /networks/{id}`.
public struct NetworkResource: Codable, Sendable {
    public var Name: String
    public var Id: String
    public var Created: String
    public var Scope: String
    /// `bridge`, `host` or `null`.
    public var Driver: String
    public var EnableIPv6: Bool
    public var IPAM: IPAMSettings
    public var Internal: Bool
    public var Attachable: Bool
    public var Ingress: Bool
    /// Container ID to its endpoint on this network.
    public var Containers: [String: NetworkContainer]
    public var Options: [String: String]
    public var Labels: [String: String]

    public init(
        Name: String, Id: String, Created: String, Driver: String, IPAM: IPAMSettings,
        Containers: [String: NetworkContainer], Options: [String: String],
        Labels: [String: String]
    ) {
        self.Name = Name
        self.Id = Id
        self.Created = Created
        Scope = "local"
        self.Driver = Driver
        EnableIPv6 = false
        self.IPAM = IPAM
        Internal = false
        Attachable = false
        Ingress = false
        self.Containers = Containers
        self.Options = Options
        self.Labels = Labels
    }
}

/// The address settings of a network: `IPAM` of the network API.
public struct IPAMSettings: Codable, Sendable {
    public var Driver: String?
    public var Config: [IPAMConfig]?

    public init(Driver: String? = "default", Config: [IPAMConfig]?) {
        self.Driver = Driver
        self.Config = Config
    }
}

/// One address range of a network.
public struct IPAMConfig: Codable, Sendable {
    public var Subnet: String?
    public var Gateway: String?
    public var IPRange: String?
    /// Addresses of the subnet kept from containers, by name (`--aux-address NAME=ADDRESS`).
    public var AuxiliaryAddresses: [String: String]?

    public init(
        Subnet: String?, Gateway: String?, IPRange: String? = nil,
        AuxiliaryAddresses: [String: String]? = nil
    ) {
        self.Subnet = Subnet
        self.Gateway = Gateway
        self.IPRange = IPRange
        self.AuxiliaryAddresses = AuxiliaryAddresses
    }
}

/// A container's endpoint in `NetworkResource.Containers`.
public struct NetworkContainer: Codable, Sendable {
    public var Name: String
    public var EndpointID: String
    public var MacAddress: String
    public var IPv4Address: String
    public var IPv6Address: String

    public init(Name: String, EndpointID: String, MacAddress: String, IPv4Address: String) {
        self.Name = Name
        self.EndpointID = EndpointID
        self.MacAddress = MacAddress
        self.IPv4Address = IPv4Address
        IPv6Address = ""
    }
}

/// `POST /networks/create`.
public struct NetworkCreateRequest: Codable, Sendable {
    public var Name: String
    public var Driver: String?
    public var Internal: Bool?
    public var EnableIPv6: Bool?
    public var IPAM: IPAMSettings?
    public var Options: [String: String]?
    public var Labels: [String: String]?

    public init(Name: String) { self.Name = Name }
}

/// The response of `POST /networks/create`.
public struct NetworkCreateResponse: Codable, Sendable {
    public var Id: String
    public var Warning: String

    public init(Id: String, Warning: String = "") {
        self.Id = Id
        self.Warning = Warning
    }
}

/// The response of `POST /networks/prune`.
public struct NetworkPruneResponse: Codable, Sendable {
    public var NetworksDeleted: [String]

    public init(NetworksDeleted: [String]) { self.NetworksDeleted = NetworksDeleted }
}

/// `NetworkingConfig` of `POST /containers/create`.
public struct NetworkingConfig: Codable, Sendable {
    /// Network name or ID to the container's settings on it.
    public var EndpointsConfig: [String: EndpointConfig]?

    public init(EndpointsConfig: [String: EndpointConfig]?) { self.EndpointsConfig = EndpointsConfig }
}

/// The settings a container asks for on one network, at create or connect.
public struct EndpointConfig: Codable, Sendable, Equatable {
    public var Aliases: [String]?
    public var IPAMConfig: EndpointIPAMConfig?
    /// Links on a user-defined network, `NAME:ALIAS`: names that only this container resolves.
    public var Links: [String]?
    /// The MAC address of the container's interface on this network (`--mac-address`).
    public var MacAddress: String?

    public init(
        Aliases: [String]? = nil, IPAMConfig: EndpointIPAMConfig? = nil, Links: [String]? = nil,
        MacAddress: String? = nil
    ) {
        self.Aliases = Aliases
        self.IPAMConfig = IPAMConfig
        self.Links = Links
        self.MacAddress = MacAddress
    }
}

/// The fixed addresses of an endpoint (`--ip`).
public struct EndpointIPAMConfig: Codable, Sendable, Equatable {
    public var IPv4Address: String?

    public init(IPv4Address: String?) { self.IPv4Address = IPv4Address }
}

/// `POST /networks/{id}/connect`.
public struct NetworkConnectRequest: Codable, Sendable {
    /// The container's name or ID.
    public var Container: String
    public var EndpointConfig: EndpointConfig?

    public init(Container: String, EndpointConfig: EndpointConfig? = nil) {
        self.Container = Container
        self.EndpointConfig = EndpointConfig
    }
}

/// `POST /networks/{id}/disconnect`.
public struct NetworkDisconnectRequest: Codable, Sendable {
    /// The container's name or ID.
    public var Container: String
    public var Force: Bool?

    public init(Container: String, Force: Bool? = nil) {
        self.Container = Container
        self.Force = Force
    }
}
