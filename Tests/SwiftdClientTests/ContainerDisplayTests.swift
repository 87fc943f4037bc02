import Testing

@testable import SwiftdAPI
@testable import SwiftdClient

@Suite("ps columns")
struct ContainerDisplayTests {
    private func port(_ privatePort: Int, _ publicPort: Int? = nil, ip: String? = nil, type: String = "tcp")
        -> ContainerSummary.Port
    {
        ContainerSummary.Port(IP: ip, PrivatePort: privatePort, PublicPort: publicPort, Type: type)
    }

    @Test("exposed ports join into ranges")
    func exposedRanges() {
        #expect(formatPorts([port(82), port(80), port(81), port(90)]) == "80-82/tcp, 90/tcp")
        #expect(formatPorts([port(53, type: "udp"), port(53)]) == "53/tcp, 53/udp")
    }

    @Test("same host port joins, another host port is listed alone")
    func publishedPorts() {
        let same = [port(80, 80, ip: "0.0.0.0"), port(81, 81, ip: "0.0.0.0")]
        #expect(formatPorts(same) == "0.0.0.0:80-81->80-81/tcp")
        let moved = [port(91, 18091, ip: "0.0.0.0"), port(90, 18090, ip: "0.0.0.0"), port(22)]
        #expect(formatPorts(moved) == "22/tcp, 0.0.0.0:18090->90/tcp, 0.0.0.0:18091->91/tcp")
        #expect(formatPorts([port(80, 8080, ip: "::1")]) == "[::1]:8080->80/tcp")
    }

    @Test("image IDs are shortened, names kept")
    func images() {
        var container = ContainerSummary(
            Id: "c", Names: ["/c"], Image: "sha256:" + String(repeating: "ab", count: 32), ImageID: "",
            Command: "", Created: 0, State: "created", Status: "Created", Labels: [:], NetworkMode: "default",
            NetworkSettings: NetworkSettingsSummary(Networks: [:]))
        #expect(displayedImage(container, truncate: true) == String(repeating: "ab", count: 6))
        #expect(displayedImage(container, truncate: false) == container.Image)
        container.Image = "busybox:1"
        #expect(displayedImage(container, truncate: true) == "busybox:1")
    }
}
