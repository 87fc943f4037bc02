import SwiftdGraph
import SwiftdSystem
import Testing

@Suite("StorageOptions")
struct StorageOptionsTests {
    @Test(
        "daemon size options",
        arguments: [
            (["overlay2.size=10G"], StorageDriver.overlay2, UInt64(10) << 30),
            (["Overlay2.Size = 512k"], .overlay2, 512 << 10),
            (["size=1.5MiB"], .vfs, 1536 << 10),
            (["size=0"], .vfs, 0),
            (["size=100"], .vfs, 100),
        ])
    func daemonSizes(options: [String], driver: StorageDriver, bytes: UInt64) throws {
        #expect(try StorageOptions(daemonOptions: options, driver: driver).size == bytes)
    }

    @Test(
        "daemon option errors",
        arguments: [
            (["overlay2.size"], StorageDriver.overlay2, "unable to parse storage-opt key/value: overlay2.size"),
            (["size=1G"], .overlay2, "overlay2: unknown option size"),
            (["overlay2.size=1G"], .vfs, "unknown option overlay2.size for vfs"),
            (["overlay2.size=ten"], .overlay2, "invalid size: 'ten'"),
            (["overlay2.size="], .overlay2, "invalid size: ''"),
            (["size=1X"], .vfs, "invalid size: '1X'"),
        ])
    func daemonErrors(options: [String], driver: StorageDriver, message: String) {
        #expect {
            try StorageOptions(daemonOptions: options, driver: driver)
        } throws: { error in
            (error as? SwiftdError)?.kind == .invalidArgument
                && (error as? SwiftdError)?.message == message
        }
    }

    @Test("container options")
    func containerOptions() throws {
        #expect(try StorageOptions(containerOptions: ["size": "1M"], driver: .overlay2).size == 1 << 20)
        #expect(try StorageOptions(containerOptions: ["SIZE": "2g"], driver: .vfs).size == 2 << 30)
        #expect(try StorageOptions(containerOptions: [:], driver: .vfs).size == nil)
        let unknown: [(StorageDriver, String)] = [
            (.overlay2, "Unknown option quota"), (.vfs, "Storage opt quota not supported"),
        ]
        for (driver, message) in unknown {
            #expect {
                try StorageOptions(containerOptions: ["quota": "1"], driver: driver)
            } throws: { error in
                (error as? SwiftdError)?.message == message
            }
        }
        #expect {
            try StorageOptions(containerOptions: ["size": "-1"], driver: .overlay2)
        } throws: { error in
            (error as? SwiftdError)?.message == "invalid size: '-1'"
        }
    }

    @Test(
        "size rejected without project quotas", .enabled(if: isRoot, "imports layers with owners"),
        arguments: StorageDriver.allCases)
    func sizeWithoutQuotas(driver: StorageDriver) throws {
        // /tmp here is a file system without project quotas (or the test runs unprivileged).
        let work = try TemporaryDirectory("quota")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root", driver: driver)
        try #require(graph.projectQuotaUnsupportedReason != nil, "/tmp has project quotas")
        #expect(!FileSystem.exists(work.path + "/root/overlay2/" + ProjectQuota.deviceName))

        var base = TarBuilder()
        base.add("bin/", .directory, mode: 0o755)
        try base.write(to: work.path + "/base.tar")
        let layer = try graph.importLayer(fromFile: work.path + "/base.tar")
        let image = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: [layer.diffID])))
        let message =
            driver == .overlay2
            ? "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
            : "Filesystem does not support, or has not enabled quotas"
        #expect {
            try graph.createContainerLayer(
                id: "q1", imageID: image.id, options: StorageOptions(size: 1 << 20))
        } throws: { error in
            (error as? SwiftdError)?.kind == .invalidArgument
                && (error as? SwiftdError)?.message == message
        }
        #expect(graph.containerLayers().isEmpty)
        // A size of 0 sets no limit, so it needs no project quotas.
        try graph.createContainerLayer(id: "q2", imageID: image.id, options: StorageOptions(size: 0))
        try graph.removeContainerLayer(id: "q2")

        #expect {
            try Graph(
                root: work.path + "/other", driver: driver, options: StorageOptions(size: 1 << 30))
        } throws: { error in
            (error as? SwiftdError)?.kind == .invalidArgument
        }
    }
}
