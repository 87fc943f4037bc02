@testable import SwiftdRegistry
import Testing

@Suite("WWW-Authenticate parsing and platforms")
struct AuthChallengeTests {
    @Test("a bearer challenge with quoted parameters")
    func bearer() {
        let header =
            #"Bearer realm="https://auth.example/token",service="registry.example","#
            + #"scope="repository:a/b:pull,push""#
        let challenges = AuthChallenge.parse(header)
        #expect(challenges.count == 1)
        #expect(challenges.first?.scheme == "bearer")
        #expect(challenges.first?.parameters["realm"] == "https://auth.example/token")
        #expect(challenges.first?.parameters["scope"] == "repository:a/b:pull,push")
    }

    @Test("two challenges in one header")
    func twoChallenges() {
        let challenges = AuthChallenge.parse(#"Basic realm="x", Bearer realm="y",service=s"#)
        #expect(challenges.map(\.scheme) == ["basic", "bearer"])
        #expect(challenges.last?.parameters["service"] == "s")
    }

    @Test("platforms parse and match as docker's do")
    func platforms() throws {
        let arm = try Platform(parsing: "linux/arm64")
        #expect(arm.matches(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(!arm.matches(Platform(os: "linux", architecture: "amd64")))
        #expect(throws: RegistryError.self) { try Platform(parsing: "linux") }
    }

    @Test("X-Registry-Auth decodes, and the description hides the password")
    func registryAuthHeader() throws {
        let json = #"{"username":"u","password":"p4ss","serveraddress":"h"}"#
        let header = Data(json.utf8).base64EncodedString()
        let credentials = try RegistryCredentials(registryAuthHeader: header)
        #expect(credentials?.username == "u")
        #expect(credentials?.password == "p4ss")
        #expect(!"\(String(describing: credentials))".contains("p4ss"))
        #expect(try RegistryCredentials(registryAuthHeader: "") == nil)
    }

    @Test("loopback and listed registries are insecure, others are not")
    func insecureRegistries() {
        let options = RegistryOptions(insecureRegistries: ["10.1.0.0/16", "reg.example:5000"])
        #expect(options.isInsecure("127.0.0.1:5000"))
        #expect(options.isInsecure("localhost:5000"))
        #expect(options.isInsecure("10.1.2.3:443"))
        #expect(options.isInsecure("reg.example:5000"))
        #expect(!options.isInsecure("reg.example:5001"))
        #expect(!options.isInsecure("10.2.0.1"))
    }
}

import Foundation
