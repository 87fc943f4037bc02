import SwiftdGraph
import SwiftdSystem
import Testing

@Suite("--change instructions")
struct ConfigChangesTests {
    @Test("CMD and ENTRYPOINT forms")
    func commands() throws {
        var config = ImageConfig.ContainerConfig()
        try config.apply(changes: [#"CMD ["sh", "-c", "echo hi"]"#, "ENTRYPOINT /bin/env -i"])
        #expect(config.cmd == ["sh", "-c", "echo hi"])
        #expect(config.entrypoint == ["/bin/sh", "-c", "/bin/env -i"])
    }

    @Test("ENV and LABEL pairs")
    func keyValues() throws {
        var config = ImageConfig.ContainerConfig(env: ["PATH=/bin", "A=old"])
        try config.apply(changes: [
            #"ENV A=new B="two words" C=c\ d"#, "ENV D spaced value", "LABEL team=core 'x y'=z",
        ])
        #expect(config.env == ["PATH=/bin", "A=new", "B=two words", "C=c d", "D=spaced value"])
        #expect(config.labels == ["team": "core", "x y": "z"])
    }

    @Test("EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL")
    func others() throws {
        var config = ImageConfig.ContainerConfig()
        try config.apply(changes: [
            "EXPOSE 80 53/udp", #"VOLUME ["/data", "/logs"]"#, "VOLUME /cache", "user nobody",
            "WORKDIR /srv", "STOPSIGNAL SIGINT",
        ])
        #expect(config.exposedPorts?.keys.sorted() == ["53/udp", "80/tcp"])
        #expect(config.volumes?.keys.sorted() == ["/cache", "/data", "/logs"])
        #expect(config.user == "nobody")
        #expect(config.workingDir == "/srv")
        #expect(config.stopSignal == "SIGINT")
    }

    @Test(
        "invalid instruction leaves config unchanged",
        arguments: [
            "RUN echo hi", "ONBUILD CMD x", "EXPOSE 70000", "EXPOSE 80/icmp", "WORKDIR relative",
            "VOLUME relative", "ENV", #"ENV A="unterminated"#, "ENV =value", #"VOLUME ["/a", 1]"#,
        ])
    func rejected(change: String) throws {
        var config = ImageConfig.ContainerConfig(cmd: ["sh"])
        let error = #expect(throws: SwiftdError.self) {
            try config.apply(changes: ["CMD changed", change])
        }
        #expect(error?.kind == .invalidArgument)
        #expect(config.cmd == ["sh"])
    }
}
