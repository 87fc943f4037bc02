import SwiftdCrypto
import Testing

@Suite("Digest")
struct DigestTests {
    static let valid = "sha256:" + String(repeating: "ab", count: 32)

    @Test("accepts sha256 with 64 lowercase hex digits")
    func acceptsValid() throws {
        let digest = try Digest(parsing: Self.valid)
        #expect(digest.algorithm == "sha256")
        #expect(digest.hex == String(repeating: "ab", count: 32))
        #expect(digest.description == Self.valid)
    }

    @Test(
        "rejects malformed digests",
        arguments: [
            ("", "invalid checksum digest format"),
            ("sha256", "invalid checksum digest format"),
            (":" + String(repeating: "a", count: 64), "invalid checksum digest format"),
            ("sha256:" + String(repeating: "A", count: 64), "invalid checksum digest format"),
            ("sha256:" + String(repeating: "a", count: 63), "invalid checksum digest length"),
            ("sha256:" + String(repeating: "a", count: 65), "invalid checksum digest length"),
            ("sha512:" + String(repeating: "a", count: 128), "unsupported digest algorithm"),
            ("sha256:" + String(repeating: "g", count: 64), "invalid checksum digest format"),
        ])
    func rejectsInvalid(text: String, reason: String) {
        #expect(throws: DigestError(text: text, reason: reason)) { try Digest(parsing: text) }
    }

    @Test("hashes like sha256sum, incrementally and at once")
    func hashesKnownValues() {
        #expect(
            SHA256.hash("")
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hash("abc")
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let hasher = SHA256()
        hasher.update(Array("a".utf8))
        hasher.update("bc")
        #expect(hasher.finalize() == SHA256.hash(Array("abc".utf8)))
        #expect(Digest.sha256(of: Array("abc".utf8)).hex == SHA256.hash("abc"))
    }
}
