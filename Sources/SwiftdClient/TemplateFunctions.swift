import Foundation

/// Value access, truth and printing for templates, following Go's text/template on the trees
/// that `JSONSerialization` makes: NSNumbers (booleans among them), strings, arrays,
/// dictionaries and NSNull.
enum TemplateValue {
    /// Returns the fields of a `LabeledRow`, and any other value as it is.
    static func unwrap(_ value: Any) -> Any {
        (value as? LabeledRow)?.fields ?? value
    }

    /// Follows `path` through dictionaries; a missing key gives NSNull, which prints as
    /// `<no value>` as a missing map key does in Go.
    static func lookUp(_ path: [String], in root: Any) -> Any {
        if let header = root as? HeaderRow, let last = path.last { return header.header(last) }
        var value = root
        for key in path {
            guard let map = unwrap(value) as? [String: Any], let next = map[key] else { return NSNull() }
            value = next
        }
        return value
    }

    /// Returns the NSNumber of a number or boolean, or nil for another value. Values are never
    /// cast to `Bool`, because Foundation casts the NSNumbers 0 and 1 to `Bool` too.
    static func number(_ value: Any) -> NSNumber? {
        if let number = value as? NSNumber { return number }
        if let integer = value as? Int { return NSNumber(value: integer) }
        if let double = value as? Double { return NSNumber(value: double) }
        return nil
    }

    /// Reports whether `number` is a boolean: JSONSerialization and `NSNumber(value:)` give
    /// booleans the Objective-C type `c`.
    static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    /// Reports whether `number` is a floating-point value.
    static func isFloat(_ number: NSNumber) -> Bool {
        ["d", "f"].contains(String(cString: number.objCType))
    }

    /// Go's truth of a value for `if`, `with`, `and`, `or` and `not`: false, zero, an empty
    /// string, list or map, and a missing value are false.
    static func isTrue(_ value: Any) -> Bool {
        switch unwrap(value) {
        case let string as String: return !string.isEmpty
        case let list as [Any]: return !list.isEmpty
        case let map as [String: Any]: return !map.isEmpty
        case is NSNull: return false
        case let other:
            guard let number = number(other) else { return true }
            return isBool(number) ? number.boolValue : number.doubleValue != 0
        }
    }

    /// Formats a value as Go's `%v` does: `map[k:v]`, `[a b]`, `<no value>` when missing.
    static func format(_ value: Any) -> String {
        switch unwrap(value) {
        case let text as JSONText: return text.text
        case let string as String: return string
        case let list as [Any]: return "[" + list.map(format).joined(separator: " ") + "]"
        case let map as [String: Any]:
            return "map[" + map.keys.sorted().map { "\($0):\(format(map[$0] ?? NSNull()))" }.joined(separator: " ") + "]"
        case is NSNull: return "<no value>"
        case let other:
            guard let number = number(other) else { return "\(other)" }
            if isBool(number) { return number.boolValue ? "true" : "false" }
            return number.stringValue
        }
    }

    /// Encodes a value as one line of JSON with sorted keys.
    static func json(_ value: Any) -> String {
        let value = unwrap(value)
        if value is NSNull { return "null" }
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Already-encoded JSON text, printed as is.
struct JSONText {
    var text: String
}

/// The functions of `TemplateParser.functions`.
enum TemplateFunctions {
    /// Calls the function `name` with `arguments`, the value piped in last.
    ///
    /// - Throws: `TemplateError` for a wrong number or type of arguments.
    static func call(_ name: String, _ arguments: [Any]) throws -> Any {
        func expect(_ count: Int) throws {
            guard arguments.count == count else {
                throw TemplateError("wrong number of args for \(name): want \(count) got \(arguments.count)")
            }
        }
        func string(_ index: Int) -> String { TemplateValue.format(arguments[index]) }
        func integer(_ index: Int) throws -> Int {
            guard let number = TemplateValue.number(arguments[index]), !TemplateValue.isBool(number) else {
                throw TemplateError("error calling \(name): expected an integer, got \(string(index))")
            }
            return number.intValue
        }
        switch name {
        case "and", "or":
            guard !arguments.isEmpty else { throw TemplateError("wrong number of args for \(name): want at least 1 got 0") }
            // Go returns the first argument that decides the result, or the last one.
            let decisive = arguments.first { TemplateValue.isTrue($0) == (name == "or") }
            return decisive ?? arguments[arguments.count - 1]
        case "not":
            try expect(1)
            return NSNumber(value: !TemplateValue.isTrue(arguments[0]))
        case "len":
            try expect(1)
            return NSNumber(value: try length(arguments[0]))
        case "index":
            guard !arguments.isEmpty else { throw TemplateError("wrong number of args for index: want at least 1 got 0") }
            return try index(arguments[0], keys: Array(arguments.dropFirst()))
        case "print":
            // Go's Sprint puts a space between operands when neither is a string.
            var output = ""
            for (position, argument) in arguments.enumerated() {
                if position > 0, !(argument is String), !(arguments[position - 1] is String) { output += " " }
                output += TemplateValue.format(argument)
            }
            return output
        case "println":
            return arguments.map(TemplateValue.format).joined(separator: " ") + "\n"
        case "printf":
            guard let format = arguments.first as? String else {
                throw TemplateError("error calling printf: the first argument must be a format string")
            }
            return GoFormat.format(format, Array(arguments.dropFirst()))
        case "eq":
            guard arguments.count >= 2 else { throw TemplateError("wrong number of args for eq: want at least 2 got \(arguments.count)") }
            for other in arguments.dropFirst() where try compare(arguments[0], other) == .orderedSame {
                return NSNumber(value: true)
            }
            return NSNumber(value: false)
        case "ne", "lt", "le", "gt", "ge":
            try expect(2)
            let order = try compare(arguments[0], arguments[1])
            let results: [String: Bool] = [
                "ne": order != .orderedSame, "lt": order == .orderedAscending, "le": order != .orderedDescending,
                "gt": order == .orderedDescending, "ge": order != .orderedAscending,
            ]
            return NSNumber(value: results[name] ?? false)
        case "json":
            try expect(1)
            return JSONText(text: TemplateValue.json(arguments[0]))
        case "split":
            try expect(2)
            return string(0).components(separatedBy: string(1))
        case "join":
            try expect(2)
            let list = (TemplateValue.unwrap(arguments[0]) as? [Any] ?? []).map(TemplateValue.format)
            return list.joined(separator: string(1))
        case "upper":
            try expect(1)
            return string(0).uppercased()
        case "lower":
            try expect(1)
            return string(0).lowercased()
        case "title":
            try expect(1)
            return title(string(0))
        case "pad":
            try expect(3)
            return String(repeating: " ", count: max(0, try integer(1))) + string(0)
                + String(repeating: " ", count: max(0, try integer(2)))
        case "truncate":
            try expect(2)
            return String(string(0).prefix(max(0, try integer(1))))
        default:
            throw TemplateError("function \"\(name)\" not defined")
        }
    }

    /// Returns Go's `len`: the bytes of a string, or the elements of a list or map.
    private static func length(_ value: Any) throws -> Int {
        switch TemplateValue.unwrap(value) {
        case let string as String: return string.utf8.count
        case let list as [Any]: return list.count
        case let map as [String: Any]: return map.count
        default: throw TemplateError("error calling len: len of \(TemplateValue.format(value))")
        }
    }

    /// Returns Go's `index`: each key in turn picks a map value or a list element.
    private static func index(_ value: Any, keys: [Any]) throws -> Any {
        var current = TemplateValue.unwrap(value)
        for key in keys {
            if let map = current as? [String: Any] {
                current = TemplateValue.unwrap(map[TemplateValue.format(key)] ?? NSNull())
            } else if let list = current as? [Any] {
                guard let number = TemplateValue.number(key), !TemplateValue.isBool(number) else {
                    throw TemplateError("error calling index: cannot index slice/array with \(TemplateValue.format(key))")
                }
                guard list.indices.contains(number.intValue) else {
                    throw TemplateError("error calling index: index out of range: \(number.intValue)")
                }
                current = TemplateValue.unwrap(list[number.intValue])
            } else if current is NSNull {
                return NSNull()
            } else {
                throw TemplateError("error calling index: can't index item of \(TemplateValue.format(current))")
            }
        }
        return current
    }

    /// Orders two basic values as Go's comparison functions do: numbers by value, strings
    /// bytewise, booleans only for equality.
    private static func compare(_ left: Any, _ right: Any) throws -> ComparisonResult {
        let left = TemplateValue.unwrap(left)
        let right = TemplateValue.unwrap(right)
        if let left = left as? String, let right = right as? String {
            return left == right ? .orderedSame : (Array(left.utf8).lexicographicallyPrecedes(right.utf8) ? .orderedAscending : .orderedDescending)
        }
        if let left = TemplateValue.number(left), let right = TemplateValue.number(right),
            TemplateValue.isBool(left) == TemplateValue.isBool(right)
        {
            if TemplateValue.isBool(left) {
                return left.boolValue == right.boolValue ? .orderedSame : .orderedAscending
            }
            let (a, b) = (left.doubleValue, right.doubleValue)
            return a == b ? .orderedSame : (a < b ? .orderedAscending : .orderedDescending)
        }
        if left is NSNull && right is NSNull { return .orderedSame }
        throw TemplateError(
            "error calling comparison: incompatible types for comparison: \(TemplateValue.format(left)) and \(TemplateValue.format(right))")
    }

    /// Upper-cases the first letter of each word, leaving the rest as it is, as Go's
    /// `strings.Title` does.
    private static func title(_ text: String) -> String {
        var output = ""
        var previous: Character = " "
        for character in text {
            let startsWord = !(previous.isLetter || previous.isNumber || previous == "_" || previous == "'")
            output += startsWord ? character.uppercased() : String(character)
            previous = character
        }
        return output
    }
}
