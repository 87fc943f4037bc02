import Foundation

/// A `--format` template in Go's text/template language, as the docker CLI takes it.
///
/// Actions are fields (`{{.Field.Sub}}`), pipelines (`{{.Names | upper}}`), variables,
/// `{{if}}`/`{{else if}}`/`{{else}}`, `{{range}}` (also with `$key, $value :=`) and `{{with}}`.
/// The functions are Go's (`len`, `index`, `printf`, `eq`, `and`, …) and the docker CLI's
/// (`json`, `join`, `split`, `upper`, `lower`, `title`, `pad`, `truncate`). The `table` prefix
/// adds a header row and aligns columns, and `json` alone prints each value as one line of JSON.
///
/// Templates run on JSON-like trees (dictionaries, arrays, strings, numbers, booleans and
/// NSNull) and on `LabeledRow`s.
struct OutputTemplate {
    private let nodes: [TemplateNode]
    /// True for `table …`: a header row and aligned columns.
    let isTable: Bool
    /// True for the bare `json` format.
    let isJSONLines: Bool
    /// Header names for fields whose docker header is not the field name (`ID` is
    /// `CONTAINER ID` in ps).
    let headers: [String: String]

    /// Parses `format`.
    ///
    /// - Throws: `UsageFailure` naming the format for an unclosed action, an unknown function,
    ///   a block without `{{end}}` or another parse error.
    init(_ format: String, headers: [String: String] = [:]) throws {
        self.headers = headers
        var source = format
        isJSONLines = format == "json"
        isTable = source.hasPrefix("table")
        if isTable { source = String(source.dropFirst("table".count)).trimmingCharacters(in: .whitespaces) }
        source = source.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
        var parser = TemplateParser(format: format)
        nodes = isJSONLines ? [] : try parser.parse(source)
    }

    /// The header row of a table: the template run on a value whose every field is its header
    /// name, upper-cased with spaces before inner capitals (`.RunningFor` is `RUNNING FOR`).
    var header: String {
        var output = ""
        var variables: [(String, Any)] = [("$", HeaderRow(names: headers))]
        // A template that only works on real rows (a range, say) gets an empty header.
        try? execute(nodes, dot: HeaderRow(names: headers), variables: &variables, into: &output)
        return output
    }

    /// Renders the template against `value`.
    ///
    /// - Throws: `TemplateError` when a function fails, such as `len` of a number.
    func render(_ value: Any) throws -> String {
        if isJSONLines { return TemplateValue.json(value) }
        var output = ""
        var variables: [(String, Any)] = [("$", value)]
        try execute(nodes, dot: value, variables: &variables, into: &output)
        return output
    }

    /// Renders every value; a table gets its header and columns aligned as docker aligns them.
    ///
    /// - Throws: what `render(_:)` throws.
    func render(all values: [Any]) throws -> String {
        let lines = try values.map { try render($0) }
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

    // MARK: Execution

    private func execute(
        _ nodes: [TemplateNode], dot: Any, variables: inout [(String, Any)], into output: inout String
    ) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .output(let pipeline):
                let value = try evaluate(pipeline, dot: dot, variables: &variables)
                // A declaration prints nothing.
                if pipeline.variables.isEmpty { output += TemplateValue.format(value) }
            case .branches(let branches, let otherwise):
                let scope = variables.count
                defer { variables.removeLast(variables.count - scope) }
                var taken = false
                for branch in branches {
                    if TemplateValue.isTrue(try evaluate(branch.condition, dot: dot, variables: &variables)) {
                        try execute(branch.body, dot: dot, variables: &variables, into: &output)
                        taken = true
                        break
                    }
                }
                if !taken { try execute(otherwise, dot: dot, variables: &variables, into: &output) }
            case .with(let pipeline, let body, let otherwise):
                let scope = variables.count
                defer { variables.removeLast(variables.count - scope) }
                let value = try evaluate(pipeline, dot: dot, variables: &variables)
                if TemplateValue.isTrue(value) {
                    try execute(body, dot: value, variables: &variables, into: &output)
                } else {
                    try execute(otherwise, dot: dot, variables: &variables, into: &output)
                }
            case .range(let pipeline, let body, let otherwise):
                try range(pipeline, body, otherwise, dot: dot, variables: &variables, into: &output)
            }
        }
    }

    /// Runs `body` for each element of a list, or each value of a map in key order, with dot
    /// set to it. `$value :=` or `$key, $value :=` name the element and its index or key.
    private func range(
        _ pipeline: TemplatePipeline, _ body: [TemplateNode], _ otherwise: [TemplateNode],
        dot: Any, variables: inout [(String, Any)], into output: inout String
    ) throws {
        var loop = pipeline
        loop.variables = []
        let value = try evaluate(loop, dot: dot, variables: &variables)
        let elements: [(key: Any, value: Any)]
        switch TemplateValue.unwrap(value) {
        case let list as [Any]:
            elements = list.enumerated().map { (NSNumber(value: $0.offset), $0.element) }
        case let map as [String: Any]:
            elements = map.keys.sorted().map { ($0, map[$0] ?? NSNull()) }
        case is NSNull:
            elements = []
        default:
            throw TemplateError("range can't iterate over \(TemplateValue.format(value))")
        }
        guard !elements.isEmpty else {
            try execute(otherwise, dot: dot, variables: &variables, into: &output)
            return
        }
        for element in elements {
            let scope = variables.count
            switch pipeline.variables.count {
            case 1: variables.append((pipeline.variables[0], element.value))
            case 2: variables += [(pipeline.variables[0], element.key), (pipeline.variables[1], element.value)]
            default: break
            }
            try execute(body, dot: element.value, variables: &variables, into: &output)
            variables.removeLast(variables.count - scope)
        }
    }

    private func evaluate(_ pipeline: TemplatePipeline, dot: Any, variables: inout [(String, Any)]) throws -> Any {
        var value: Any?
        for command in pipeline.commands {
            value = try call(command, dot: dot, variables: &variables, piped: value)
        }
        let result = value ?? NSNull()
        if pipeline.isAssignment {
            for name in pipeline.variables {
                guard let index = variables.lastIndex(where: { $0.0 == name }) else {
                    throw TemplateError("undefined variable: \(name)")
                }
                variables[index].1 = result
            }
        } else if let name = pipeline.variables.first {
            variables.append((name, result))
        }
        return result
    }

    private func call(
        _ command: [TemplateOperand], dot: Any, variables: inout [(String, Any)], piped: Any?
    ) throws -> Any {
        var arguments: [Any] = []
        for operand in command.dropFirst() { arguments.append(try value(of: operand, dot: dot, variables: &variables)) }
        if let piped { arguments.append(piped) }
        switch command[0] {
        case .function(let name):
            return try TemplateFunctions.call(name, arguments)
        case .field(let path) where path.last == "Label" && !arguments.isEmpty:
            // `.Label "key"`: the method of the docker CLI's ps and images rows.
            let receiver = TemplateValue.lookUp(Array(path.dropLast()), in: dot)
            guard arguments.count == 1, let key = arguments[0] as? String else {
                throw TemplateError("wrong number of args for Label: want 1 got \(arguments.count)")
            }
            if receiver is HeaderRow { return "LABEL" }
            guard let row = receiver as? LabeledRow else { throw TemplateError("Label is not a method of this value") }
            return row.labels[key] ?? ""
        default:
            guard arguments.isEmpty else { throw TemplateError("can't give argument to non-function \(command[0])") }
            return try value(of: command[0], dot: dot, variables: &variables)
        }
    }

    private func value(of operand: TemplateOperand, dot: Any, variables: inout [(String, Any)]) throws -> Any {
        switch operand {
        case .field(let path):
            return TemplateValue.lookUp(path, in: dot)
        case .variable(let name, let path):
            guard let variable = variables.last(where: { $0.0 == name }) else {
                throw TemplateError("undefined variable: \(name)")
            }
            return TemplateValue.lookUp(path, in: variable.1)
        case .string(let text): return text
        case .number(let number): return number
        case .bool(let flag): return NSNumber(value: flag)
        case .null: return NSNull()
        case .function(let name): return try TemplateFunctions.call(name, [])
        case .group(let pipeline, let path):
            return TemplateValue.lookUp(path, in: try evaluate(pipeline, dot: dot, variables: &variables))
        }
    }
}

/// A row of `ps` or `images` for a template: its fields, and the labels that `.Label "key"`
/// reads, which `json` leaves out as the docker CLI does.
struct LabeledRow {
    var fields: [String: Any]
    var labels: [String: String]
}

/// The value a table's header row is rendered from: each field reads as its header name.
struct HeaderRow {
    var names: [String: String]

    func header(_ field: String) -> String {
        if let name = names[field] { return name }
        var name = ""
        var previous: Character?
        for character in field {
            if character.isUppercase, let previous, previous.isLowercase { name += " " }
            name.append(character)
            previous = character
        }
        return name.uppercased()
    }
}

/// A failure while a template runs, such as `len` of a number; the client exits 1.
struct TemplateError: Error, CustomStringConvertible {
    var description: String

    init(_ reason: String) { description = "template: \(reason)" }
}
