import Foundation
import Testing

/// `GET /distribution/{name}/json` against Debian's docker-registry on loopback.
@Suite(
    "registry distribution inspect", .serialized,
    .enabled(if: DaemonHarness.isRoot, "needs root to start the daemon"),
    .enabled(if: RegistryHarness.isAvailable, "needs docker-registry and skopeo"))
struct RegistryDistributionTests {
    /// Sends the request and returns the status line and the decoded JSON body.
    func inspect(_ daemon: DaemonHarness, _ name: String) throws -> (String, [String: Any]) {
        let response = try RawAPI.request(daemon.socket, "GET", "/distribution/\(name)/json")
        let head = response.components(separatedBy: "\r\n").first ?? ""
        let start = try #require(response.range(of: "\r\n\r\n"))
        let body = Data(response[start.upperBound...].utf8)
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        return (head, object)
    }

    @Test("manifest and index descriptors")
    func descriptors() throws {
        try DaemonHarness.withDaemon { daemon in
            let registry = try RegistryHarness(directory: daemon.work)
            defer { registry.stop() }
            let name = "\(registry.host)/e2e/inspected"
            #expect(try daemon.client(["tag", "busybox", "\(name):v1"]).status == 0)
            let pushed = try daemon.client(["push", "\(name):v1"])
            #expect(pushed.status == 0, "\(pushed.stderr)")
            // "v1: digest: sha256:… size: N"
            let digestLine = try #require(
                pushed.stdout.split(separator: "\n").first { $0.hasPrefix("v1: digest: ") })
            let words = digestLine.split(separator: " ")
            let digest = String(words[2])
            let size = Int(words[4]) ?? -1
            let image = try daemon.client(["inspect", "--format", "{{.Os}} {{.Architecture}}", "busybox"])
            let platform = image.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                .split(separator: " ").map(String.init)

            let (status, single) = try inspect(daemon, "\(name):v1")
            #expect(status == "HTTP/1.1 200 OK", "\(single)")
            let descriptor = single["Descriptor"] as? [String: Any] ?? [:]
            #expect(descriptor["digest"] as? String == digest)
            #expect(descriptor["size"] as? Int == size)
            #expect(
                descriptor["mediaType"] as? String
                    == "application/vnd.docker.distribution.manifest.v2+json")
            let platforms = single["Platforms"] as? [[String: Any]] ?? []
            #expect(platforms.count == 1, "\(single)")
            #expect(platforms.first?["os"] as? String == platform.first)
            #expect(platforms.first?["architecture"] as? String == platform.last)

            // A manifest list naming the pushed manifest for two platforms.
            let list = """
                {"schemaVersion":2,\
                "mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",\
                "manifests":[\
                {"mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
                "digest":"\(digest)","size":\(size),\
                "platform":{"architecture":"amd64","os":"linux"}},\
                {"mediaType":"application/vnd.docker.distribution.manifest.v2+json",\
                "digest":"\(digest)","size":\(size),\
                "platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}
                """
            let listFile = daemon.work + "/list.json"
            try Data(list.utf8).write(to: URL(fileURLWithPath: listFile))
            let put = try DaemonHarness.capture(
                "/usr/bin/curl",
                [
                    "-sf", "-X", "PUT", "-H",
                    "Content-Type: application/vnd.docker.distribution.manifest.list.v2+json",
                    "--data-binary", "@" + listFile,
                    "http://\(registry.host)/v2/e2e/inspected/manifests/multi",
                ])
            #expect(put.status == 0, "\(put.stderr)")
            let listDigest = try DaemonHarness.capture("/usr/bin/sha256sum", [listFile]).stdout
                .split(separator: " ").first.map { "sha256:\($0)" }

            let (listStatus, multi) = try inspect(daemon, "\(name):multi")
            #expect(listStatus == "HTTP/1.1 200 OK", "\(multi)")
            let listDescriptor = multi["Descriptor"] as? [String: Any] ?? [:]
            #expect(listDescriptor["digest"] as? String == listDigest)
            #expect(listDescriptor["size"] as? Int == list.utf8.count)
            #expect(
                listDescriptor["mediaType"] as? String
                    == "application/vnd.docker.distribution.manifest.list.v2+json")
            let listPlatforms = (multi["Platforms"] as? [[String: Any]] ?? []).map {
                [$0["os"], $0["architecture"], $0["variant"]].compactMap { $0 as? String }
                    .joined(separator: "/")
            }
            #expect(listPlatforms == ["linux/amd64", "linux/arm64/v8"])

            // By digest, the same descriptor.
            let (digestStatus, byDigest) = try inspect(daemon, "\(name)@\(digest)")
            #expect(digestStatus == "HTTP/1.1 200 OK", "\(byDigest)")
            #expect((byDigest["Descriptor"] as? [String: Any])?["digest"] as? String == digest)
        }
    }

    @Test("missing tag and bad reference")
    func errors() throws {
        try DaemonHarness.withDaemon { daemon in
            let registry = try RegistryHarness(directory: daemon.work)
            defer { registry.stop() }
            let name = "\(registry.host)/e2e/present"
            #expect(try daemon.client(["tag", "busybox", "\(name):v1"]).status == 0)
            #expect(try daemon.client(["push", "\(name):v1"]).status == 0)

            let (missingTag, tagBody) = try inspect(daemon, "\(name):absent")
            #expect(missingTag.hasPrefix("HTTP/1.1 404"), "\(tagBody)")
            #expect((tagBody["message"] as? String ?? "").contains("404"), "\(tagBody)")
            let (missingRepository, _) = try inspect(daemon, "\(registry.host)/e2e/absent:v1")
            #expect(missingRepository.hasPrefix("HTTP/1.1 404"))
            let (badReference, badBody) = try inspect(daemon, "\(registry.host)/Upper/Case")
            #expect(badReference.hasPrefix("HTTP/1.1 400"), "\(badBody)")
            #expect((badBody["message"] as? String ?? "").contains("invalid reference format"))
        }
    }
}
