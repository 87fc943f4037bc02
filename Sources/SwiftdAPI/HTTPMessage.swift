/// An HTTP/1.1 request head and, once read, its body.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// The request target as sent: path and query.
    public var target: String
    public var version: String
    /// Header fields in the order received; names keep their case.
    public var headers: [(name: String, value: String)]

    public init(
        method: String, target: String, version: String = "HTTP/1.1",
        headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The first value of header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// Every value of header `name`.
    public func headerValues(_ name: String) -> [String] {
        let lowered = name.lowercased()
        return headers.filter { $0.name.lowercased() == lowered }.map(\.value)
    }

    /// The path without the query, percent-decoded.
    public var path: String {
        let raw = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return percentDecode(String(raw))
    }

    /// The query parameters, percent-decoded; a repeated key keeps every value in order.
    public var query: [(key: String, value: String)] {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return [] }
        return parts[1].split(separator: "&").map { pair in
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(String(keyValue[0]), plusIsSpace: true)
            let value = keyValue.count > 1 ? percentDecode(String(keyValue[1]), plusIsSpace: true) : ""
            return (key, value)
        }
    }

    /// Reports whether the client asked to keep the connection open after this request.
    public var keepAlive: Bool {
        let connection = header("Connection")?.lowercased() ?? ""
        if version == "HTTP/1.0" { return connection.contains("keep-alive") }
        return !connection.contains("close")
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers.map { "\($0.name):\($0.value)" } == rhs.headers.map { "\($0.name):\($0.value)" }
    }
}

/// An HTTP response status with its reason phrase.
public struct HTTPStatus: Sendable, Equatable {
    public var code: Int
    public var reason: String

    public init(_ code: Int, _ reason: String? = nil) {
        self.code = code
        self.reason = reason ?? HTTPStatus.reasons[code] ?? "Status \(code)"
    }

    public static let ok = HTTPStatus(200)
    public static let created = HTTPStatus(201)
    public static let noContent = HTTPStatus(204)
    public static let notModified = HTTPStatus(304)
    public static let badRequest = HTTPStatus(400)
    public static let notFound = HTTPStatus(404)
    public static let conflict = HTTPStatus(409)
    public static let internalServerError = HTTPStatus(500)

    static let reasons: [Int: String] = [
        100: "Continue", 101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content",
        304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
        413: "Payload Too Large", 431: "Request Header Fields Too Large",
        500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    ]
}

/// An HTTP response head.
public struct HTTPResponseHead: Sendable {
    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.headers = headers
    }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The head as it goes on the wire, ending with the blank line.
    public func serialized() -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}

/// Decodes `%XX` escapes (and `+` as a space in query strings); invalid escapes stay as they are.
func percentDecode(_ text: String, plusIsSpace: Bool = false) -> String {
    guard text.contains("%") || (plusIsSpace && text.contains("+")) else { return text }
    var bytes: [UInt8] = []
    let raw = Array(text.utf8)
    var index = 0
    while index < raw.count {
        let byte = raw[index]
        if byte == UInt8(ascii: "%"), index + 2 < raw.count,
            let value = UInt8(String(decoding: raw[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
        {
            bytes.append(value)
            index += 3
        } else {
            bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Encodes a query value: everything but unreserved characters becomes `%XX`.
public func percentEncode(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "_"), UInt8(ascii: "~"):
            result.append(Character(UnicodeScalar(byte)))
        default:
            let hex = String(byte, radix: 16, uppercase: true)
            result += "%" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return result
}
