/// A small parser for docker-style command flags: `--name x`, `--name=x`, `-e K=V`, and
/// bundled short booleans such as `-aq`.
struct FlagParser {
    /// A flag's spellings and whether it takes a value.
    struct Flag {
        var names: [String]
        var takesValue: Bool
    }

    private let flags: [Flag]
    /// Values by the first spelling of each flag; booleans hold "true".
    private(set) var values: [String: [String]] = [:]
    private(set) var positional: [String] = []

    init(_ flags: [Flag]) { self.flags = flags }

    /// Parses `arguments`; with `stopAtPositional`, everything from the first positional
    /// argument on is positional (the command of `run`).
    ///
    /// - Throws: `HelpRequest` for an undeclared `--help` or `-h`, `UsageFailure` for any
    ///   other unknown flag or a missing value.
    mutating func parse(_ arguments: [String], stopAtPositional: Bool = false) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                positional += arguments[index...]
                return
            }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                positional.append(argument)
                if stopAtPositional {
                    positional += arguments[index...]
                    return
                }
                continue
            }
            var name = argument
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            } else if !argument.hasPrefix("--"), argument.count > 2 {
                // `-aq` bundles booleans; `-eK=V` glues a value to a short flag.
                let letters = argument.dropFirst().map { "-\($0)" }
                if letters.allSatisfy({ flag(named: $0).map { !$0.takesValue } ?? false }) {
                    for letter in letters { try record(letter, nil) }
                    continue
                }
                name = String(argument.prefix(2))
                inline = String(argument.dropFirst(2))
                // `-p=false` spells the value of a short flag with an equals sign.
                if inline?.hasPrefix("=") == true { inline?.removeFirst() }
            }
            guard let flag = flag(named: name) else {
                // `-h` is help unless the command declares it, as `run -h HOSTNAME` does.
                if name == "--help" || name == "-h" { throw HelpRequest() }
                throw UsageFailure(message: "unknown flag: \(name)")
            }
            if flag.takesValue {
                if inline == nil {
                    guard index < arguments.count else { throw UsageFailure(message: "flag needs an argument: \(name)") }
                    inline = arguments[index]
                    index += 1
                }
                try record(name, inline)
            } else {
                if let inline, !["true", "false", "1", "0"].contains(inline) {
                    throw UsageFailure(message: "invalid boolean value \"\(inline)\" for \(name)")
                }
                if inline == "false" || inline == "0" { continue }
                try record(name, nil)
            }
        }
    }

    private func flag(named name: String) -> Flag? {
        flags.first { $0.names.contains(name) }
    }

    private mutating func record(_ name: String, _ value: String?) throws {
        guard let flag = flag(named: name) else { throw UsageFailure(message: "unknown flag: \(name)") }
        values[flag.names[0], default: []].append(value ?? "true")
    }

    func bool(_ name: String) -> Bool { values[name] != nil }

    func string(_ name: String) -> String? { values[name]?.last }

    func strings(_ name: String) -> [String] { values[name] ?? [] }

    /// Returns the `--format` template of a listing command, or nil for its default table: no
    /// flag, or `table` alone, which the docker CLI takes as the default table too.
    func listFormat(_ name: String = "--format") -> String? {
        guard let format = string(name), format.trimmingCharacters(in: .whitespaces) != "table"
        else { return nil }
        return format
    }
}

/// Parses a memory size as docker does: a number with an optional b, k, m or g suffix in
/// binary units. The spellings `kb`, `mib` and so on are accepted too.
func parseMemorySize(_ text: String) -> Int64? {
    var digits = text.lowercased()
    for suffix in ["ib", "b"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
        let trimmed = String(digits.dropLast(suffix.count))
        if trimmed.last.map({ "kmgt".contains($0) }) == true || suffix == "b" {
            digits = trimmed
            break
        }
    }
    var multiplier: Int64 = 1
    if let last = digits.last, let power = ["k": 1, "m": 2, "g": 3, "t": 4][String(last)] {
        multiplier = Int64(1) << (10 * power)
        digits.removeLast()
    }
    guard let value = Double(digits), value >= 0, value.isFinite else { return nil }
    let bytes = value * Double(multiplier)
    // Int64 cannot hold 2^63 or more: such sizes are invalid, not a crash.
    guard bytes < 9.2e18 else { return nil }
    return Int64(bytes)
}
