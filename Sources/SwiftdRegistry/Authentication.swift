import Foundation

/// A user name and password (or identity token) for one registry. Never logged: its
/// description hides the secret.
public struct RegistryCredentials: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `Basic base64(user:password)`.
    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    public var description: String { "RegistryCredentials(username: \(username), password: ***)" }

    /// Decodes the `X-Registry-Auth` header: base64url (or base64) JSON with `username` and
    /// `password`, or an `identitytoken`. Returns nil for an empty or anonymous header.
    ///
    /// - Throws: `RegistryError(.invalidArgument)` when the header is not such JSON.
    public init?(registryAuthHeader header: String) throws {
        var text = header.replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard !header.isEmpty else { return nil }
        guard let data = Data(base64Encoded: text),
            let fields = try? JSONDecoder().decode(AuthConfig.self, from: data)
        else {
            throw RegistryError(.invalidArgument, "invalid X-Registry-Auth header")
        }
        if let token = fields.identitytoken, !token.isEmpty {
            self.init(username: "<token>", password: token)
        } else if let username = fields.username, !username.isEmpty {
            self.init(username: username, password: fields.password ?? "")
        } else {
            return nil
        }
    }

    private struct AuthConfig: Decodable {
        var username: String?
        var password: String?
        var identitytoken: String?
    }
}

/// One challenge of a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`.
struct AuthChallenge: Sendable, Equatable {
    /// The scheme, lowercased: `basic` or `bearer`.
    var scheme: String
    var parameters: [String: String]

    /// Parses every challenge of a `WWW-Authenticate` value (RFC 7235: a scheme, then
    /// `key=value` or `key="quoted value"` pairs separated by commas).
    static func parse(_ header: String) -> [AuthChallenge] {
        var challenges: [AuthChallenge] = []
        var characters = Substring(header)
        func skipSpaces() {
            while characters.first == " " || characters.first == "," { characters.removeFirst() }
        }
        func token() -> String {
            var text = ""
            while let next = characters.first, next != " ", next != ",", next != "=" {
                text.append(next)
                characters.removeFirst()
            }
            return text
        }
        skipSpaces()
        while !characters.isEmpty {
            let scheme = token().lowercased()
            guard !scheme.isEmpty else { break }
            var challenge = AuthChallenge(scheme: scheme, parameters: [:])
            while true {
                skipSpaces()
                let saved = characters
                let key = token()
                guard characters.first == "=" else {
                    // A bare token starts the next challenge.
                    characters = saved
                    break
                }
                characters.removeFirst()
                var value = ""
                if characters.first == "\"" {
                    characters.removeFirst()
                    while let next = characters.first, next != "\"" {
                        if next == "\\" { characters.removeFirst() }
                        if let escaped = characters.first { value.append(escaped) }
                        if !characters.isEmpty { characters.removeFirst() }
                    }
                    if !characters.isEmpty { characters.removeFirst() }
                } else {
                    value = token()
                }
                challenge.parameters[key.lowercased()] = value
                if characters.isEmpty { break }
            }
            challenges.append(challenge)
            skipSpaces()
        }
        return challenges
    }
}

/// The response of a token endpoint.
struct TokenResponse: Decodable {
    var token: String?
    var accessToken: String?

    enum CodingKeys: String, CodingKey {
        case token
        case accessToken = "access_token"
    }
}
