import Foundation
import Synchronization
import SwiftdCrypto
import SwiftdSystem
import SwiftdTLS

#if canImport(Glibc)
    import Glibc
#endif

/// How to reach registries: which hosts may use plain HTTP or unverified TLS, and where the
/// extra CA certificates live.
public struct RegistryOptions: Sendable {
    /// `host[:port]` names or CIDR ranges (`10.0.0.0/8`) of registries reached over plain
    /// HTTP or unverified TLS (`--insecure-registry`). Loopback registries always are, as
    /// with dockerd.
    public var insecureRegistries: [String]
    /// Where `HOST[:PORT]/ca.crt` files add trusted CAs for a registry.
    public var certificatesDirectory: String
    /// Whether loopback registries count as insecure, as dockerd treats 127.0.0.0/8.
    public var loopbackIsInsecure: Bool

    public init(
        insecureRegistries: [String] = [], certificatesDirectory: String = "/etc/swiftd/certs.d",
        loopbackIsInsecure: Bool = true
    ) {
        self.insecureRegistries = insecureRegistries
        self.certificatesDirectory = certificatesDirectory
        self.loopbackIsInsecure = loopbackIsInsecure
    }

    /// Whether `host` (`name[:port]`) may be reached without verified TLS.
    public func isInsecure(_ host: String) -> Bool {
        let name = hostName(host)
        if loopbackIsInsecure, name == "localhost" || name == "::1" || name.hasPrefix("127.") {
            return true
        }
        for entry in insecureRegistries {
            if entry == host || entry == name { return true }
            if let range = IPv4Range(entry), let address = IPv4Range.parse(name),
                range.contains(address)
            {
                return true
            }
        }
        return false
    }

    private func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        return host.split(separator: ":").first.map(String.init) ?? host
    }
}

/// An IPv4 CIDR range, for `--insecure-registry 10.0.0.0/8`.
struct IPv4Range {
    var network: UInt32
    var mask: UInt32

    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = Self.parse(String(parts[0])),
            let bits = Int(parts[1]), (0...32).contains(bits)
        else { return nil }
        mask = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        network = address & mask
    }

    func contains(_ address: UInt32) -> Bool { address & mask == network }

    static func parse(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}

/// A client of one registry's distribution (v2) API. Every method blocks on the network;
/// call them from a thread of your own, not from Swift concurrency's pool.
///
/// The client learns the registry's scheme and `WWW-Authenticate` challenge with `ping()`
/// and then authorises each request: basic auth with the credentials, or a bearer token
/// fetched from the challenge's realm for the repository's scope (cached per scope).
public final class RegistryClient: Sendable {
    /// The registry's `host[:port]`, as in the reference.
    public let host: String
    let credentials: RegistryCredentials?
    let transport: HTTPTransport
    let insecure: Bool
    private let state = Mutex<State>(State())

    private struct State {
        var baseURL: URL?
        var challenge: AuthChallenge?
        /// Authorization header values by scope (`""` for basic auth).
        var tokens: [String: String] = [:]
    }

    /// Creates a client of `host` (`docker.io` means `registry-1.docker.io`).
    ///
    /// - Throws: nothing yet; TLS files are loaded on the first https connection.
    public init(host: String, credentials: RegistryCredentials?, options: RegistryOptions) {
        self.host = host == "docker.io" ? "registry-1.docker.io" : host
        self.credentials = credentials
        let insecure = options.isInsecure(self.host)
        self.insecure = insecure
        let directory = options.certificatesDirectory
        let contexts = Mutex<[String: TLSClientContext]>([:])
        transport = HTTPTransport { authority in
            try contexts.withLock { cache in
                if let context = cache[authority] { return context }
                let caFile = directory + "/" + authority + "/ca.crt"
                let context = try TLSClientContext(
                    extraCA: FileSystem.exists(caFile) ? caFile : nil, verify: !insecure)
                cache[authority] = context
                return context
            }
        }
    }

    /// The registry's base URL once `ping()` found it.
    var baseURL: URL? { state.withLock { $0.baseURL } }

    /// Checks that the registry speaks the v2 API (`GET /v2/`) and records its scheme and
    /// authentication challenge. Tries https first; an insecure registry falls back to plain
    /// HTTP when https fails. Blocks.
    ///
    /// - Throws: `RegistryError(.unavailable)` when the registry cannot be reached or does not
    ///   respond like a v2 registry.
    public func ping() throws {
        if state.withLock({ $0.baseURL }) != nil { return }
        var failures: [String] = []
        for scheme in insecure ? ["https", "http"] : ["https"] {
            guard let base = URL(string: "\(scheme)://\(host)") else {
                throw RegistryError(.invalidArgument, "invalid registry host \(host)")
            }
            do {
                let response = try transport.send(
                    HTTPRequest("GET", base.appendingPathComponent("v2/")))
                _ = try? response.readAll(limit: 1 << 20)
                guard response.status == 200 || response.status == 401 else {
                    failures.append("\(scheme): GET /v2/ responded \(response.status)")
                    continue
                }
                let challenge = response.header("WWW-Authenticate").flatMap {
                    AuthChallenge.parse($0).first
                }
                state.withLock {
                    $0.baseURL = base
                    $0.challenge = response.status == 401 ? challenge : nil
                }
                return
            } catch let error as RegistryError {
                // Both schemes fail alike when nothing listens: name the reason once.
                if !failures.contains(error.message) { failures.append(error.message) }
            }
        }
        throw RegistryError(
            .unavailable,
            "registry \(host) is not reachable: " + failures.joined(separator: "; "))
    }

    /// Sends a request to `path` (under the registry's base URL, or an absolute `url`),
    /// authorised for `scope`, following up to five redirects for GET and HEAD (dropping the
    /// authorisation when the host changes, as blob stores sign their own URLs). A 401 after
    /// authorising once fetches a fresh token and retries. Blocks.
    ///
    /// - Throws: `RegistryError` for connection failures and authentication failures.
    func send(
        _ method: String, _ target: Target, scope: String, headers: [(String, String)] = [],
        body: HTTPRequest.RequestBody = .none
    ) throws -> HTTPResponse {
        try ping()
        guard let base = state.withLock({ $0.baseURL }) else {
            throw RegistryError(.internalError, "registry \(host) has no base URL")
        }
        var url: URL
        switch target {
        case .path(let path):
            guard let resolved = URL(string: base.absoluteString + path) else {
                throw RegistryError(.invalidArgument, "invalid registry path \(path)")
            }
            url = resolved
        case .url(let absolute): url = absolute
        }
        var retried = false
        var redirects = 0
        while true {
            var allHeaders = headers
            let sameHost = url.host == base.host && url.port == base.port
            if sameHost, let authorization = try authorization(scope: scope, refresh: false) {
                allHeaders.append(("Authorization", authorization))
            }
            let response = try sendRetrying(
                HTTPRequest(method, url, headers: allHeaders, body: body))
            if response.status == 401 && sameHost && !retried {
                retried = true
                if let header = response.header("WWW-Authenticate"),
                    let challenge = AuthChallenge.parse(header).first
                {
                    state.withLock { $0.challenge = challenge }
                }
                _ = try? response.readAll(limit: 1 << 20)
                _ = try authorization(scope: scope, refresh: true)
                continue
            }
            if [301, 302, 303, 307, 308].contains(response.status),
                method == "GET" || method == "HEAD",
                let location = response.header("Location"),
                let next = URL(string: location, relativeTo: url)?.absoluteURL
            {
                redirects += 1
                guard redirects <= 5 else {
                    throw RegistryError(.unavailable, "\(method) \(url.path): too many redirects")
                }
                url = next
                continue
            }
            return response
        }
    }

    /// Delays before the retries of a request that failed to connect or got a 5xx response.
    static let retryDelays: [Double] = [0.5, 1, 2]

    /// Sends `request`, retrying with back-off when the connection fails (not when it is
    /// refused: nothing listens there) or the registry responds 502, 503 or 504. Requests
    /// whose body is a stream of a blob chunk are retried too: their bytes come from a file.
    private func sendRetrying(_ request: HTTPRequest) throws -> HTTPResponse {
        var attempt = 0
        while true {
            do {
                let response = try transport.send(request)
                guard [502, 503, 504].contains(response.status),
                    attempt < Self.retryDelays.count
                else { return response }
            } catch let error as RegistryError
                where error.kind == .unavailable && attempt < Self.retryDelays.count
                && !error.message.contains("Connection refused")
            {
                // Retried below.
            }
            Thread.sleep(forTimeInterval: Self.retryDelays[attempt])
            attempt += 1
        }
    }

    enum Target {
        case path(String)
        case url(URL)
    }

    /// The `Authorization` value for `scope` under the current challenge, fetching a bearer
    /// token when needed; nil when the registry asked for nothing.
    private func authorization(scope: String, refresh: Bool) throws -> String? {
        let (challenge, cached) = state.withLock { ($0.challenge, $0.tokens[scope]) }
        guard let challenge else { return nil }
        if let cached, !refresh { return cached }
        switch challenge.scheme {
        case "basic":
            guard let credentials else {
                throw RegistryError(
                    .invalidArgument,
                    "registry \(host) requires authentication: log in with swiftd login \(host)")
            }
            return credentials.basicAuthorization
        case "bearer":
            let token = try fetchToken(challenge, scope: scope)
            state.withLock { $0.tokens[scope] = "Bearer " + token }
            return "Bearer " + token
        default:
            throw RegistryError(
                .unsupported,
                "registry \(host) asks for \(challenge.scheme) authentication, which swiftd lacks")
        }
    }

    /// The bearer-token flow: `GET realm?service=…&scope=…`, with basic auth when there are
    /// credentials.
    private func fetchToken(_ challenge: AuthChallenge, scope: String) throws -> String {
        guard let realm = challenge.parameters["realm"],
            var components = URLComponents(string: realm)
        else {
            throw RegistryError(
                .unavailable, "registry \(host) sent a bearer challenge without a realm")
        }
        var items = components.queryItems ?? []
        if let service = challenge.parameters["service"] {
            items.append(URLQueryItem(name: "service", value: service))
        }
        if !scope.isEmpty { items.append(URLQueryItem(name: "scope", value: scope)) }
        components.queryItems = items.isEmpty ? nil : items
        guard let url = components.url else {
            throw RegistryError(.unavailable, "registry \(host) sent a bad realm \(realm)")
        }
        var headers: [(String, String)] = []
        if let credentials { headers.append(("Authorization", credentials.basicAuthorization)) }
        let response = try transport.send(HTTPRequest("GET", url, headers: headers))
        let body = try response.readAll(limit: 1 << 20)
        guard response.status == 200 else {
            if response.status == 401 || response.status == 403 {
                throw RegistryError(
                    .invalidArgument,
                    "authentication to \(host) failed: the token server responded "
                        + "\(response.status) (wrong user name or password?)")
            }
            throw RegistryError.response(
                response.status, body: body, request: "GET token from \(url.host ?? realm)")
        }
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body)),
            let token = decoded.token ?? decoded.accessToken
        else {
            throw RegistryError(.unavailable, "the token server of \(host) sent no token")
        }
        return token
    }

    /// Fails with the registry's error for a response that is not one of `expected`, reading
    /// the body for its message. 401 becomes a clear authentication error.
    func check(_ response: HTTPResponse, _ expected: Set<Int>, _ request: String) throws {
        guard !expected.contains(response.status) else { return }
        let body = (try? response.readAll(limit: 1 << 20)) ?? []
        if response.status == 401 {
            let who = credentials.map { "as \($0.username)" } ?? "without credentials"
            throw RegistryError(
                .invalidArgument,
                "\(request): authentication to \(host) \(who) failed (401 Unauthorized)")
        }
        throw RegistryError.response(response.status, body: body, request: request)
    }
}
