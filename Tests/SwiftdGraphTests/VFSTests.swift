import Foundation
import SwiftdGraph
import SwiftdSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("vfs driver", .enabled(if: isRoot, "creates device nodes, owners and overlay mounts"))
struct VFSTests {
    /// Lists every path under `root` with its type, mode, owner, size, mtime, device, link
    /// target, link count (not for directories) and user extended attributes, one line each.
    static let describeTree = """
        import os, sys
        root = sys.argv[1]
        for base, dirs, files in os.walk(root):
            for name in sorted(dirs + files):
                path = os.path.join(base, name)
                st = os.lstat(path)
                target = os.readlink(path) if os.path.islink(path) else ""
                try:
                    attrs = sorted((a, os.getxattr(path, a, follow_symlinks=False))
                                   for a in os.listxattr(path, follow_symlinks=False)
                                   if a.startswith("user."))
                except OSError:
                    attrs = []
                # overlayfs reports its own size and link count for merged directories.
                directory = os.path.isdir(path) and not os.path.islink(path)
                size, links = (0, 0) if directory else (st.st_size, st.st_nlink)
                print(os.path.relpath(path, root), oct(st.st_mode), st.st_uid, st.st_gid, size,
                      st.st_mtime_ns, st.st_rdev, target, links, attrs)
        """

    @Test("copy matches overlay view")
    func copyMatchesOverlay() throws {
        let work = try TemporaryDirectory("vfs")
        defer { work.remove() }
        let layers = try Self.makeLayers(in: work.path)

        var trees: [String] = []
        for driver in StorageDriver.allCases {
            let graph = try Graph(root: work.path + "/\(driver.rawValue)", driver: driver)
            defer { graph.unmountAll() }
            var diffIDs: [String] = []
            for layer in layers { diffIDs.append(try graph.importLayer(fromFile: layer).diffID) }
            let image = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: diffIDs)))
            try graph.createContainerLayer(id: "view", imageID: image.id)
            let rootfs = try graph.mountContainer(id: "view")
            trees.append(try run("/usr/bin/python3", ["-c", Self.describeTree, rootfs]))
            #expect(try graph.changes(containerID: "view").isEmpty)
            try graph.removeContainerLayer(id: "view")
        }
        // Each container's init layer has its own mtimes.
        let initLayerRoots: Set = [".dockerenv", "dev", "etc", "proc", "sys"]
        let imageTrees = trees.map { tree in
            tree.split(separator: "\n").filter { line in
                let path = line.prefix { $0 != " " }
                return !initLayerRoots.contains(String(path.prefix { $0 != "/" }))
            }
        }
        #expect(imageTrees[0] == imageTrees[1])
        #expect(trees[1].contains("etc/resolv.conf "))
        // The top layer's whiteout and opaque directory took effect.
        #expect(trees[1].contains("a/keep "))
        #expect(!trees[1].contains("a/gone "))
        #expect(!trees[1].contains("a/sub/old "))
        #expect(trees[1].contains("a/sub/new "))
        #expect(trees[1].contains("user.note"))
    }

    @Test("vfs commit keeps owners and links")
    func commitKeepsMetadata() throws {
        let work = try TemporaryDirectory("vfs-commit")
        defer { work.remove() }
        let layers = try Self.makeLayers(in: work.path)
        let graph = try Graph(root: work.path + "/root", driver: .vfs)
        var diffIDs: [String] = []
        for layer in layers { diffIDs.append(try graph.importLayer(fromFile: layer).diffID) }
        let image = try graph.createImage(ImageConfig(rootfs: .init(diffIDs: diffIDs)))
        try graph.createContainerLayer(id: "c1", imageID: image.id)
        defer { try? graph.removeContainerLayer(id: "c1") }
        let rootfs = try graph.mountContainer(id: "c1")

        try FileSystem.write(rootfs + "/a/added", "added")
        #expect(chown(rootfs + "/a/added", 1234, 5678) == 0)
        try FileSystem.remove(rootfs + "/a/keep")
        try FileSystem.removeTree(rootfs + "/a/sub")
        #expect(
            try graph.changes(containerID: "c1").map(\.description) == [
                "C /a", "A /a/added", "D /a/keep", "D /a/sub",
            ])

        let committed = try graph.commit(containerID: "c1")
        try graph.createContainerLayer(id: "c2", imageID: committed.id)
        defer { try? graph.removeContainerLayer(id: "c2") }
        let copy = try graph.mountContainer(id: "c2")
        #expect(try graph.changes(containerID: "c2").isEmpty)
        #expect(try FileSystem.readString(copy + "/a/added") == "added")
        var info = stat()
        #expect(lstat(copy + "/a/added", &info) == 0)
        #expect(info.st_uid == 1234)
        #expect(info.st_gid == 5678)
        #expect(!FileSystem.exists(copy + "/a/keep"))
        #expect(!FileSystem.exists(copy + "/a/sub"))
        // The two names of one file in the image are still one inode.
        var first = stat()
        var second = stat()
        #expect(lstat(copy + "/hard1", &first) == 0)
        #expect(lstat(copy + "/hard2", &second) == 0)
        #expect(first.st_ino == second.st_ino)
        #expect(try graph.diskUsage().containers.first { $0.id == "c1" }?.sizeRw == 5)
    }

    /// Makes two layer tars with GNU tar. The base has owners, modes, a set-user-ID file, hard
    /// and symbolic links, a FIFO and an extended attribute. The top layer has a whiteout, an
    /// opaque directory and a file that replaces a directory.
    static func makeLayers(in work: String) throws -> [String] {
        let base = work + "/base"
        let top = work + "/top"
        let script = """
            set -e
            mkdir -p \(base)/a/sub \(base)/dir-to-file \(top)/a/sub
            echo keep > \(base)/a/keep; echo gone > \(base)/a/gone; echo old > \(base)/a/sub/old
            echo one > \(base)/dir-to-file/child
            echo hard > \(base)/hard1; ln \(base)/hard1 \(base)/hard2
            ln -s a/keep \(base)/link; mkfifo \(base)/fifo
            echo suid > \(base)/suid; chown 1000:1000 \(base)/suid; chmod 4755 \(base)/suid
            chmod 0750 \(base)/a; setfattr -n user.note -v hello \(base)/a/keep 2>/dev/null \
                || python3 -c 'import os; os.setxattr("\(base)/a/keep", "user.note", b"hello")'
            touch -d @1700000000 \(base)/a/keep \(base)/a \(base)
            : > \(top)/a/.wh.gone; : > \(top)/a/sub/.wh..wh..opq; echo new > \(top)/a/sub/new
            echo file > \(top)/dir-to-file
            tar --xattrs --xattrs-include='user.*' -C \(base) -cf \(work)/base.tar .
            tar -C \(top) -cf \(work)/top.tar .
            """
        try run("/bin/sh", ["-c", script])
        return [work + "/base.tar", work + "/top.tar"]
    }
}
