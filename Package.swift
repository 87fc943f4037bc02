// swift-tools-version:6.0
import PackageDescription

/// A C library found through pkg-config, wrapped by exactly one Swift target.
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(
        name: name, path: "CModules/\(name)", pkgConfig: pkgConfig,
        providers: [.apt(apt)])
}

/// The commit and build time that `/version` reports, from the environment that `make` sets
/// (`SWIFTD_GIT_COMMIT`, and `SWIFTD_BUILD_TIME` from the commit's date, so that builds of one
/// commit are the same).
let buildInfo: [CSetting] = [
    .define("SWD_GIT_COMMIT", to: "\"\(Context.environment["SWIFTD_GIT_COMMIT"] ?? "unknown")\""),
    .define("SWD_BUILD_TIME", to: "\"\(Context.environment["SWIFTD_BUILD_TIME"] ?? "")\""),
]

let package = Package(
    name: "swiftd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftd", targets: ["swiftd"]),
        // The per-container monitor, a small C program the daemon runs for each container.
        .executable(name: "swiftd-monitor", targets: ["swiftd-monitor"]),
    ],
    targets: [
        // C libraries, each imported only by its wrapper target below.
        systemLibrary("CNetlink", pkgConfig: "libnl-route-3.0", apt: ["libnl-3-dev", "libnl-route-3-dev"]),
        systemLibrary("CIPTables", pkgConfig: "libip4tc", apt: ["libiptc-dev"]),
        systemLibrary("CCapabilities", pkgConfig: "libcap", apt: ["libcap-dev"]),
        systemLibrary("CSeccomp", pkgConfig: "libseccomp", apt: ["libseccomp-dev"]),
        // C libraries that only some commands use, loaded with dlopen on first use rather than
        // linked, so that a process start does not map them (CModules/CSwiftdSystem/include/
        // swd_dlopen.h). Their headers come from libarchive-dev, libssl-dev and libsystemd-dev.
        .target(name: "CArchive", dependencies: ["CSwiftdSystem"], path: "CModules/CArchive"),
        .target(name: "CCrypto", dependencies: ["CSwiftdSystem"], path: "CModules/CCrypto"),
        .target(name: "CTLS", dependencies: ["CSwiftdSystem"], path: "CModules/CTLS"),
        .target(name: "CSystemd", dependencies: ["CSwiftdSystem"], path: "CModules/CSystemd"),
        // Syscalls that glibc's Swift module hides (it is built without _GNU_SOURCE).
        .target(name: "CSwiftdSystem", path: "CModules/CSwiftdSystem", cSettings: buildInfo),
        // The container init: clone, namespaces, rootfs, capabilities, execve.
        .target(name: "CSwiftdInit", path: "CModules/CSwiftdInit"),

        // Wrappers: the only importers of their C modules.
        .target(name: "SwiftdSystem", dependencies: ["CSwiftdSystem"]),
        .target(name: "SwiftdNetlink", dependencies: ["CNetlink", "SwiftdSystem"]),
        .target(name: "SwiftdIPTables", dependencies: ["CIPTables", "SwiftdSystem"]),
        .target(name: "SwiftdSystemd", dependencies: ["CSystemd"]),
        .target(name: "SwiftdCapabilities", dependencies: ["CCapabilities", "SwiftdSystem"]),
        .target(name: "SwiftdSeccomp", dependencies: ["CSeccomp", "SwiftdSystem"]),
        .target(name: "SwiftdArchive", dependencies: ["CArchive", "SwiftdSystem", "SwiftdCrypto"]),
        .target(name: "SwiftdCrypto", dependencies: ["CCrypto"]),
        .target(name: "SwiftdTLS", dependencies: ["CTLS"]),

        // The engine and the layers beneath the daemon.
        .target(name: "SwiftdEngine"),
        .target(
            name: "SwiftdGraph",
            dependencies: ["SwiftdSystem", "SwiftdArchive", "SwiftdCrypto", "CArchive"]),
        .target(
            name: "SwiftdExec",
            dependencies: [
                "CSwiftdInit", "SwiftdSystem", "SwiftdCapabilities", "SwiftdSeccomp",
            ]),
        .target(
            name: "SwiftdNetwork",
            dependencies: ["SwiftdSystem", "SwiftdNetlink", "SwiftdIPTables"]),
        .target(
            name: "SwiftdRegistry",
            dependencies: ["SwiftdSystem", "SwiftdGraph", "SwiftdCrypto", "SwiftdTLS", "SwiftdArchive"]),
        .target(
            name: "SwiftdAPI",
            dependencies: ["SwiftdEngine", "SwiftdSystem", "SwiftdTLS"]),
        .target(
            name: "SwiftdDaemon",
            dependencies: [
                "SwiftdEngine", "SwiftdSystem", "SwiftdGraph", "SwiftdExec", "SwiftdNetwork",
                "SwiftdAPI", "SwiftdSystemd", "SwiftdCrypto", "SwiftdTLS", "SwiftdCapabilities",
                "SwiftdSeccomp", "SwiftdRegistry", "SwiftdArchive",
            ]),
        .target(
            name: "SwiftdClient",
            dependencies: ["SwiftdAPI", "SwiftdSystem", "SwiftdArchive"]),
        .executableTarget(
            name: "swiftd",
            dependencies: ["SwiftdDaemon", "SwiftdClient"]),
        .executableTarget(
            name: "swiftd-monitor", dependencies: ["CSwiftdInit"], path: "CModules/Monitor",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])],
            // Linked statically and without the Swift runtime's start files: one per running
            // container, it maps no shared library (about 0.7 MiB resident).
            linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"])]),

        .testTarget(name: "SwiftdEngineTests", dependencies: ["SwiftdEngine"]),
        .testTarget(name: "SwiftdAPITests", dependencies: ["SwiftdAPI", "SwiftdEngine"]),
        .testTarget(name: "SwiftdGraphTests", dependencies: ["SwiftdGraph", "SwiftdArchive", "SwiftdCrypto", "SwiftdSystem"]),
        .testTarget(name: "SwiftdExecTests", dependencies: ["SwiftdExec", "SwiftdSystem", "SwiftdCapabilities"]),
        .testTarget(name: "SwiftdNetworkTests", dependencies: ["SwiftdNetwork", "SwiftdNetlink", "SwiftdIPTables", "SwiftdSystem"]),
        .testTarget(name: "SwiftdDaemonTests", dependencies: ["SwiftdDaemon", "SwiftdSystem"]),
        .testTarget(name: "SwiftdClientTests", dependencies: ["SwiftdClient", "SwiftdAPI"]),
        .testTarget(
            name: "SwiftdRegistryTests",
            dependencies: ["SwiftdRegistry", "SwiftdGraph", "SwiftdCrypto", "SwiftdSystem"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SwiftdSystem"]),
    ],
    swiftLanguageModes: [.v6]
)
