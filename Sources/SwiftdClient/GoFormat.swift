import Foundation

/// Go's `fmt.Sprintf` for the `printf` template function, with the verbs `%v %s %q %d %f %F
/// %e %g %x %X %t %%`, the flags `-`, `+`, `0` and space, a width and a precision. Errors show
/// in the output as Go shows them: `%!d(string=hi)`, `%!s(MISSING)`, `%!(EXTRA int=1)`.
enum GoFormat {
    private struct Directive {
        var minus = false
        var plus = false
        var zero = false
        var space = false
        var width: Int?
        var precision: Int?
    }

    /// Formats `arguments` by `format`.
    static func format(_ format: String, _ arguments: [Any]) -> String {
        let characters = Array(format)
        var output = ""
        var index = 0
        var next = 0
        while index < characters.count {
            let character = characters[index]
            index += 1
            guard character == "%" else {
                output.append(character)
                continue
            }
            var directive = Directive()
            flags: while index < characters.count {
                switch characters[index] {
                case "-": directive.minus = true
                case "+": directive.plus = true
                case "0": directive.zero = true
                case " ": directive.space = true
                case "#": break
                default: break flags
                }
                index += 1
            }
            directive.width = digits(characters, &index)
            if index < characters.count, characters[index] == "." {
                index += 1
                directive.precision = digits(characters, &index) ?? 0
            }
            // Go's fmt drops a width or precision above 10^6 with a note, then formats.
            if (directive.width ?? 0) > 1_000_000 {
                output += "%!(BADWIDTH)"
                directive.width = nil
            }
            if (directive.precision ?? 0) > 1_000_000 {
                output += "%!(BADPREC)"
                directive.precision = nil
            }
            guard index < characters.count else {
                output += "%!(NOVERB)"
                break
            }
            let verb = characters[index]
            index += 1
            if verb == "%" {
                output += "%"
                continue
            }
            guard next < arguments.count else {
                output += "%!\(verb)(MISSING)"
                continue
            }
            let argument = TemplateValue.unwrap(arguments[next])
            next += 1
            guard let text = convert(argument, verb, directive) else {
                output += "%!\(verb)(\(typeName(argument))=\(TemplateValue.format(argument)))"
                continue
            }
            output += pad(text, directive, numeric: "dfFeEgGxX".contains(verb))
        }
        if next < arguments.count {
            let extra = arguments[next...].map { "\(typeName($0))=\(TemplateValue.format($0))" }
            output += "%!(EXTRA \(extra.joined(separator: ", ")))"
        }
        return output
    }

    private static func digits(_ characters: [Character], _ index: inout Int) -> Int? {
        var value: Int?
        while index < characters.count, let digit = characters[index].wholeNumberValue, characters[index].isASCII {
            // Past 10^7 the value only needs to stay too large.
            value = min((value ?? 0) * 10 + digit, 10_000_000)
            index += 1
        }
        return value
    }

    /// Formats one argument by its verb; nil when the verb does not fit the argument's type.
    private static func convert(_ argument: Any, _ verb: Character, _ directive: Directive) -> String? {
        let number = TemplateValue.number(argument)
        let isBool = number.map(TemplateValue.isBool) ?? false
        let isInteger = number.map { !TemplateValue.isBool($0) && !TemplateValue.isFloat($0) } ?? false
        let isFloat = number.map(TemplateValue.isFloat) ?? false
        func signed(_ text: String) -> String {
            guard !text.hasPrefix("-") else { return text }
            return directive.plus ? "+" + text : (directive.space ? " " + text : text)
        }
        switch verb {
        case "v", "s":
            guard verb == "v" || argument is String || argument is JSONText else { return nil }
            let text = TemplateValue.format(argument)
            return directive.precision.map { String(text.prefix($0)) } ?? text
        case "q":
            guard let string = argument as? String else { return nil }
            return quote(string)
        case "t":
            guard isBool else { return nil }
            return TemplateValue.format(argument)
        case "d":
            guard isInteger, let number else { return nil }
            return signed(String(number.int64Value))
        case "f", "F", "e", "E", "g", "G":
            guard isInteger || isFloat, let number else { return nil }
            let value = number.doubleValue
            if (verb == "g" || verb == "G") && directive.precision == nil {
                // Go's %g is the shortest form that reads back the same.
                return signed(isFloat ? "\(value)" : String(number.int64Value))
            }
            let cVerb = verb == "F" ? "f" : String(verb)
            return signed(String(format: "%.\(directive.precision ?? 6)\(cVerb)", value))
        case "x", "X":
            let text: String
            if isInteger, let number {
                let value = number.int64Value
                text = (value < 0 ? "-" : "") + String(value.magnitude, radix: 16)
            } else if let string = argument as? String {
                text = string.utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            } else {
                return nil
            }
            return verb == "X" ? text.uppercased() : text
        default:
            return nil
        }
    }

    private static func pad(_ text: String, _ directive: Directive, numeric: Bool) -> String {
        guard let width = directive.width, text.count < width else { return text }
        let fill = width - text.count
        if directive.minus { return text + String(repeating: " ", count: fill) }
        guard directive.zero else { return String(repeating: " ", count: fill) + text }
        // Zeros go after the sign of a number.
        if numeric, let sign = text.first, "+- ".contains(sign) {
            return String(sign) + String(repeating: "0", count: fill) + text.dropFirst()
        }
        return String(repeating: "0", count: fill) + text
    }

    /// Quotes a string as Go's `strconv.Quote` does for ASCII control characters.
    static func quote(_ string: String) -> String {
        var output = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\t": output += "\\t"
            case "\r": output += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                output += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    /// Returns the Go type that a JSON value decodes to, for error output.
    private static func typeName(_ value: Any) -> String {
        switch TemplateValue.unwrap(value) {
        case is String: return "string"
        case is [Any]: return "[]interface {}"
        case is [String: Any]: return "map[string]interface {}"
        case is NSNull: return "<nil>"
        case let other:
            guard let number = TemplateValue.number(other) else { return "\(type(of: other))" }
            if TemplateValue.isBool(number) { return "bool" }
            return TemplateValue.isFloat(number) ? "float64" : "int"
        }
    }
}
