import Foundation
import SwiftdSystem

/// A failure talking to a registry, with the kind the API maps to an HTTP status.
public struct RegistryError: ClassifiedError {
    public var kind: ErrorKind
    public var message: String

    public init(_ kind: ErrorKind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Maps an error response of the registry to a kind and a message that names the request
    /// and carries the registry's own `errors[].message` when it sent one.
    static func response(_ status: Int, body: [UInt8], request: String) -> RegistryError {
        var detail = ""
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)),
            let first = decoded.errors?.first
        {
            detail = ": " + [first.code, first.message].compactMap { $0 }.joined(separator: " ")
        }
        let kind: ErrorKind
        switch status {
        case 401, 403: kind = .invalidArgument
        case 404: kind = .notFound
        case 400..<500: kind = .invalidArgument
        default: kind = .unavailable
        }
        return RegistryError(kind, "\(request): the registry responded \(status)\(detail)")
    }

    private struct ErrorBody: Decodable {
        var errors: [Entry]?
        struct Entry: Decodable {
            var code: String?
            var message: String?
        }
    }
}
