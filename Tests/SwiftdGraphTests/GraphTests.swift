import SwiftdArchive
import SwiftdGraph
import SwiftdSystem
import Testing

@Suite("Graph", .enabled(if: isRoot, "imports layers with ownership and mounts overlayfs"))
struct GraphTests {
    /// A busybox rootfs tar (bin/busybox from busybox-static plus applet symlinks).
    static func makeBusyboxTar(in work: TemporaryDirectory) throws -> String {
        let tree = work.path + "/tree"
        try FileSystem.createDirectory(tree + "/bin", mode: 0o755)
        try FileSystem.createDirectory(tree + "/tmp", mode: 0o755)
        try run("/bin/cp", ["/bin/busybox", tree + "/bin/busybox"])
        for applet in ["sh", "ls", "cat", "echo"] {
            try run("/bin/ln", ["-s", "busybox", tree + "/bin/" + applet])
        }
        let tar = work.path + "/busybox.tar"
        try run("/usr/bin/tar", ["-C", tree, "-cf", tar, "."])
        return tar
    }

    @Test("imports busybox, tags it, finds it and mounts a container layer")
    func importTagMount() throws {
        let work = try TemporaryDirectory("graph")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root")
        defer { graph.unmountAll() }
        let tar = try Self.makeBusyboxTar(in: work)
        let expected = try sha256sum(tar)

        let layer = try graph.importLayer(fromFile: tar)
        #expect(layer.diffID == expected)
        try run("/bin/gzip", ["-k", tar])
        let again = try graph.importLayer(fromFile: tar + ".gz")
        #expect(again.diffID == expected)
        #expect(graph.layers() == [expected])

        let config = ImageConfig(
            created: "2024-01-01T00:00:00Z", config: .init(cmd: ["sh"]),
            rootfs: .init(diffIDs: [layer.diffID]))
        let image = try graph.createImage(config)
        #expect(image.size == layer.size)
        try graph.tag(image.id, as: try Reference(parsing: "busybox"))
        #expect(try graph.image("busybox").id == image.id)
        #expect(try graph.image("busybox:latest").repoTags == ["busybox:latest"])
        #expect(try graph.image(image.id).id == image.id)
        #expect(try graph.image(String(image.id.dropFirst(7))).id == image.id)
        #expect(try graph.image(String(image.id.dropFirst(7).prefix(12))).id == image.id)
        #expect {
            try graph.image("nothere")
        } throws: { error in
            (error as? SwiftdError)?.kind == .notFound
                && (error as? SwiftdError)?.message == "No such image: nothere"
        }

        // Reopening the store finds the same image and tag.
        #expect(try Graph(root: work.path + "/root").image("busybox").id == image.id)

        try graph.createContainerLayer(id: "c1", imageID: "busybox")
        let rootfs = try graph.mountContainer(id: "c1")
        #expect(try graph.mountContainer(id: "c1") == rootfs)
        #expect(FileSystem.exists(rootfs + "/bin/busybox"))
        try FileSystem.writeAtomically(rootfs + "/tmp/hello", Array("hi".utf8))
        #expect(try FileSystem.readString(work.path + "/root/overlay2/c1/diff/tmp/hello") == "hi")
        #expect(!FileSystem.exists(try graph.layerDirectory(layer.diffID) + "/tmp/hello"))
        #expect(throws: SwiftdError.self) { try graph.deleteImage(image.id) }
        try graph.unmountContainer(id: "c1")
        #expect(!FileSystem.exists(rootfs + "/bin/busybox"))
        try graph.removeContainerLayer(id: "c1")

        let report = try graph.deleteImage("busybox")
        #expect(
            report == [
                "Untagged: busybox:latest", "Deleted: \(image.id)", "Deleted: \(expected)",
            ])
        #expect(graph.layers().isEmpty)
        #expect(graph.images().isEmpty)
        #expect(try FileSystem.list(work.path + "/root/overlay2") == ["l"])
        #expect(try FileSystem.list(work.path + "/root/overlay2/l").isEmpty)
    }

    @Test("keeps a layer shared by two images until the last goes")
    func sharedLayers() throws {
        let work = try TemporaryDirectory("shared")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root")
        var base = TarBuilder()
        base.add("base", data: [1])
        try base.write(to: work.path + "/base.tar")
        var top = TarBuilder()
        top.add("top", data: [2])
        try top.write(to: work.path + "/top.tar")
        let a = try graph.importLayer(fromFile: work.path + "/base.tar").diffID
        let b = try graph.importLayer(fromFile: work.path + "/top.tar").diffID
        let one = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: [a])))
        let two = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: [a, b])))
        try graph.tag(one.id, as: try Reference(parsing: "one"))
        try graph.tag(two.id, as: try Reference(parsing: "two:x"))
        try graph.tag(two.id, as: try Reference(parsing: "two:y"))

        #expect(try graph.deleteImage("two:x") == ["Untagged: two:x"])
        #expect(try graph.deleteImage(two.id).contains("Deleted: \(two.id)"))
        #expect(graph.layers() == [a])
        _ = try graph.deleteImage("one")
        #expect(graph.layers().isEmpty)
    }

    @Test("rejects bad archives, store unchanged")
    func rejectsBadArchives() throws {
        let work = try TemporaryDirectory("bad")
        defer { work.remove() }
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        let graph = try Graph(root: work.path + "/root")
        var hostile = TarBuilder()
        hostile.add("ok", data: [1])
        hostile.add("evil", .symlink, link: outside.path)
        hostile.add("evil/file", data: [1])
        try hostile.write(to: work.path + "/hostile.tar")
        #expect {
            try graph.importLayer(fromFile: work.path + "/hostile.tar")
        } throws: { error in
            (error as? ArchiveError)?.kind == .invalidArgument
                && (error as? ArchiveError)?.entry == "evil/file"
        }
        #expect(!FileSystem.exists(outside.path + "/file"))

        let tar = try Self.makeBusyboxTar(in: work)
        let bytes = try FileSystem.read(tar)
        try FileSystem.writeAtomically(
            work.path + "/short.tar", Array(bytes.prefix(bytes.count / 2)))
        #expect(throws: ArchiveError.self) {
            try graph.importLayer(fromFile: work.path + "/short.tar")
        }
        try FileSystem.writeAtomically(work.path + "/junk.tar", Array("not a tar".utf8))
        #expect(throws: ArchiveError.self) {
            try graph.importLayer(fromFile: work.path + "/junk.tar")
        }
        #expect(graph.layers().isEmpty)
        #expect(try FileSystem.list(work.path + "/root/overlay2") == ["l"])
        #expect(try FileSystem.list(work.path + "/root/layers/sha256").isEmpty)
    }

    @Test("mounts an image with 40 layers")
    func mountsDeepImage() throws {
        let work = try TemporaryDirectory("deep")
        defer { work.remove() }
        let graph = try Graph(root: work.path + "/root")
        defer { graph.unmountAll() }
        var diffIDs: [String] = []
        for index in 0..<40 {
            var tar = TarBuilder()
            tar.add("layer-\(index)", data: Array("\(index)".utf8))
            try tar.write(to: work.path + "/\(index).tar")
            diffIDs.append(try graph.importLayer(fromFile: work.path + "/\(index).tar").diffID)
        }
        let image = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: diffIDs)))
        try graph.createContainerLayer(id: "deep", imageID: image.id)
        let rootfs = try graph.mountContainer(id: "deep")
        defer { try? graph.removeContainerLayer(id: "deep") }
        for index in 0..<40 {
            #expect(try FileSystem.readString(rootfs + "/layer-\(index)") == "\(index)")
        }
        try graph.unmountContainer(id: "deep")
    }
}
