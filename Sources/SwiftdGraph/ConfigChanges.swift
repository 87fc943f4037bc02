import Foundation
import SwiftdSystem

extension ImageConfig.ContainerConfig {
    /// Applies Dockerfile-style instructions, as `docker import --change` and
    /// `docker commit --change` take them: `CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`,
    /// `ONBUILD` (rejected, because swiftd has no builder), `STOPSIGNAL`, `USER`, `VOLUME` and
    /// `WORKDIR`. `CMD` and `ENTRYPOINT` take the JSON form (`["a","b"]`) or the shell form
    /// (`echo hi`, run as `/bin/sh -c "echo hi"`).
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` naming the instruction that is unknown or
    ///   malformed; the config is unchanged then.
    public mutating func apply(changes: [String]) throws {
        var result = self
        for change in changes {
            let line = change.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let keyword = String(line.prefix { !$0.isWhitespace })
            let rest = line.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
            guard !rest.isEmpty else {
                throw SwiftdError(.invalidArgument, "\(keyword.uppercased()) requires at least one argument")
            }
            switch keyword.uppercased() {
            case "CMD": result.cmd = try commandForm(rest, instruction: "CMD")
            case "ENTRYPOINT": result.entrypoint = try commandForm(rest, instruction: "ENTRYPOINT")
            case "ENV": result.env = mergeEnvironment(result.env ?? [], try keyValues(rest, instruction: "ENV"))
            case "LABEL":
                var labels = result.labels ?? [:]
                for (key, value) in try keyValues(rest, instruction: "LABEL") { labels[key] = value }
                result.labels = labels
            case "EXPOSE":
                var ports = result.exposedPorts ?? [:]
                for port in rest.split(whereSeparator: \.isWhitespace) {
                    ports[try exposedPort(String(port))] = EmptyObject()
                }
                result.exposedPorts = ports
            case "VOLUME":
                var volumes = result.volumes ?? [:]
                let paths = rest.hasPrefix("[")
                    ? try jsonStrings(rest, instruction: "VOLUME")
                    : rest.split(whereSeparator: \.isWhitespace).map(String.init)
                for path in paths {
                    guard path.hasPrefix("/") else {
                        throw SwiftdError(.invalidArgument, "VOLUME path must be absolute: \(path)")
                    }
                    volumes[path] = EmptyObject()
                }
                result.volumes = volumes
            case "USER": result.user = rest
            case "WORKDIR":
                guard rest.hasPrefix("/") else {
                    throw SwiftdError(.invalidArgument, "WORKDIR must be an absolute path: \(rest)")
                }
                result.workingDir = rest
            case "STOPSIGNAL": result.stopSignal = rest
            case "ONBUILD":
                throw SwiftdError(.invalidArgument, "ONBUILD is not supported: swiftd has no builder")
            default:
                throw SwiftdError(
                    .invalidArgument,
                    "\(keyword) is not a valid change command; use CMD, ENTRYPOINT, ENV, EXPOSE, "
                        + "LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR")
            }
        }
        self = result
    }
}

/// `["a","b"]` as given, anything else as `/bin/sh -c TEXT`.
private func commandForm(_ text: String, instruction: String) throws -> [String] {
    if text.hasPrefix("["), let strings = try? jsonStrings(text, instruction: instruction) {
        return strings
    }
    return ["/bin/sh", "-c", text]
}

private func jsonStrings(_ text: String, instruction: String) throws -> [String] {
    guard let strings = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
        throw SwiftdError(.invalidArgument, "\(instruction) takes a JSON array of strings: \(text)")
    }
    return strings
}

/// `K=V K2="V 2"` pairs, or the old `K V…` form with a single key.
private func keyValues(_ text: String, instruction: String) throws -> [(String, String)] {
    let words = try shellWords(text, instruction: instruction)
    guard let first = words.first else { return [] }
    if !first.contains("=") {
        let value = text.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else {
            throw SwiftdError(.invalidArgument, "\(instruction) \(first) needs a value: use \(first)=VALUE")
        }
        return [(first, value)]
    }
    return try words.map { word in
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
            throw SwiftdError(.invalidArgument, "\(instruction) names must be followed by =VALUE: \(word)")
        }
        return (String(word[..<equals]), String(word[word.index(after: equals)...]))
    }
}

/// Splits at unquoted white space; double and single quotes group, a backslash escapes.
private func shellWords(_ text: String, instruction: String) throws -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for character in text {
        if escaped {
            word.append(character)
            escaped = false
        } else if character == "\\" && quote != "'" {
            escaped = true
            inWord = true
        } else if let open = quote {
            if character == open { quote = nil } else { word.append(character) }
        } else if character == "\"" || character == "'" {
            quote = character
            inWord = true
        } else if character.isWhitespace {
            if inWord { words.append(word) }
            word = ""
            inWord = false
        } else {
            word.append(character)
            inWord = true
        }
    }
    guard quote == nil, !escaped else {
        throw SwiftdError(.invalidArgument, "\(instruction) has an unterminated quote: \(text)")
    }
    if inWord { words.append(word) }
    return words
}

/// Replaces variables already set and appends new ones, keeping the order.
private func mergeEnvironment(_ environment: [String], _ pairs: [(String, String)]) -> [String] {
    var result = environment
    for (key, value) in pairs {
        let entry = "\(key)=\(value)"
        if let index = result.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) {
            result[index] = entry
        } else {
            result.append(entry)
        }
    }
    return result
}

/// `80` → `80/tcp`; `53/udp` as given; the port must be 1–65535 and the protocol tcp, udp
/// or sctp.
private func exposedPort(_ text: String) throws -> String {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
    guard parts.count <= 2, let port = Int(parts[0]), (1...65535).contains(port),
        ["tcp", "udp", "sctp"].contains(proto)
    else {
        throw SwiftdError(.invalidArgument, "EXPOSE: invalid port: \(text)")
    }
    return "\(port)/\(proto)"
}
