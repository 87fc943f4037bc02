import Foundation
import SwiftdCrypto
import SwiftdGraph
import Testing

@Suite("ImageConfig")
struct ImageConfigTests {
    static let dockerJSON = """
        {"architecture":"amd64","config":{"Env":["PATH=/usr/bin:/bin"],"Cmd":["sh"],\
        "Entrypoint":null,"WorkingDir":"/w","User":"1000","Labels":{"a":"b"},\
        "ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"StopSignal":"SIGTERM"},\
        "created":"2024-01-02T03:04:05Z","history":[{"created":"2024-01-02T03:04:05Z",\
        "created_by":"ADD file","comment":"c"},{"created_by":"CMD [\\"sh\\"]","empty_layer":true}],\
        "os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:\(String(repeating: "1", count: 64))"]}}
        """

    @Test("decodes Docker's keys and encodes them back")
    func roundTrip() throws {
        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(Self.dockerJSON.utf8))
        #expect(config.architecture == "amd64")
        #expect(config.os == "linux")
        #expect(config.config?.env == ["PATH=/usr/bin:/bin"])
        #expect(config.config?.cmd == ["sh"])
        #expect(config.config?.entrypoint == nil)
        #expect(config.config?.workingDir == "/w")
        #expect(config.config?.exposedPorts == ["80/tcp": EmptyObject()])
        #expect(config.rootfs.diffIDs == ["sha256:" + String(repeating: "1", count: 64)])
        #expect(config.history?[1].emptyLayer == true)
        #expect(config.history?[0].createdBy == "ADD file")

        let encoded = try JSONEncoder().encode(config)
        let object = try #require(
            try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["architecture"] as? String == "amd64")
        let inner = try #require(object["config"] as? [String: Any])
        #expect(inner["Env"] as? [String] == ["PATH=/usr/bin:/bin"])
        #expect(inner["WorkingDir"] as? String == "/w")
        #expect((inner["ExposedPorts"] as? [String: Any])?["80/tcp"] != nil)
        let rootfs = try #require(object["rootfs"] as? [String: Any])
        #expect(rootfs["type"] as? String == "layers")
        #expect((rootfs["diff_ids"] as? [String])?.count == 1)
        let history = try #require(object["history"] as? [[String: Any]])
        #expect(history[0]["created_by"] as? String == "ADD file")
        #expect(history[1]["empty_layer"] as? Bool == true)
        #expect(try JSONDecoder().decode(ImageConfig.self, from: encoded) == config)
    }

    @Test("computes chain IDs as the OCI image spec defines them")
    func chainIDs() {
        let a = "sha256:" + String(repeating: "a", count: 64)
        let b = "sha256:" + String(repeating: "b", count: 64)
        let c = "sha256:" + String(repeating: "c", count: 64)
        let chains = ChainID.chainIDs([a, b, c])
        let second = "sha256:" + SHA256.hash(a + " " + b)
        #expect(chains == [a, second, "sha256:" + SHA256.hash(second + " " + c)])
        #expect(ChainID.chainIDs([]) == [])
    }
}
