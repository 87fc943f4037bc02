import SwiftdCrypto
import SwiftdSystem

/// An image reference, parsed and normalized by Docker's rules (distribution/reference):
/// `busybox` is `docker.io/library/busybox:latest`.
public struct Reference: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The fully qualified repository name, such as `docker.io/library/busybox`.
    public var name: String
    /// The tag; `latest` when neither a tag nor a digest was given.
    public var tag: String?
    /// The digest after `@`, such as `sha256:…`.
    public var digest: String?

    /// Parses `text` as `docker reference` does (ParseNormalizedNamed, then TagNameOnly).
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` with Docker's message: "invalid reference
    ///   format", "invalid reference format: repository name (library/Busybox) must be
    ///   lowercase", or "invalid repository name (…), cannot specify 64-byte hexadecimal
    ///   strings".
    public init(parsing text: String) throws {
        if Digest.isSHA256Hex(text) {
            throw invalid(
                "invalid repository name (\(text)), cannot specify 64-byte hexadecimal strings")
        }
        let (domain, remote) = Self.splitDomain(text)
        if remote.lowercased() != remote {
            // Only the part before a tag or digest must be lowercase.
            let path = Self.stripTagAndDigest(remote)
            if path.lowercased() != path {
                throw invalid(
                    "invalid reference format: repository name (\(path)) must be lowercase")
            }
        }
        var rest = Substring(remote)
        if let at = rest.firstIndex(of: "@") {
            let digestText = String(rest[rest.index(after: at)...])
            guard Digest.isValid(digestText) else { throw invalid("invalid reference format") }
            digest = digestText
            rest = rest[..<at]
        }
        if let colon = rest.lastIndex(of: ":") {
            let tagText = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(tagText) else { throw invalid("invalid reference format") }
            tag = tagText
            rest = rest[..<colon]
        }
        guard Self.isValidDomain(domain), Self.isValidPath(rest) else {
            throw invalid("invalid reference format")
        }
        name = domain + "/" + rest
        if name.utf8.count > 255 {
            throw invalid("invalid reference format: repository name must not be more than 255 "
                + "characters")
        }
        if tag == nil && digest == nil { tag = "latest" }
    }

    /// The short form that `docker images` shows: `busybox:latest`, `127.0.0.1:5000/a/b:t`.
    public var familiarString: String {
        var text = familiarName
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }

    /// The repository in short form, without tag or digest: `busybox`, `quay.io/a/b`.
    public var familiarName: String {
        guard name.hasPrefix("docker.io/") else { return name }
        let remote = name.dropFirst("docker.io/".count)
        if remote.hasPrefix("library/") && remote.dropFirst(8).firstIndex(of: "/") == nil {
            return String(remote.dropFirst(8))
        }
        return String(remote)
    }

    /// The fully qualified form: `docker.io/library/busybox:latest`.
    public var description: String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }

    /// Splits off the registry as splitDockerDomain does: the first component is a domain only
    /// if it has a `.` or `:`, or is `localhost`, and has no uppercase letters.
    static func splitDomain(_ text: String) -> (domain: String, remote: String) {
        guard let slash = text.firstIndex(of: "/") else {
            return ("docker.io", "library/" + text)
        }
        let first = String(text[..<slash])
        let rest = String(text[text.index(after: slash)...])
        // As Docker's splitDockerDomain: a dot, a colon or upper case marks a registry host,
        // because repository path components are lowercase.
        let looksLikeDomain =
            first.contains(".") || first.contains(":") || first == "localhost"
            || first.lowercased() != first
        guard looksLikeDomain else { return ("docker.io", text) }
        let domain = first == "index.docker.io" ? "docker.io" : first
        if domain == "docker.io" && !rest.contains("/") { return (domain, "library/" + rest) }
        return (domain, rest)
    }

    private static func stripTagAndDigest(_ remote: String) -> String {
        var rest = Substring(remote)
        if let at = rest.firstIndex(of: "@") { rest = rest[..<at] }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }

    /// `[\w][\w.-]{0,127}`.
    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWord(first) else { return false }
        return bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Path components `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`, joined by `/`.
    static func isValidPath(_ path: Substring) -> Bool {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        return !components.isEmpty && components.allSatisfy { isValidComponent(Array($0.utf8)) }
    }

    private static func isValidComponent(_ bytes: [UInt8]) -> Bool {
        var index = 0
        func alphanumericRun() -> Bool {
            let start = index
            while index < bytes.count && isLowerAlphanumeric(bytes[index]) { index += 1 }
            return index > start
        }
        guard alphanumericRun() else { return false }
        while index < bytes.count {
            let start = index
            switch bytes[index] {
            case UInt8(ascii: "."):
                index += 1
            case UInt8(ascii: "_"):
                index += 1
                if index < bytes.count && bytes[index] == UInt8(ascii: "_") { index += 1 }
            case UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
            default:
                return false
            }
            guard index > start, alphanumericRun() else { return false }
        }
        return true
    }

    /// Dotted labels of `[a-zA-Z0-9]` and inner `-`, or a bracketed IPv6 address, then an
    /// optional `:port`.
    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let address = host[host.index(after: host.startIndex)..<close]
            guard !address.isEmpty,
                address.utf8.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") })
            else { return false }
            host = host[host.index(after: close)...]
            if host.isEmpty { return true }
            guard host.hasPrefix(":") else { return false }
            return isPort(host.dropFirst())
        }
        if let colon = host.firstIndex(of: ":") {
            guard isPort(host[host.index(after: colon)...]) else { return false }
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last else { return false }
            return isAlphanumeric(first) && isAlphanumeric(last)
                && bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (byte >= 0x41 && byte <= 0x5a)
    }

    private static func isWord(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "_")
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
            || (byte >= 0x41 && byte <= 0x46)
    }
}

private func invalid(_ message: String) -> SwiftdError {
    SwiftdError(.invalidArgument, message)
}
