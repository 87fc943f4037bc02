import Foundation
import SwiftdAPI
import Testing

@testable import SwiftdClient

@Suite("create flags")
struct CreateFlagTests {
    let commands = Commands(client: APIClient(endpoint: .unix(path: "/nonexistent/swiftd.sock")))

    @Test("env-file before -e entries")
    func environmentOrder() throws {
        let path = "/tmp/swiftd-env-\(UInt32.random(in: 0...UInt32.max)).env"
        try "A=file\nB=file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (request, _, _) = try commands.createRequest(["--env-file", path, "-e", "B=flag", "busybox"])
        #expect(request.Env == ["A=file", "B=file", "B=flag"])
    }

    @Test("add-host errors quote the value")
    func extraHostQuoting() {
        #expect {
            try Commands.parseExtraHost("a\nb")
        } throws: { error in
            (error as? UsageFailure)?.message
                == #"invalid argument "a\nb" for "--add-host" flag: bad format for add-host: "a\nb""#
        }
        #expect {
            try Commands.parseExtraHost("db:10.0.0.x\t")
        } throws: { error in
            (error as? UsageFailure)?.message
                == #"invalid argument "db:10.0.0.x\t" for "--add-host" flag: invalid IP address in "#
                + #"add-host: "10.0.0.x\t""#
        }
    }

    @Test("log flags set LogConfig")
    func logConfig() throws {
        let (request, _, _) = try commands.createRequest([
            "--log-driver", "json-file", "--log-opt", "max-size=1k", "--log-opt", "max-file=2", "busybox",
        ])
        #expect(request.HostConfig?.LogConfig?.Type == "json-file")
        #expect(request.HostConfig?.LogConfig?.Config == ["max-size": "1k", "max-file": "2"])
        let optionsOnly = try commands.createRequest(["--log-opt", "max-size=1k", "busybox"]).0
        #expect(optionsOnly.HostConfig?.LogConfig?.Type == "")
        let neither = try commands.createRequest(["busybox"]).0
        #expect(neither.HostConfig?.LogConfig == nil)
    }

    @Test("log-opt without equals is usage error")
    func invalidLogOpt() {
        #expect(throws: UsageFailure.self) {
            try commands.createRequest(["--log-opt", "max-size", "busybox"])
        }
    }

    @Test("none driver takes no options")
    func noneWithOptions() {
        #expect(throws: UsageFailure.self) {
            try commands.createRequest(["--log-driver", "none", "--log-opt", "max-size=1k", "busybox"])
        }
    }
}
