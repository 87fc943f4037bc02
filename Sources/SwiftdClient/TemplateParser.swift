import Foundation

/// The parsed form of a Go text/template: text, output actions and the `if`, `range` and
/// `with` blocks, as Go's `text/template/parse` package builds them.
indirect enum TemplateNode {
    case text(String)
    case output(TemplatePipeline)
    /// `{{if}}`, with each `{{else if}}` as a further branch, and the `{{else}}` nodes.
    case branches([(condition: TemplatePipeline, body: [TemplateNode])], otherwise: [TemplateNode])
    case range(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
    case with(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
}

/// Commands joined by `|`, each one's value passed as the last argument of the next, with the
/// variables that `$x :=` or `$key, $value :=` declare.
struct TemplatePipeline {
    var variables: [String] = []
    /// True for `=`, which sets variables declared earlier, rather than `:=`.
    var isAssignment = false
    var commands: [[TemplateOperand]] = []
}

/// One argument of a command.
indirect enum TemplateOperand {
    /// `.A.B` from dot; `.` alone is an empty path.
    case field([String])
    /// `$name.A.B`; `$` is the data the template runs on.
    case variable(String, [String])
    case function(String)
    case string(String)
    case number(NSNumber)
    case bool(Bool)
    case null
    /// `(pipeline)`, optionally followed by `.A.B`.
    case group(TemplatePipeline, [String])
}

/// The parser of `--format` strings into `TemplateNode`s. A format that does not parse is a
/// `UsageFailure`, which the client prints with the usage hint and exits 125.
struct TemplateParser {
    private let format: String
    private var tokens: [Token] = []
    private var position = 0

    /// The functions a template may call: Go's built-ins and those the docker CLI adds.
    static let functions: Set<String> = [
        "and", "or", "not", "len", "index", "print", "printf", "println", "eq", "ne", "lt", "le", "gt",
        "ge", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
    ]

    init(format: String) {
        self.format = format
    }

    /// Parses `source` into nodes.
    ///
    /// - Throws: `UsageFailure` naming the format for an unclosed action, an unknown function,
    ///   a block without `{{end}}`, or an action that is not well formed.
    mutating func parse(_ source: String) throws -> [TemplateNode] {
        var items = try split(source)
        var index = 0
        let nodes = try parseList(&items, &index, ending: [])
        if index < items.count { throw failure("unexpected {{\(items[index].keyword ?? "")}}") }
        return nodes.nodes
    }

    // MARK: Actions and text

    private enum Item {
        case text(String)
        case action(String)

        var keyword: String? {
            guard case .action(let inner) = self else { return nil }
            return inner.split(separator: " ", maxSplits: 1).first.map(String.init)
        }
    }

    /// Splits the source into text and action contents, applying the `{{- ` and ` -}}` trim
    /// markers and dropping `{{/* comments */}}`.
    private func split(_ source: String) throws -> [Item] {
        var items: [Item] = []
        var rest = Substring(source)
        var trimNext = false
        while let open = rest.range(of: "{{") {
            var text = String(rest[..<open.lowerBound])
            if trimNext { text = String(text.drop { $0.isWhitespace }) }
            var inner = rest[open.upperBound...]
            guard let close = inner.range(of: "}}") else { throw failure("unclosed {{") }
            inner = inner[..<close.lowerBound]
            if inner.hasPrefix("- ") || inner.hasPrefix("-\t") || inner.hasPrefix("-\n") || inner == "-" {
                while text.last?.isWhitespace == true { text.removeLast() }
                inner = inner.dropFirst()
            }
            trimNext = inner.hasSuffix(" -") || inner.hasSuffix("\t-") || inner.hasSuffix("\n-")
            if trimNext { inner = inner.dropLast() }
            if !text.isEmpty { items.append(.text(text)) }
            let trimmed = inner.trimmingCharacters(in: .whitespacesAndNewlines)
            if !(trimmed.hasPrefix("/*") && trimmed.hasSuffix("*/")) {
                guard !trimmed.isEmpty else { throw failure("missing value for command") }
                items.append(.action(trimmed))
            }
            rest = rest[close.upperBound...]
        }
        var text = String(rest)
        if trimNext { text = String(text.drop { $0.isWhitespace }) }
        if !text.isEmpty { items.append(.text(text)) }
        return items
    }

    /// Parses items until one whose keyword is in `ending`, which is left at `index`.
    private mutating func parseList(_ items: inout [Item], _ index: inout Int, ending: Set<String>) throws
        -> (nodes: [TemplateNode], end: String?)
    {
        var nodes: [TemplateNode] = []
        while index < items.count {
            let item = items[index]
            guard case .action(let inner) = item else {
                if case .text(let text) = item { nodes.append(.text(text)) }
                index += 1
                continue
            }
            let keyword = item.keyword ?? ""
            if ending.contains(keyword) { return (nodes, keyword) }
            index += 1
            let rest = String(inner.dropFirst(keyword.count)).trimmingCharacters(in: .whitespaces)
            switch keyword {
            case "if":
                nodes.append(try parseIf(rest, &items, &index))
            case "range", "with":
                let pipeline = try parsePipeline(rest)
                let (body, end) = try parseList(&items, &index, ending: ["else", "end"])
                var otherwise: [TemplateNode] = []
                if end == "else" {
                    index += 1
                    otherwise = try parseList(&items, &index, ending: ["end"]).nodes
                }
                try expectEnd(items, &index, keyword)
                nodes.append(
                    keyword == "range"
                        ? .range(pipeline, body: body, otherwise: otherwise)
                        : .with(pipeline, body: body, otherwise: otherwise))
            case "else", "end":
                throw failure("unexpected {{\(keyword)}}")
            case "define", "template", "block", "break", "continue":
                throw failure("{{\(keyword)}} is not supported")
            default:
                nodes.append(.output(try parsePipeline(inner)))
            }
        }
        if !ending.isEmpty { throw failure("unexpected EOF: missing {{end}}") }
        return (nodes, nil)
    }

    /// Parses an `if` block after its keyword; `{{else if …}}` adds a branch.
    private mutating func parseIf(_ condition: String, _ items: inout [Item], _ index: inout Int) throws
        -> TemplateNode
    {
        var branches: [(condition: TemplatePipeline, body: [TemplateNode])] = []
        var pipeline = try parsePipeline(condition)
        while true {
            let (body, end) = try parseList(&items, &index, ending: ["else", "end"])
            branches.append((pipeline, body))
            guard end == "else", case .action(let inner) = items[index] else { break }
            index += 1
            let rest = inner.dropFirst("else".count).trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("if ") {
                pipeline = try parsePipeline(String(rest.dropFirst("if ".count)))
                continue
            }
            guard rest.isEmpty else { throw failure("unexpected \"\(rest)\" in else") }
            let otherwise = try parseList(&items, &index, ending: ["end"]).nodes
            try expectEnd(items, &index, "if")
            return .branches(branches, otherwise: otherwise)
        }
        try expectEnd(items, &index, "if")
        return .branches(branches, otherwise: [])
    }

    private func expectEnd(_ items: [Item], _ index: inout Int, _ keyword: String) throws {
        guard index < items.count, items[index].keyword == "end" else {
            throw failure("unexpected EOF: missing {{end}} for {{\(keyword)}}")
        }
        guard case .action(let inner) = items[index], inner == "end" else {
            throw failure("unexpected arguments after {{end}}")
        }
        index += 1
    }

    // MARK: Pipelines

    private struct Token {
        enum Kind: Equatable {
            case field([String]), variable(String, [String]), identifier(String), string(String)
            case number(String), pipe, open, close, declare, assign, comma
        }

        var kind: Kind
        /// Whether white space comes before the token, which separates `(x).A` from `(x) .A`.
        var spaced: Bool
    }

    private mutating func parsePipeline(_ text: String) throws -> TemplatePipeline {
        tokens = try tokenize(text)
        position = 0
        let pipeline = try pipelineTokens()
        if position < tokens.count { throw failure("unexpected \(describe(tokens[position].kind)) in \(text)") }
        return pipeline
    }

    private mutating func pipelineTokens() throws -> TemplatePipeline {
        var pipeline = TemplatePipeline()
        // `$x :=`, `$key, $value :=` or `$x =` before the commands.
        var lookahead = position
        var names: [String] = []
        while lookahead < tokens.count, case .variable(let name, let path) = tokens[lookahead].kind, path.isEmpty {
            names.append(name)
            lookahead += 1
            if lookahead < tokens.count, tokens[lookahead].kind == .comma, names.count == 1 {
                lookahead += 1
                continue
            }
            break
        }
        if !names.isEmpty, lookahead < tokens.count,
            tokens[lookahead].kind == .declare || tokens[lookahead].kind == .assign
        {
            pipeline.variables = names
            pipeline.isAssignment = tokens[lookahead].kind == .assign
            position = lookahead + 1
        }
        while true {
            var operands: [TemplateOperand] = []
            while position < tokens.count, tokens[position].kind != .pipe, tokens[position].kind != .close {
                operands.append(try operand())
            }
            guard !operands.isEmpty else { throw failure("missing value for command") }
            if !pipeline.commands.isEmpty {
                // A later stage gets the value before it as its last argument.
                guard case .function = operands[0] else {
                    throw failure("non-function command in pipeline stage \(pipeline.commands.count + 1)")
                }
            }
            pipeline.commands.append(operands)
            guard position < tokens.count, tokens[position].kind == .pipe else { return pipeline }
            position += 1
        }
    }

    private mutating func operand() throws -> TemplateOperand {
        let token = tokens[position]
        position += 1
        switch token.kind {
        case .field(let path): return .field(path)
        case .variable(let name, let path): return .variable(name, path)
        case .string(let text): return .string(text)
        case .number(let text):
            if let integer = Int64(text) { return .number(NSNumber(value: integer)) }
            guard let value = Double(text) else { throw failure("bad number syntax: \(text)") }
            return .number(NSNumber(value: value))
        case .identifier("true"): return .bool(true)
        case .identifier("false"): return .bool(false)
        case .identifier("nil"): return .null
        case .identifier(let name):
            guard Self.functions.contains(name) else { throw failure("function \"\(name)\" not defined") }
            return .function(name)
        case .open:
            let inner = try pipelineTokens()
            guard position < tokens.count, tokens[position].kind == .close else { throw failure("unclosed left paren") }
            position += 1
            var path: [String] = []
            if position < tokens.count, !tokens[position].spaced, case .field(let fields) = tokens[position].kind {
                path = fields
                position += 1
            }
            return .group(inner, path)
        default:
            throw failure("unexpected \(describe(token.kind)) in command")
        }
    }

    private func describe(_ kind: Token.Kind) -> String {
        switch kind {
        case .pipe: "\"|\""
        case .open: "\"(\""
        case .close: "\")\""
        case .declare: "\":=\""
        case .assign: "\"=\""
        case .comma: "\",\""
        default: "\(kind)"
        }
    }

    /// Splits an action into tokens: fields, variables, identifiers, quoted and raw strings,
    /// numbers and punctuation.
    private func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        var spaced = true
        func isNameCharacter(_ character: Character) -> Bool {
            character.isLetter || character.isNumber || character == "_"
        }
        func path(from start: Int) -> (path: [String], end: Int) {
            var end = start
            var path: [String] = []
            while end < characters.count, characters[end] == "." {
                var name = ""
                end += 1
                while end < characters.count, isNameCharacter(characters[end]) {
                    name.append(characters[end])
                    end += 1
                }
                if name.isEmpty { break }
                path.append(name)
            }
            return (path, end)
        }
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                spaced = true
                index += 1
                continue
            }
            var kind: Token.Kind
            switch character {
            case ".":
                let (fields, end) = path(from: index)
                // A lone `.` is dot itself.
                kind = .field(fields)
                index = fields.isEmpty ? index + 1 : end
            case "$":
                var name = "$"
                index += 1
                while index < characters.count, isNameCharacter(characters[index]) {
                    name.append(characters[index])
                    index += 1
                }
                let (fields, end) = path(from: index)
                kind = .variable(name, fields)
                index = end
            case "\"":
                var value = ""
                index += 1
                while index < characters.count, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < characters.count {
                        index += 1
                        let escapes: [Character: Character] = ["n": "\n", "t": "\t", "r": "\r", "\\": "\\", "\"": "\""]
                        guard let escaped = escapes[characters[index]] else {
                            throw failure("unknown escape sequence \\\(characters[index])")
                        }
                        value.append(escaped)
                    } else {
                        value.append(characters[index])
                    }
                    index += 1
                }
                guard index < characters.count else { throw failure("unterminated quoted string") }
                index += 1
                kind = .string(value)
            case "`":
                guard let end = characters[(index + 1)...].firstIndex(of: "`") else {
                    throw failure("unterminated raw quoted string")
                }
                kind = .string(String(characters[(index + 1)..<end]))
                index = end + 1
            case "|": (kind, index) = (.pipe, index + 1)
            case "(": (kind, index) = (.open, index + 1)
            case ")": (kind, index) = (.close, index + 1)
            case ",": (kind, index) = (.comma, index + 1)
            case "=": (kind, index) = (.assign, index + 1)
            case ":":
                guard index + 1 < characters.count, characters[index + 1] == "=" else {
                    throw failure("expected := in \(text)")
                }
                (kind, index) = (.declare, index + 2)
            default:
                if character.isNumber || character == "-" || character == "+" {
                    var number = String(character)
                    index += 1
                    while index < characters.count, characters[index].isNumber || ".eExX_abcdefABCDEF".contains(characters[index]) {
                        number.append(characters[index])
                        index += 1
                    }
                    kind = .number(number)
                } else if isNameCharacter(character) {
                    var name = ""
                    while index < characters.count, isNameCharacter(characters[index]) {
                        name.append(characters[index])
                        index += 1
                    }
                    kind = .identifier(name)
                } else {
                    throw failure("unexpected \"\(character)\" in command")
                }
            }
            tokens.append(Token(kind: kind, spaced: spaced))
            spaced = false
        }
        return tokens
    }

    private func failure(_ reason: String) -> UsageFailure {
        UsageFailure(message: "invalid format \(format): \(reason)")
    }
}
