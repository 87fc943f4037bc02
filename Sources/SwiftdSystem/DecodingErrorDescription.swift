/// JSON terms for the errors of `JSONDecoder`, for messages that reach API clients and users.
extension DecodingError {
    /// The error in JSON terms, naming the field but no Swift type: "field Config.Env must be
    /// an array, found a string".
    public var jsonDescription: String {
        switch self {
        case .typeMismatch(let type, let context):
            return "\(subject(context)) must be \(jsonKind(type))\(found(context))"
        case .keyNotFound(let key, let context):
            return "missing field \(path(context.codingPath + [key]))"
        case .valueNotFound(let type, let context):
            return "\(subject(context)) must be \(jsonKind(type)), not null"
        case .dataCorrupted(let context):
            let detail = context.debugDescription
            // Foundation's texts for enums and numbers name Swift types, so use JSON terms instead.
            let reason: String
            if detail.hasPrefix("Cannot initialize") {
                reason = "invalid value"
            } else if detail.contains("not representable") || detail.contains("does not fit") {
                reason = "number out of range"
            } else if context.codingPath.isEmpty {
                return detail
            } else {
                reason = detail
            }
            return context.codingPath.isEmpty ? reason : "field \(path(context.codingPath)): \(reason)"
        @unknown default:
            return "malformed document"
        }
    }
}

/// "field Config.Env" or, for the document itself, "the top-level value".
private func subject(_ context: DecodingError.Context) -> String {
    context.codingPath.isEmpty ? "the top-level value" : "field \(path(context.codingPath))"
}

/// ", found an array" from Foundation's "Expected to decode X but found an array instead.".
private func found(_ context: DecodingError.Context) -> String {
    let text = context.debugDescription
    guard let start = text.firstRange(of: "but found "),
        let end = text[start.upperBound...].firstRange(of: " instead")
    else { return "" }
    var kind = String(text[start.upperBound..<end.lowerBound])
    for article in ["a ", "an "] where kind.hasPrefix(article) { kind.removeFirst(article.count) }
    // "dictionary" is Foundation's word for a JSON object.
    if kind == "dictionary" { kind = "object" }
    return ", found " + ("aeiou".contains(kind.first ?? "x") ? "an " : "a ") + kind
}

/// Names the JSON kind of value that a Swift type decodes from: "an object", "a string".
private func jsonKind(_ type: Any.Type) -> String {
    let name = String(describing: type)
    if name.hasPrefix("Array<") || name.hasPrefix("[") || name.hasPrefix("Set<") { return "an array" }
    if name.hasPrefix("Dictionary<") { return "an object" }
    switch name {
    case "String", "Substring", "Character": return "a string"
    case "Bool": return "a boolean"
    case "Double", "Float", "Decimal": return "a number"
    case "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64":
        return "an integer"
    default: return "a valid value"
    }
}

private func path(_ codingPath: [any CodingKey]) -> String {
    codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        .replacing(".[", with: "[")
}

/// Describes an error of decoding a JSON document: a `DecodingError` in JSON terms, any other
/// error as it describes itself.
public func describeDecodingFailure(_ error: any Error) -> String {
    (error as? DecodingError)?.jsonDescription ?? "\(error)"
}
