import Foundation

/// The subset of Go's text/template that `docker … --format` strings use: text with
/// `{{.Field.Sub}}`, `{{.}}`, `{{json .Field}}`, `{{index .Map "key"}}`, `{{.Label "key"}}`,
/// `{{upper …}}`, `{{lower …}}`, `{{join .List ", "}}`, and the `table` prefix that adds a
/// header row and aligns columns. `json` alone prints each value as one line of JSON.
struct OutputTemplate {
    /// One piece of the template: literal text or an action between `{{` and `}}`.
    private enum Piece {
        case text(String)
        case action([String])
    }

    private let pieces: [Piece]
    /// True for `table …`: a header row and aligned columns.
    let isTable: Bool
    /// True for the bare `json` format.
    let isJSONLines: Bool
    /// Header names for fields whose docker header is not the field name (`ID` is
    /// `CONTAINER ID` in ps).
    let headers: [String: String]

    /// Parses `format`.
    ///
    /// - Throws: `UsageFailure` naming the format for an unclosed action or an unknown function.
    init(_ format: String, headers: [String: String] = [:]) throws {
        self.headers = headers
        var source = format
        isJSONLines = format == "json"
        isTable = source.hasPrefix("table")
        if isTable { source = String(source.dropFirst("table".count)).trimmingCharacters(in: .whitespaces) }
        source = source.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
        var pieces: [Piece] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw UsageFailure(message: "invalid format \(format): unclosed {{")
            }
            var inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            // `{{- …}}` and `{{… -}}` trim spaces in Go; here they only need to parse.
            if inner.hasPrefix("- ") { inner = String(inner.dropFirst(2)) }
            if inner.hasSuffix(" -") { inner = String(inner.dropLast(2)) }
            let words = try Self.words(inner, format: format)
            guard let first = words.first else { throw UsageFailure(message: "invalid format \(format): empty {{}}") }
            let functions: Set = ["json", "index", "upper", "lower", "join", "title", "println"]
            guard first.hasPrefix(".") || functions.contains(first) else {
                throw UsageFailure(message: "invalid format \(format): function \"\(first)\" not defined")
            }
            pieces.append(.action(words))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        self.pieces = pieces
    }

    /// The header row of a table: each action's last field name, upper-cased with spaces
    /// before inner capitals (`.RunningFor` is `RUNNING FOR`, `.ID` is `ID`).
    var header: String {
        pieces.map { piece in
            switch piece {
            case .text(let text): return text
            case .action(let words):
                let field = words.last { $0.hasPrefix(".") }.map { $0.split(separator: ".").last.map(String.init) ?? "" } ?? ""
                return headers[field] ?? Self.headerName(field)
            }
        }.joined()
    }

    /// Renders the template against `value`, a JSON-like tree (dictionaries, arrays, strings,
    /// numbers, booleans, NSNull).
    func render(_ value: Any) -> String {
        if isJSONLines { return Self.json(value) }
        return pieces.map { piece in
            switch piece {
            case .text(let text): return text
            case .action(let words): return Self.format(evaluate(words, value))
            }
        }.joined()
    }

    /// Renders every value; a table gets its header and columns aligned as docker aligns them.
    func render(all values: [Any]) -> String {
        let lines = values.map { render($0) }
        guard isTable else { return lines.map { $0 + "\n" }.joined() }
        let rows = ([header] + lines).map { $0.components(separatedBy: "\t") }
        let widths = rows.reduce(into: [Int]()) { widths, row in
            for (index, cell) in row.enumerated() {
                if index >= widths.count { widths.append(0) }
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined() + "\n"
        }.joined()
    }

    private func evaluate(_ words: [String], _ root: Any) -> Any {
        let head = words[0]
        let arguments = Array(words.dropFirst())
        func argument(_ index: Int) -> Any {
            guard index < arguments.count else { return NSNull() }
            let word = arguments[index]
            if word.hasPrefix("\"") { return String(word.dropFirst().dropLast()) }
            return Self.lookUp(word, in: root)
        }
        switch head {
        case "json": return JSONText(text: Self.json(argument(0)))
        case "upper": return Self.format(argument(0)).uppercased()
        case "lower": return Self.format(argument(0)).lowercased()
        case "title": return Self.format(argument(0)).capitalized
        case "println": return Self.format(argument(0)) + "\n"
        case "join":
            let list = (argument(0) as? [Any] ?? []).map(Self.format)
            return list.joined(separator: argument(1) as? String ?? " ")
        case "index":
            let key = argument(1)
            if let map = argument(0) as? [String: Any], let key = key as? String { return map[key] ?? NSNull() }
            if let list = argument(0) as? [Any], let position = (key as? NSNumber)?.intValue ?? Int(Self.format(key)),
                list.indices.contains(position)
            {
                return list[position]
            }
            return NSNull()
        default:
            // `.Label "key"` reads one label, as docker's ps and images formatters allow.
            // The ps and images rows keep the label map under `LabelMap`, and `.Labels` as text.
            if head.hasSuffix(".Label"), let key = arguments.first {
                let labels = Self.lookUp(String(head.dropLast(".Label".count)) + ".LabelMap", in: root)
                return (labels as? [String: Any])?[String(key.dropFirst().dropLast())] ?? ""
            }
            return Self.lookUp(head, in: root)
        }
    }

    private static func lookUp(_ path: String, in root: Any) -> Any {
        var value = root
        for key in path.split(separator: ".") {
            guard let map = value as? [String: Any], let next = map[String(key)] else { return NSNull() }
            value = next
        }
        return value
    }

    /// Formats a value as Go does by default: `map[k:v]`, `[a b]`, `<no value>` when missing.
    static func format(_ value: Any) -> String {
        switch value {
        case let text as JSONText: return text.text
        case let string as String: return string
        case let number as NSNumber:
            // JSONSerialization gives booleans the Objective-C type `c`.
            if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
            return number.stringValue
        case let list as [Any]: return "[" + list.map(format).joined(separator: " ") + "]"
        case let map as [String: Any]:
            return "map[" + map.keys.sorted().map { "\($0):\(format(map[$0]!))" }.joined(separator: " ") + "]"
        case is NSNull: return "<no value>"
        default: return "\(value)"
        }
    }

    static func json(_ value: Any) -> String {
        if value is NSNull { return "null" }
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func headerName(_ field: String) -> String {
        var name = ""
        var previous: Character?
        for character in field {
            if character.isUppercase, let previous, previous.isLowercase { name += " " }
            name.append(character)
            previous = character
        }
        return name.uppercased()
    }

    /// Splits an action into words, keeping double-quoted strings whole (with their quotes).
    private static func words(_ text: String, format: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if character == " " && !quoted {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !quoted else { throw UsageFailure(message: "invalid format \(format): unterminated quoted string") }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

/// Already-encoded JSON text, printed as is.
private struct JSONText {
    var text: String
}
