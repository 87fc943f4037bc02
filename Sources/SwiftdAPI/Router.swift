import Foundation
import SwiftdEngine
import SwiftdSystem

/// The oldest and newest Engine API versions served.
public enum APIVersion {
    public static let current = "1.45"
    public static let minimum = "1.24"

    /// Compares dotted versions numerically ("1.9" < "1.24").
    public static func compare(_ lhs: String, _ rhs: String) -> Int {
        let left = lhs.split(separator: ".").map { Int($0) ?? 0 }
        let right = rhs.split(separator: ".").map { Int($0) ?? 0 }
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            if a != b { return a < b ? -1 : 1 }
        }
        return 0
    }
}

/// The form of HTTP response that a route's job output becomes.
public enum ResponseKind: Sendable {
    /// The job's stdout is a JSON document, sent with this status.
    case json(HTTPStatus)
    /// No body (204).
    case noContent
    /// The job's stdout is plain text.
    case text
    /// The job streams its stdout as a chunked body of this content type.
    case stream(contentType: String)
    /// The job takes over the connection (attach); the content type is set by the job's env.
    case hijack
}

/// One API route: a method and path pattern mapped to a job.
public struct Route: Sendable {
    public var method: String
    /// Path segments; `{name}` captures one segment, `{name*}` captures one or more segments.
    public var pattern: [String]
    public var job: String
    public var kind: ResponseKind
    /// The request body is an archive or stream for the job's stdin, not a JSON document.
    public var streamsBody: Bool
    /// Response headers that the job sets as environment keys of the same name before it
    /// writes any output. The router drops values that a request's query sets for them.
    public var responseHeaders: [String]

    public init(
        _ method: String, _ path: String, job: String, _ kind: ResponseKind, streamsBody: Bool = false,
        responseHeaders: [String] = []
    ) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.job = job
        self.kind = kind
        self.streamsBody = streamsBody
        self.responseHeaders = responseHeaders
    }

    /// Matches `segments`, returning the captured parameters.
    func match(_ segments: ArraySlice<String>) -> [String: String]? {
        Route.match(pattern[...], segments)
    }

    private static func match(_ pattern: ArraySlice<String>, _ segments: ArraySlice<String>) -> [String: String]? {
        guard let head = pattern.first else { return segments.isEmpty ? [:] : nil }
        if head.hasPrefix("{") && head.hasSuffix("*}") {
            let name = String(head.dropFirst().dropLast(2))
            // Greedy: the longest capture whose remainder still matches.
            var count = segments.count
            while count >= 1 {
                if var rest = match(pattern.dropFirst(), segments.dropFirst(count)) {
                    rest[name] = segments.prefix(count).joined(separator: "/")
                    return rest
                }
                count -= 1
            }
            return nil
        }
        guard let segment = segments.first else { return nil }
        if head.hasPrefix("{") && head.hasSuffix("}") {
            guard var rest = match(pattern.dropFirst(), segments.dropFirst()) else { return nil }
            rest[String(head.dropFirst().dropLast())] = segment
            return rest
        }
        guard head == segment, let rest = match(pattern.dropFirst(), segments.dropFirst()) else { return nil }
        return rest
    }
}

/// Turns API requests into engine jobs and job results into responses.
public final class Router: Sendable {
    /// The largest JSON request body accepted, in bytes.
    public static let maxJSONBody = 16 << 20

    private let engine: Engine
    private let routes: [Route]
    private let log: Logger

    public init(engine: Engine, routes: [Route], log: Logger) {
        self.engine = engine
        self.routes = routes
        self.log = log
    }

    /// Returns the headers for every response.
    ///
    /// With `cors` (`--api-enable-cors`), browsers on any origin may call the API.
    public static func commonHeaders(serverVersion: String, cors: Bool = false) -> [(name: String, value: String)] {
        var headers = [
            ("Api-Version", APIVersion.current), ("Ostype", "linux"),
            ("Server", "swiftd/\(serverVersion) (linux)"), ("Docker-Experimental", "false"),
        ]
        if cors {
            headers += [
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Headers", "Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth"),
                ("Access-Control-Allow-Methods", "HEAD, GET, POST, DELETE, PUT, OPTIONS"),
            ]
        }
        return headers
    }

    /// Responds to `GET` and `HEAD /_ping` (with or without a version prefix) on the calling
    /// thread without a job, as the Docker 1.2 server did. Clients poll it, so it skips the
    /// hop to the cooperative pool. Returns false for every other request, and for a version
    /// out of range, whose error `handle` writes.
    public func respondWithoutJob(_ request: HTTPRequest, response: ResponseWriter) -> Bool {
        guard request.method == "GET" || request.method == "HEAD", request.path.hasSuffix("/_ping") else {
            return false
        }
        let prefix = request.path.dropLast("/_ping".count)
        if !prefix.isEmpty {
            guard prefix.hasPrefix("/v"), prefix.count > 2,
                prefix.dropFirst(2).allSatisfy({ $0.isNumber || $0 == "." }),
                APIVersion.compare(String(prefix.dropFirst(2)), APIVersion.minimum) >= 0,
                APIVersion.compare(String(prefix.dropFirst(2)), APIVersion.current) <= 0
            else { return false }
        }
        try? sendText(response, Array("OK".utf8))
        return true
    }

    /// Handles one request: routing, version check, running the job and writing the response.
    public func handle(_ request: HTTPRequest, body: BodyReader, response: ResponseWriter) async {
        var segments = request.path.split(separator: "/").map(String.init)[...]
        var version = APIVersion.current
        if let first = segments.first, first.hasPrefix("v"), first.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }),
            first.count > 1
        {
            version = String(first.dropFirst())
            segments = segments.dropFirst()
            if APIVersion.compare(version, APIVersion.minimum) < 0 {
                return sendError(response, .badRequest,
                    "client version \(version) is too old. Minimum supported API version is \(APIVersion.minimum), please upgrade your client to a newer version")
            }
            if APIVersion.compare(version, APIVersion.current) > 0 {
                return sendError(response, .badRequest,
                    "client version \(version) is too new. Maximum supported API version is \(APIVersion.current)")
            }
        }

        // A CORS preflight: the common headers list what is allowed.
        if request.method == "OPTIONS" {
            try? response.send(.ok)
            return
        }
        // HEAD is served by the GET route unless the path has a HEAD route of its own.
        var matched: (Route, [String: String])?
        var fallback: (Route, [String: String])?
        var pathMatched = false
        for route in routes {
            guard let parameters = route.match(segments) else { continue }
            pathMatched = true
            if route.method == request.method {
                matched = (route, parameters)
                break
            }
            if request.method == "HEAD" && route.method == "GET" && fallback == nil {
                fallback = (route, parameters)
            }
        }
        if matched == nil { matched = fallback }
        guard let (route, parameters) = matched else {
            if pathMatched {
                return sendError(response, HTTPStatus(405), "method not allowed")
            }
            return sendError(response, .notFound, "page not found")
        }

        // Routes that only return 501 skip the check, so `/build?t=name` still gets its 501.
        if !route.job.hasSuffix("_unsupported"), let message = QueryParameters.invalidValue(in: request.query) {
            return sendError(response, .badRequest, message)
        }
        var environment: [String: String] = [:]
        // A repeated query key (`names=a&names=b`) keeps every value, one per line.
        for (key, value) in request.query {
            environment[key] = environment[key].map { $0 + "\n" + value } ?? value
        }
        for (key, value) in parameters { environment[key] = value }
        for name in route.responseHeaders { environment[name] = nil }
        environment["apiVersion"] = version
        if let auth = request.header("X-Registry-Auth") { environment["registryAuth"] = auth }
        let job = engine.job(route.job, parameters.keys.sorted().compactMap { parameters[$0] }, environment: environment)

        if route.streamsBody {
            job.stdin.attach { try body.read() }
        } else {
            do {
                let bytes = try body.readAll(limit: Router.maxJSONBody)
                if !bytes.isEmpty { job.environment["body"] = String(decoding: bytes, as: UTF8.self) }
            } catch let error as HTTPParser.ParseError {
                return sendError(response, error.status, error.message)
            } catch {
                return sendError(response, .badRequest, "failed to read the request body: \(error)")
            }
        }

        // Read when the response starts, after the job has set them.
        let jobHeaders: @Sendable () -> [(name: String, value: String)] = {
            route.responseHeaders.compactMap { name in job.environment[name].map { (name, $0) } }
        }
        switch route.kind {
        case .stream(let contentType):
            job.stdout.attach { bytes in
                if response.state == .nothing {
                    try response.startStream(contentType: contentType, headers: jobHeaders())
                }
                try response.write(bytes)
            }
        case .hijack:
            let upgrade = request.header("Upgrade")?.lowercased() == "tcp"
            job.stdin.attach { try await response.readHijacked() }
            job.stdout.attach { bytes in
                if response.state == .nothing {
                    let contentType = job.environment["contentType"] ?? "application/vnd.docker.raw-stream"
                    try response.hijack(upgrade: upgrade, contentType: contentType)
                }
                try response.write(bytes)
            }
        default:
            break
        }

        await job.run()
        if case .hijack = route.kind, response.state == .hijacked { response.endHijack() }
        if let error = job.error {
            if response.state == .nothing {
                let (status, message) = Router.status(for: error, body: job.environment["body"])
                if status.code >= 500 { log.error("handler failed", [("job", job.name), ("error", message)]) }
                sendError(response, status, message)
            } else if let failure = error as? SystemCallError,
                failure.errno == EPIPE || failure.errno == ECONNRESET
            {
                // The client closed the connection, as clients of /events and `logs -f` do to stop.
                log.debug("client closed the stream", [("job", job.name), ("error", "\(error)")])
            } else {
                log.warning("stream ended by error", [("job", job.name), ("error", "\(error)")])
            }
            return
        }
        do {
            switch route.kind {
            case .json(let status):
                let code = job.environment.int("statusCode").map { HTTPStatus($0) } ?? status
                try response.send(
                    code, headers: [("Content-Type", "application/json")] + jobHeaders(), body: job.stdout.bytes)
            case .noContent:
                let code = job.environment.int("statusCode").map { HTTPStatus($0) } ?? .noContent
                try response.send(code, headers: jobHeaders())
            case .text:
                try sendText(response, job.stdout.bytes)
            case .stream(let contentType):
                if response.state == .nothing {
                    try response.startStream(contentType: contentType, headers: jobHeaders())
                }
            case .hijack:
                if response.state == .nothing {
                    try response.hijack(upgrade: request.header("Upgrade")?.lowercased() == "tcp",
                        contentType: job.environment["contentType"] ?? "application/vnd.docker.raw-stream")
                }
            }
        } catch {
            log.debug("response not sent", [("job", job.name), ("error", "\(error)")])
        }
    }

    /// Sends a 200 plain-text body with the headers dockerd sends with `/_ping`.
    private func sendText(_ response: ResponseWriter, _ body: [UInt8]) throws {
        try response.send(.ok, headers: [
            ("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"), ("Builder-Version", "1"),
        ], body: body)
    }

    private func sendError(_ response: ResponseWriter, _ status: HTTPStatus, _ message: String) {
        try? response.sendError(status, message)
    }

    /// Maps an error to its HTTP status and message, in one place for the whole API. `body` is
    /// the request's JSON body, which tells a syntax error from a number that does not fit.
    public static func status(for error: any Error, body: String? = nil) -> (HTTPStatus, String) {
        switch error {
        case let classified as any ClassifiedError:
            let code: Int
            switch classified.kind {
            case .notFound: code = 404
            case .invalidArgument: code = 400
            case .forbidden: code = 403
            case .conflict: code = 409
            case .unsupported: code = 501
            case .unavailable: code = 503
            case .internalError: code = 500
            }
            return (HTTPStatus(code), classified.message)
        case let engine as EngineError:
            switch engine {
            case .noSuchJob: return (.notFound, "page not found")
            case .shutdown: return (HTTPStatus(503), "engine is shutdown")
            default: return (.internalServerError, engine.description)
            }
        case let decoding as DecodingError:
            // Foundation reports a number that does not fit an integer field (1.5, 1e100) as
            // "not valid JSON" with no field, so tell it apart from a syntax error here.
            if case .dataCorrupted(let context) = decoding, context.codingPath.isEmpty,
                let body, (try? JSONSerialization.jsonObject(with: Data(body.utf8), options: .fragmentsAllowed)) != nil
            {
                return (.badRequest, "invalid JSON: a number is not an integer or out of range for its field")
            }
            return (.badRequest, "invalid JSON: \(decoding.jsonDescription)")
        default:
            return (.internalServerError, "\(error)")
        }
    }
}

/// The 8-byte header that multiplexes stdout and stderr on one stream when there is no TTY.
public enum StreamFrame {
    public enum Kind: UInt8, Sendable {
        case stdin = 0, stdout = 1, stderr = 2, systemError = 3
    }

    /// Frames `payload` as one message of stream `kind`.
    public static func encode(_ kind: Kind, _ payload: [UInt8]) -> [UInt8] {
        let size = UInt32(payload.count)
        return [kind.rawValue, 0, 0, 0, UInt8(size >> 24), UInt8((size >> 16) & 0xff),
            UInt8((size >> 8) & 0xff), UInt8(size & 0xff)] + payload
    }
}
