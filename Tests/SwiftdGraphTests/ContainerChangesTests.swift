import Foundation
import SwiftdArchive
import SwiftdGraph
import SwiftdSystem
import Testing

@Suite("Graph container changes", .enabled(if: isRoot, "mounts overlayfs"))
struct ContainerChangesTests {
    @Test("commit of a changed container", arguments: StorageDriver.allCases)
    func commitChangedContainer(driver: StorageDriver) throws {
        let work = try TemporaryDirectory("commit")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root", driver: driver)
        defer { graph.unmountAll() }
        var base = TarBuilder()
        base.add("etc/", .directory, mode: 0o755)
        base.add("etc/keep", data: Array("keep".utf8))
        base.add("etc/change", data: Array("old".utf8))
        base.add("etc/gone", data: Array("bye".utf8))
        base.add("data/", .directory, mode: 0o755)
        base.add("data/file", data: Array("data".utf8))
        try base.write(to: work.path + "/base.tar")
        let layer = try graph.importLayer(fromFile: work.path + "/base.tar")
        let image = try graph.createImage(
            ImageConfig(
                created: "2024-01-01T00:00:00Z", config: .init(cmd: ["sh"]),
                rootfs: .init(diffIDs: [layer.diffID]),
                history: [.init(created: "2024-01-01T00:00:00Z", createdBy: "ADD base")]))
        try graph.tag(image.id, as: try Reference(parsing: "base"))

        try graph.createContainerLayer(id: "c1", imageID: "base")
        defer { try? graph.removeContainerLayer(id: "c1") }
        let rootfs = try graph.mountContainer(id: "c1")
        #expect(try graph.changes(containerID: "c1").isEmpty)
        try FileSystem.write(rootfs + "/etc/change", "new")
        try FileSystem.write(rootfs + "/etc/added", "added")
        try FileSystem.remove(rootfs + "/etc/gone")
        #expect(
            try graph.changes(containerID: "c1").map(\.description) == [
                "C /etc", "A /etc/added", "C /etc/change", "D /etc/gone",
            ])

        // The committed layer contains exactly the changes, with the deleted file as a whiteout.
        let committed = try graph.commit(
            containerID: "c1", config: .init(cmd: ["echo"]), comment: "snapshot",
            author: "tester", createdBy: "sh")
        #expect(committed.diffIDs.count == 2)
        #expect(committed.diffIDs.first == layer.diffID)
        #expect(committed.config.config?.cmd == ["echo"])
        #expect(committed.config.author == "tester")
        let newLayer = try graph.layerDirectory(committed.diffIDs[1])
        #expect(try FileSystem.list(newLayer + "/etc") == ["added", "change", "gone"])
        #expect(try FileSystem.readString(newLayer + "/etc/change") == "new")
        var info = stat()
        #expect(lstat(newLayer + "/etc/gone", &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFCHR)

        try graph.createContainerLayer(id: "c2", imageID: committed.id)
        defer { try? graph.removeContainerLayer(id: "c2") }
        let copy = try graph.mountContainer(id: "c2")
        #expect(try FileSystem.readString(copy + "/etc/change") == "new")
        #expect(try FileSystem.readString(copy + "/etc/added") == "added")
        #expect(try FileSystem.readString(copy + "/etc/keep") == "keep")
        #expect(!FileSystem.exists(copy + "/etc/gone"))
        #expect(try graph.changes(containerID: "c2").isEmpty)

        // History, newest first.
        let history = try graph.history(committed.id)
        #expect(history.map(\.id) == [committed.id, "<missing>"])
        #expect(history.map(\.createdBy) == ["sh", "ADD base"])
        #expect(history[0].comment == "snapshot")
        #expect(history[1].created == 1_704_067_200)
        #expect(history[1].size == layer.size)
        #expect(history[0].size > 0)

        // Export of the mounted rootfs imports back to the same files.
        try graph.export(containerID: "c1", to: work.path + "/export.tar")
        let other = try Graph(root: work.path + "/other")
        let imported = try other.importLayer(fromFile: work.path + "/export.tar")
        try run(
            "/usr/bin/diff",
            ["-r", "--no-dereference", rootfs, try other.layerDirectory(imported.diffID)])
        try graph.unmountContainer(id: "c1")
        if driver == .overlay2 {
            #expect {
                try graph.export(containerID: "c1", to: work.path + "/again.tar")
            } throws: { error in
                (error as? SwiftdError)?.kind == .conflict
            }
        } else {
            // A vfs rootfs is a plain directory, readable whether "mounted" or not.
            try graph.export(containerID: "c1", to: work.path + "/again.tar")
        }

        // Disk usage: both containers, the shared base layer.
        let usage = try graph.diskUsage()
        #expect(usage.layersSize == layer.size + history[0].size)
        #expect(usage.containers.map(\.id) == ["c1", "c2"])
        #expect(usage.containers[0].sizeRw == Int64("new".count + "added".count))
        #expect(usage.containers[1].sizeRw == 0)
        let baseUsage = try #require(usage.images.first { $0.id == image.id })
        #expect(baseUsage.sharedSize == layer.size)
        #expect(baseUsage.containers == 1)

        // Untag leaves a dangling image; prune removes it only when no container uses it.
        try graph.tag(committed.id, as: try Reference(parsing: "snap:1"))
        try graph.untag("snap:1")
        #expect(try graph.image(committed.id).repoTags.isEmpty)
        #expect(throws: SwiftdError.self) { try graph.untag("snap:1") }
        let nothing = try graph.pruneImages()
        #expect(nothing.deleted.isEmpty)
        #expect(nothing.spaceReclaimed == 0)
        try graph.unmountContainer(id: "c2")
        try graph.removeContainerLayer(id: "c2")
        let report = try graph.pruneImages()
        #expect(report.deleted.first == "Deleted: \(committed.id)")
        #expect(report.spaceReclaimed == history[0].size)
        #expect(graph.images().map(\.id) == [image.id])
        #expect(graph.layers() == [layer.diffID])
    }

    @Test("changes of a replaced directory", arguments: StorageDriver.allCases)
    func replacedDirectories(driver: StorageDriver) throws {
        let work = try TemporaryDirectory("opaque")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root", driver: driver)
        defer { graph.unmountAll() }
        var base = TarBuilder()
        base.add("dir/", .directory, mode: 0o755)
        base.add("dir/old", data: [1])
        try base.write(to: work.path + "/base.tar")
        let layer = try graph.importLayer(fromFile: work.path + "/base.tar")
        let image = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: [layer.diffID])))
        try graph.createContainerLayer(id: "o1", imageID: image.id)
        defer { try? graph.removeContainerLayer(id: "o1") }
        let rootfs = try graph.mountContainer(id: "o1")
        // Replacing a directory makes overlayfs mark the new one opaque.
        try FileSystem.removeTree(rootfs + "/dir")
        try FileSystem.createDirectory(rootfs + "/dir", mode: 0o755)
        try FileSystem.write(rootfs + "/dir/new", "n")
        if driver == .overlay2 {
            #expect(TarArchive.isOpaqueDirectory(work.path + "/root/overlay2/o1/diff/dir"))
            #expect(
                try graph.changes(containerID: "o1").map(\.description) == ["D /dir", "A /dir/new"])
        } else {
            // Compared file by file, the directory is changed rather than replaced.
            #expect(
                try graph.changes(containerID: "o1").map(\.description) == [
                    "C /dir", "A /dir/new", "D /dir/old",
                ])
        }

        // Committed and mounted again, the old file stays hidden.
        let committed = try graph.commit(containerID: "o1")
        try graph.createContainerLayer(id: "o2", imageID: committed.id)
        defer { try? graph.removeContainerLayer(id: "o2") }
        let copy = try graph.mountContainer(id: "o2")
        #expect(try FileSystem.list(copy + "/dir") == ["new"])
    }

    @Test("init layer outside diff and commit", arguments: StorageDriver.allCases)
    func initLayer(driver: StorageDriver) throws {
        let work = try TemporaryDirectory("init-layer")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root", driver: driver)
        defer { graph.unmountAll() }
        var base = TarBuilder()
        base.add("bin/", .directory, mode: 0o755)
        base.add("bin/tool", data: [1], mode: 0o755)
        try base.write(to: work.path + "/base.tar")
        let layer = try graph.importLayer(fromFile: work.path + "/base.tar")
        let image = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: [layer.diffID])))
        try graph.createContainerLayer(id: "i1", imageID: image.id)
        defer { try? graph.removeContainerLayer(id: "i1") }
        let rootfs = try graph.mountContainer(id: "i1")

        for directory in ["/dev/pts", "/dev/shm", "/proc", "/sys"] {
            #expect(FileSystem.isDirectory(rootfs + directory), "\(directory) is no directory")
        }
        let files = ["/.dockerenv", "/dev/console", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
        for file in files {
            var info = stat()
            #expect(lstat(rootfs + file, &info) == 0, "\(file) is missing")
            #expect((info.st_mode & S_IFMT) == S_IFREG, "\(file) is no regular file")
            #expect(info.st_size == 0, "\(file) is not empty")
        }
        let mtab = try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/etc/mtab")
        #expect(mtab == "/proc/mounts")
        #expect(try graph.changes(containerID: "i1").isEmpty)

        // A new file beside the init layer's files is the only change, and all a commit keeps.
        try FileSystem.write(rootfs + "/etc/motd", "hello")
        #expect(
            try graph.changes(containerID: "i1").map(\.description) == ["C /etc", "A /etc/motd"])
        let committed = try graph.commit(containerID: "i1")
        let newLayer = try graph.layerDirectory(committed.diffIDs[1])
        #expect(try FileSystem.list(newLayer) == ["etc"])
        #expect(try FileSystem.list(newLayer + "/etc") == ["motd"])

        // Export writes the merged view, init layer included, as docker export does.
        try graph.export(containerID: "i1", to: work.path + "/export.tar")
        let names = Set(
            try run("/usr/bin/tar", ["-tf", work.path + "/export.tar"])
                .split(separator: "\n")
                .map { line in
                    var name = Substring(line)
                    if name.hasPrefix("./") { name = name.dropFirst(2) }
                    if name.hasSuffix("/") { name = name.dropLast() }
                    return String(name)
                })
        for entry in files + ["/dev/pts", "/dev/shm", "/proc", "/sys", "/etc/mtab", "/etc/motd"] {
            #expect(names.contains(String(entry.dropFirst())), "\(entry) is not exported")
        }
    }
}
