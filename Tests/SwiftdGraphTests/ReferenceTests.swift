import SwiftdGraph
import SwiftdSystem
import Testing

@Suite("Reference")
struct ReferenceTests {
    static let digest = "sha256:" + String(repeating: "0123456789abcdef", count: 4)

    @Test(
        "parses and normalizes like Docker",
        arguments: [
            ("busybox", "docker.io/library/busybox", "latest", nil, "busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox", "1.36", nil, "busybox:1.36"),
            ("library/busybox", "docker.io/library/busybox", "latest", nil, "busybox:latest"),
            ("docker.io/busybox", "docker.io/library/busybox", "latest", nil, "busybox:latest"),
            ("index.docker.io/a/b", "docker.io/a/b", "latest", nil, "a/b:latest"),
            ("user/app:v1", "docker.io/user/app", "v1", nil, "user/app:v1"),
            ("127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b", "t", nil, "127.0.0.1:5000/a/b:t"),
            ("localhost/x", "localhost/x", "latest", nil, "localhost/x:latest"),
            ("localhost:5000/x_y.z-w", "localhost:5000/x_y.z-w", "latest", nil,
                "localhost:5000/x_y.z-w:latest"),
            ("quay.io/a/b/c:T_1.2-x", "quay.io/a/b/c", "T_1.2-x", nil, "quay.io/a/b/c:T_1.2-x"),
            ("[::1]:5000/a:b", "[::1]:5000/a", "b", nil, "[::1]:5000/a:b"),
            ("Host:5000/x", "Host:5000/x", "latest", nil, "Host:5000/x:latest"),
            ("Registry/x", "Registry/x", "latest", nil, "Registry/x:latest"),
            ("busybox@" + digest, "docker.io/library/busybox", nil, digest,
                "busybox@" + digest),
            ("busybox:t@" + digest, "docker.io/library/busybox", "t", digest,
                "busybox:t@" + digest),
        ] as [(String, String, String?, String?, String)])
    func parsesValid(
        text: String, name: String, tag: String?, digest: String?, familiar: String
    ) throws {
        let reference = try Reference(parsing: text)
        #expect(reference.name == name)
        #expect(reference.tag == tag)
        #expect(reference.digest == digest)
        #expect(reference.familiarString == familiar)
    }

    @Test(
        "rejects invalid references with Docker's messages",
        arguments: [
            ("Busybox", "invalid reference format: repository name (library/Busybox) must be "
                + "lowercase"),
            ("a:b:c", "invalid reference format"),
            ("Host:5000/X", "invalid reference format: repository name (X) must be lowercase"),
            ("", "invalid reference format"),
            ("busybox:", "invalid reference format"),
            ("busybox:-x", "invalid reference format"),
            ("a//b", "invalid reference format"),
            ("a/b/", "invalid reference format"),
            ("-a", "invalid reference format"),
            ("a__-b", "invalid reference format"),
            ("a@sha256:abc", "invalid reference format"),
            ("busybox:" + String(repeating: "t", count: 129), "invalid reference format"),
            (String(repeating: "ab", count: 32),
                "invalid repository name (\(String(repeating: "ab", count: 32))), cannot specify "
                + "64-byte hexadecimal strings"),
        ])
    func rejectsInvalid(text: String, message: String) {
        #expect {
            try Reference(parsing: text)
        } throws: { error in
            guard let error = error as? SwiftdError else { return false }
            return error.kind == .invalidArgument && error.message == message
        }
    }
}
