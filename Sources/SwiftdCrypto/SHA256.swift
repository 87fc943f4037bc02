import CCrypto

/// An incremental SHA-256 hash, computed by OpenSSL's EVP interface (`EVP_sha256`).
///
/// Feed bytes with `update(_:)` as they arrive, then call `finalize()` once. An instance is
/// not thread-safe; use one per stream.
public final class SHA256 {
    private let context: OpaquePointer
    private var finished = false

    /// Creates a hash over no bytes yet.
    public init() {
        guard let context = libcrypto.EVP_MD_CTX_new() else {
            fatalError("EVP_MD_CTX_new: out of memory")
        }
        guard libcrypto.EVP_DigestInit_ex(context, libcrypto.EVP_sha256(), nil) == 1 else {
            libcrypto.EVP_MD_CTX_free(context)
            fatalError("EVP_DigestInit_ex sha256: failed to initialise the digest")
        }
        self.context = context
    }

    deinit {
        libcrypto.EVP_MD_CTX_free(context)
    }

    /// Adds `bytes` to the hash. Calling it after `finalize()` is a programming error.
    public func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        precondition(!finished, "SHA256.update after finalize")
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            absorb(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { absorb($0) }
        }
    }

    /// Adds the UTF-8 bytes of `text` to the hash.
    public func update(_ text: String) {
        var copy = text
        copy.withUTF8 { absorb(UnsafeRawBufferPointer($0)) }
    }

    private func absorb(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        // EVP_DigestUpdate fails only on a misused context, which `finished` rules out.
        let result = libcrypto.EVP_DigestUpdate(context, buffer.baseAddress, buffer.count)
        precondition(result == 1, "EVP_DigestUpdate failed")
    }

    /// Finishes the hash and returns it as 64 lowercase hex digits. Call it once.
    public func finalize() -> String {
        precondition(!finished, "SHA256.finalize called twice")
        finished = true
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = libcrypto.EVP_DigestFinal_ex(context, &output, &length)
        precondition(result == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return hexString(output[0..<Int(length)])
    }

    /// The SHA-256 of `bytes` as 64 lowercase hex digits.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> String
    where Bytes.Element == UInt8 {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The SHA-256 of the UTF-8 bytes of `text` as 64 lowercase hex digits.
    public static func hash(_ text: String) -> String {
        let hasher = SHA256()
        hasher.update(text)
        return hasher.finalize()
    }
}

/// Formats `bytes` as lowercase hex digits.
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}
