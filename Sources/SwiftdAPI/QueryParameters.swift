/// Checks of typed query parameters, so that a value a handler cannot read is a 400 naming
/// the parameter instead of being ignored.
enum QueryParameters {
    enum Kind {
        case integer, boolean
    }

    /// The integer and boolean query parameters of the v1.45 spec, by name. `since`, `until`
    /// and `version` are left out because some routes take them as strings (`/events` takes
    /// RFC 3339 times), and `t` is a string only for `/build`, which swiftd does not serve.
    static let kinds: [String: Kind] = [
        "limit": .integer, "t": .integer, "h": .integer, "w": .integer,
        "all": .boolean, "details": .boolean, "digests": .boolean, "follow": .boolean,
        "force": .boolean, "link": .boolean, "logs": .boolean, "noprune": .boolean,
        "one-shot": .boolean, "pause": .boolean, "quiet": .boolean, "shared-size": .boolean,
        "size": .boolean, "stderr": .boolean, "stdin": .boolean, "stdout": .boolean,
        "stream": .boolean, "timestamps": .boolean, "v": .boolean,
    ]

    /// The boolean spellings that `JobEnvironment.bool` reads as true, and those it reads as
    /// false. Go's `strconv.ParseBool` also takes `t` and `f`, which the engine would misread,
    /// so they are rejected rather than guessed.
    static let booleans: Set<String> = [
        "1", "true", "True", "TRUE", "yes", "", "0", "false", "False", "FALSE", "no", "none",
    ]

    /// Returns the error message for the first value in `query` that its parameter's type
    /// cannot read, or nil when every typed value is valid. An empty value counts as absent.
    static func invalidValue(in query: [(key: String, value: String)]) -> String? {
        for (key, value) in query {
            switch kinds[key] {
            case .integer:
                guard !value.isEmpty, Int(value) == nil else { continue }
                return "invalid value \"\(value)\" for query parameter \(key): must be an integer"
            case .boolean:
                guard !booleans.contains(value) else { continue }
                return "invalid value \"\(value)\" for query parameter \(key): must be a boolean "
                    + "(1, 0, true or false)"
            case nil:
                continue
            }
        }
        return nil
    }
}
