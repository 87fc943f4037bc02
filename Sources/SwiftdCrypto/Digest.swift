/// A content digest in the OCI form `algorithm:hex`; swiftd accepts only `sha256` with 64
/// lowercase hex digits, as go-digest validates it.
public struct Digest: Sendable, Hashable, CustomStringConvertible, Codable {
    /// The algorithm, always `sha256`.
    public let algorithm: String
    /// The 64 lowercase hex digits.
    public let hex: String

    /// Parses and validates `sha256:<64 hex>`.
    ///
    /// - Throws: `DigestError` naming the text: a missing `:` or non-hex digits ("invalid
    ///   checksum digest format"), another algorithm ("unsupported digest algorithm"), or a
    ///   wrong number of digits ("invalid checksum digest length").
    public init(parsing text: String) throws(DigestError) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw DigestError(text: text, reason: "invalid checksum digest format")
        }
        let algorithm = String(text[..<colon])
        let hex = String(text[text.index(after: colon)...])
        guard algorithm.utf8.allSatisfy({ Self.isAlgorithmByte($0) }) else {
            throw DigestError(text: text, reason: "invalid checksum digest format")
        }
        guard algorithm == "sha256" else {
            throw DigestError(text: text, reason: "unsupported digest algorithm")
        }
        guard !hex.isEmpty, hex.utf8.allSatisfy({ Self.isLowerHex($0) }) else {
            throw DigestError(text: text, reason: "invalid checksum digest format")
        }
        guard hex.utf8.count == 64 else {
            throw DigestError(text: text, reason: "invalid checksum digest length")
        }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Makes a sha256 digest from 64 lowercase hex digits.
    ///
    /// - Throws: `DigestError` when `hex` is not exactly 64 lowercase hex digits.
    public init(sha256Hex hex: String) throws(DigestError) {
        try self.init(parsing: "sha256:" + hex)
    }

    /// The sha256 digest of `bytes`.
    public static func sha256<Bytes: Sequence>(of bytes: Bytes) -> Digest
    where Bytes.Element == UInt8 {
        Digest(trustedHex: SHA256.hash(bytes))
    }

    private init(trustedHex hex: String) {
        algorithm = "sha256"
        self.hex = hex
    }

    /// `sha256:<hex>`.
    public var description: String { "\(algorithm):\(hex)" }

    /// Whether `text` is exactly 64 lowercase hex digits, the form of a sha256 image or layer ID.
    public static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { isLowerHex($0) }
    }

    /// Whether `text` is `sha256:` followed by 64 lowercase hex digits.
    public static func isValid(_ text: String) -> Bool {
        (try? Digest(parsing: text)) != nil
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    private static func isAlgorithmByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a)
            || byte == 0x2b || byte == 0x2e || byte == 0x5f || byte == 0x2d
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A digest that failed validation.
public struct DigestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that was parsed.
    public var text: String
    /// go-digest's wording of the problem, such as "invalid checksum digest length".
    public var reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "\(reason): \(text)" }
}
