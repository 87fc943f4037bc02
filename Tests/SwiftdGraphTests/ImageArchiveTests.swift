import Foundation
import SwiftdArchive
import SwiftdCrypto
import SwiftdGraph
import SwiftdSystem
import Testing

@Suite("Graph save and load", .enabled(if: isRoot, "imports layers with ownership"))
struct ImageArchiveTests {
    /// Creates a store with three images: `one` (base), `two:x` and `two:y` (base + top), and an
    /// untagged one (base, other config).
    static func makeStore(_ root: String, in work: TemporaryDirectory) throws -> (
        graph: Graph, ids: [String]
    ) {
        let graph = try Graph(root: root)
        var base = TarBuilder()
        base.add("etc/", .directory, mode: 0o755)
        base.add("etc/base", data: Array("base".utf8))
        try base.write(to: work.path + "/base.tar")
        var top = TarBuilder()
        top.add("top", data: Array(repeating: 7, count: 100_000))
        top.add("etc/.wh.base")
        try top.write(to: work.path + "/top.tar")
        let a = try graph.importLayer(fromFile: work.path + "/base.tar").diffID
        let b = try graph.importLayer(fromFile: work.path + "/top.tar").diffID
        let history = [ImageConfig.History(created: "2024-01-01T00:00:00Z", createdBy: "base")]
        let one = try graph.createImage(
            ImageConfig(
                created: "2024-01-01T00:00:00Z", rootfs: .init(diffIDs: [a]), history: history))
        let two = try graph.createImage(
            ImageConfig(
                created: "2024-01-02T00:00:00Z", config: .init(cmd: ["top"]),
                rootfs: .init(diffIDs: [a, b])))
        let three = try graph.createImage(
            ImageConfig(config: .init(env: ["X=1"]), rootfs: .init(diffIDs: [a])))
        try graph.tag(one.id, as: try Reference(parsing: "one"))
        try graph.tag(two.id, as: try Reference(parsing: "two:x"))
        try graph.tag(two.id, as: try Reference(parsing: "two:y"))
        return (graph, [one.id, two.id, three.id])
    }

    /// What must not change when a load fails.
    static func snapshot(_ graph: Graph, _ root: String) throws -> [String] {
        let images = graph.images().map { "\($0.id) \($0.repoTags)" }
        return images + graph.layers() + (try FileSystem.list(root + "/overlay2"))
            + (try FileSystem.list(root + "/image/content/sha256"))
            + [(try? FileSystem.readString(root + "/image/repositories.json")) ?? ""]
    }

    static func unpack(_ archive: String, into directory: String) throws {
        try FileSystem.createDirectory(directory, mode: 0o755)
        try run("/usr/bin/tar", ["-C", directory, "-xf", archive])
    }

    static func pack(_ directory: String, to archive: String) throws {
        try run("/usr/bin/tar", ["-C", directory, "-cf", archive, "."])
    }

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try FileSystem.read(path)))
    }

    static func writeJSON(_ value: Any, to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: value)
        try FileSystem.writeAtomically(path, Array(data), mode: 0o644)
    }

    @Test("save and load round trip")
    func roundTrip() throws {
        let work = try TemporaryDirectory("save")
        defer { work.remove() }
        let (graph, ids) = try Self.makeStore(work.path + "/a", in: work)
        let archive = work.path + "/images.tar"
        try graph.save(["one", "two", ids[2]], to: archive)

        // The layout is Docker 25's, and each layer blob is the exact tar of its diff ID.
        let unpacked = work.path + "/unpacked"
        try Self.unpack(archive, into: unpacked)
        for diffID in graph.layers() {
            let blob = unpacked + "/blobs/sha256/" + diffID.dropFirst(7)
            #expect(try sha256sum(blob) == diffID)
        }
        for name in ["oci-layout", "index.json", "manifest.json", "repositories"] {
            #expect(FileSystem.exists(unpacked + "/" + name))
        }
        let manifest = try #require(try Self.json(unpacked + "/manifest.json") as? [[String: Any]])
        #expect(manifest.count == 3)
        #expect(manifest[1]["RepoTags"] as? [String] == ["two:x", "two:y"])
        #expect(manifest[1]["Config"] as? String == "blobs/sha256/" + ids[1].dropFirst(7))
        let index = try #require(try Self.json(unpacked + "/index.json") as? [String: Any])
        #expect((index["manifests"] as? [Any])?.count == 4)

        let empty = try Graph(root: work.path + "/b")
        var lines: [String] = []
        let loaded = try empty.load(fromFile: archive) { lines.append($0) }
        #expect(loaded.map(\.id) == ids)
        #expect(
            lines == [
                "Loaded image: one:latest", "Loaded image: two:x", "Loaded image: two:y",
                "Loaded image ID: \(ids[2])",
            ])
        #expect(Set(empty.images().map(\.id)) == Set(ids))
        #expect(try empty.image("two:y").id == ids[1])
        #expect(try empty.image(ids[2]).repoTags.isEmpty)
        #expect(empty.layers() == graph.layers())
        let baseLayer = try empty.layerDirectory(try empty.image("one").diffIDs[0])
        #expect(try FileSystem.readString(baseLayer + "/etc/base") == "base")

        // Loading again changes nothing, and saving from the copy gives the same archive.
        let before = try Self.snapshot(empty, work.path + "/b")
        try empty.load(fromFile: archive)
        #expect(try Self.snapshot(empty, work.path + "/b") == before)
        try empty.save(["one", "two", ids[2]], to: work.path + "/again.tar")
        #expect(try sha256sum(work.path + "/again.tar") == (try sha256sum(archive)))

        // Streaming to a descriptor writes the same bytes.
        let fd = open(work.path + "/fd.tar", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        try graph.save(["one", "two", ids[2]], toDescriptor: fd)
        close(fd)
        #expect(try sha256sum(work.path + "/fd.tar") == (try sha256sum(archive)))
    }

    @Test("load of OCI and old layouts")
    func otherLayouts() throws {
        let work = try TemporaryDirectory("layouts")
        defer { work.remove() }
        let (graph, ids) = try Self.makeStore(work.path + "/a", in: work)
        let archive = work.path + "/two.tar"
        try graph.save(["two:x"], to: archive)
        let unpacked = work.path + "/oci"
        try Self.unpack(archive, into: unpacked)

        // OCI only: gzip the layers, rewrite the manifest and the index, drop manifest.json.
        let index = try #require(try Self.json(unpacked + "/index.json") as? [String: Any])
        let entry = try #require((index["manifests"] as? [[String: Any]])?.first)
        let manifestPath = unpacked + "/blobs/sha256/"
            + (try #require(entry["digest"] as? String)).dropFirst(7)
        var manifest = try #require(try Self.json(manifestPath) as? [String: Any])
        var layers: [[String: Any]] = []
        for var layer in try #require(manifest["layers"] as? [[String: Any]]) {
            let blob = unpacked + "/blobs/sha256/"
                + (try #require(layer["digest"] as? String)).dropFirst(7)
            try run("/bin/gzip", ["-n", blob])
            let digest = try sha256sum(blob + ".gz")
            try run("/bin/mv", [blob + ".gz", unpacked + "/blobs/sha256/" + digest.dropFirst(7)])
            layer["digest"] = digest
            layer["size"] = try FileSystem.read(unpacked + "/blobs/sha256/" + digest.dropFirst(7))
                .count
            layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
            layers.append(layer)
        }
        manifest["layers"] = layers
        try Self.writeJSON(manifest, to: work.path + "/manifest")
        let manifestDigest = try sha256sum(work.path + "/manifest")
        try run(
            "/bin/mv",
            [work.path + "/manifest", unpacked + "/blobs/sha256/" + manifestDigest.dropFirst(7)])
        var newEntry = entry
        newEntry["digest"] = manifestDigest
        newEntry["size"] = try FileSystem.read(
            unpacked + "/blobs/sha256/" + manifestDigest.dropFirst(7)
        ).count
        try Self.writeJSON(
            ["schemaVersion": 2, "manifests": [newEntry]], to: unpacked + "/index.json")
        try FileSystem.remove(unpacked + "/manifest.json")
        try FileSystem.remove(unpacked + "/repositories")
        try Self.pack(unpacked, to: work.path + "/oci.tar")

        let oci = try Graph(root: work.path + "/oci-root")
        var lines: [String] = []
        let loaded = try oci.load(fromFile: work.path + "/oci.tar") { lines.append($0) }
        #expect(loaded.map(\.id) == [ids[1]])
        #expect(lines == ["Loaded image: two:x"])
        #expect(oci.layers() == graph.layers())
        // The gzip blobs were stored uncompressed: saving gives the original layer tars.
        try oci.save(["two:x"], to: work.path + "/resaved.tar")
        #expect(try sha256sum(work.path + "/resaved.tar") == (try sha256sum(archive)))

        // Docker before 25: <hex>.json configs and <dir>/layer.tar, no OCI files.
        let old = work.path + "/old"
        try FileSystem.createDirectory(old, mode: 0o755)
        var names: [String] = []
        for (number, diffID) in try graph.image("two:x").diffIDs.enumerated() {
            let directory = old + "/layer\(number)"
            try FileSystem.createDirectory(directory, mode: 0o755)
            try run(
                "/bin/cp",
                [Self.savedBlob(work, archive, diffID), directory + "/layer.tar"])
            names.append("layer\(number)/layer.tar")
        }
        let configName = String(ids[1].dropFirst(7)) + ".json"
        try run("/bin/cp", [Self.savedBlob(work, archive, ids[1]), old + "/" + configName])
        try Self.writeJSON(
            [["Config": configName, "RepoTags": ["old:1"], "Layers": names]],
            to: old + "/manifest.json")
        try Self.pack(old, to: work.path + "/old.tar")
        let legacy = try Graph(root: work.path + "/old-root")
        #expect(try legacy.load(fromFile: work.path + "/old.tar").map(\.id) == [ids[1]])
        #expect(try legacy.image("old:1").id == ids[1])
    }

    static func savedBlob(_ work: TemporaryDirectory, _ archive: String, _ digest: String)
        throws -> String
    {
        let directory = work.path + "/saved"
        if !FileSystem.exists(directory) { try unpack(archive, into: directory) }
        return directory + "/blobs/sha256/" + digest.dropFirst(7)
    }

    @Test("load of tampered archives")
    func tampered() throws {
        let work = try TemporaryDirectory("tamper")
        defer { work.remove() }
        let (graph, _) = try Self.makeStore(work.path + "/a", in: work)
        let archive = work.path + "/good.tar"
        try graph.save(["one", "two:x"], to: archive)
        let diffIDs = try graph.image("two:x").diffIDs
        let configID = try graph.image("two:x").id

        // The target store already contains an image, which must survive every failure.
        let target = try Graph(root: work.path + "/b")
        var other = TarBuilder()
        other.add("other", data: [9])
        try other.write(to: work.path + "/other.tar")
        let layer = try target.importLayer(fromFile: work.path + "/other.tar").diffID
        let kept = try target.createImage(ImageConfig(rootfs: .init(diffIDs: [layer])))
        try target.tag(kept.id, as: try Reference(parsing: "kept"))
        let before = try Self.snapshot(target, work.path + "/b")

        var cases: [(String, String, (String) throws -> Void)] = []
        cases.append(("wrong layer bytes", "has diff ID", { directory in
            try run(
                "/bin/cp",
                [work.path + "/other.tar", directory + "/blobs/sha256/" + diffIDs[1].dropFirst(7)])
        }))
        cases.append(("missing layer", "is missing", { directory in
            try FileSystem.remove(directory + "/blobs/sha256/" + diffIDs[1].dropFirst(7))
        }))
        cases.append(("bad config JSON", "invalid image config", { directory in
            let path = directory + "/manifest.json"
            let text = try FileSystem.readString(path).replacingOccurrences(
                of: "blobs/sha256/" + configID.dropFirst(7), with: "bad.json")
            try FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o644)
            try FileSystem.writeAtomically(
                directory + "/bad.json", Array("{\"rootfs\":".utf8), mode: 0o644)
        }))
        cases.append(("config without architecture", "invalid image config: missing field architecture", { directory in
            let path = directory + "/manifest.json"
            let text = try FileSystem.readString(path).replacingOccurrences(
                of: "blobs/sha256/" + configID.dropFirst(7), with: "partial.json")
            try FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o644)
            let partial = #"{"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            try FileSystem.writeAtomically(directory + "/partial.json", Array(partial.utf8), mode: 0o644)
        }))
        cases.append(("config digest mismatch", "has digest", { directory in
            let path = directory + "/blobs/sha256/" + configID.dropFirst(7)
            var bytes = try FileSystem.read(path)
            bytes.insert(UInt8(ascii: " "), at: 1)
            try FileSystem.writeAtomically(path, bytes, mode: 0o644)
        }))
        cases.append(("manifest path leaving the archive", "bad path", { directory in
            let path = directory + "/manifest.json"
            let text = try FileSystem.readString(path).replacingOccurrences(
                of: "blobs/sha256/" + diffIDs[0].dropFirst(7), with: "../../../etc/passwd")
            try FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o644)
        }))

        for (number, (label, fragment, damage)) in cases.enumerated() {
            let directory = work.path + "/case\(number)"
            try Self.unpack(archive, into: directory)
            try damage(directory)
            try Self.pack(directory, to: directory + ".tar")
            var lines: [String] = []
            #expect(
                Comment(rawValue: label),
                performing: { try target.load(fromFile: directory + ".tar") { lines.append($0) } },
                throws: { error in
                    let classified = error as? ClassifiedError
                    return classified?.kind == .invalidArgument
                        && classified?.message.contains(fragment) == true
                })
            #expect(lines.isEmpty, Comment(rawValue: label))
            #expect(try Self.snapshot(target, work.path + "/b") == before, Comment(rawValue: label))
        }
        #expect(try target.image("kept").id == kept.id)
    }
}
