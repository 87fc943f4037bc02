import SwiftdGraph
import SwiftdSystem
import Testing

/// Whether Debian's skopeo is installed (`apt-get install skopeo`).
let hasSkopeo = FileSystem.exists("/usr/bin/skopeo")

@Suite(
    "Graph archives through skopeo",
    .enabled(if: isRoot, "imports layers with ownership"),
    .enabled(if: hasSkopeo, "needs /usr/bin/skopeo"))
struct SkopeoTests {
    @Test("skopeo copies of a saved archive")
    func skopeoRoundTrips() throws {
        let work = try TemporaryDirectory("skopeo")
        defer { work.remove() }
        let (graph, ids) = try ImageArchiveTests.makeStore(work.path + "/a", in: work)
        let saved = work.path + "/saved.tar"
        try graph.save(["two:x"], to: saved)

        // docker-archive to oci-archive, to dir and back to docker-archive.
        let copies: [(String, String)] = [
            ("docker-archive:" + saved, "oci-archive:" + work.path + "/oci.tar:two:x"),
            ("docker-archive:" + saved, "dir:" + work.path + "/dir"),
            ("dir:" + work.path + "/dir", "docker-archive:" + work.path + "/docker.tar:two:x"),
        ]
        for (source, destination) in copies {
            try run("/usr/bin/skopeo", ["--insecure-policy", "copy", "-q", source, destination])
        }
        for name in ["oci.tar", "docker.tar"] {
            let store = try Graph(root: work.path + "/root-" + name)
            var lines: [String] = []
            let loaded = try store.load(fromFile: work.path + "/" + name) { lines.append($0) }
            // Converting to OCI makes skopeo re-encode the config, which changes the image ID
            // but keeps the layers.
            if name == "docker.tar" {
                #expect(loaded.map(\.id) == [ids[1]], Comment(rawValue: name))
            }
            #expect(loaded.map(\.diffIDs) == [try graph.image(ids[1]).diffIDs])
            #expect(lines == ["Loaded image: two:x"], Comment(rawValue: name))
            #expect(store.layers() == graph.layers(), Comment(rawValue: name))
        }
    }
}
