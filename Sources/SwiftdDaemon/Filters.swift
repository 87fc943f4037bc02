import Foundation
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The `filters` query parameter of the list endpoints, parsed: each key maps to its accepted
/// values, and a resource passes when, for every key, it matches one of the values.
struct FilterArguments {
    private(set) var values: [String: [String]] = [:]

    /// Parses `{"key":["v1","v2"]}` or the older `{"key":{"v1":true}}`.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for malformed JSON ("invalid filters") and
    ///   for a key not in `allowed` ("invalid filter 'KEY'"), as dockerd words them.
    init(json: String?, allowed: Set<String>) throws {
        guard let json, !json.isEmpty else { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        else {
            throw SwiftdError(.invalidArgument, "invalid filters: \(json)")
        }
        for (key, value) in object {
            guard allowed.contains(key) else {
                throw SwiftdError(.invalidArgument, "invalid filter '\(key)'")
            }
            if let list = value as? [String] {
                values[key] = list
            } else if let map = value as? [String: Bool] {
                values[key] = map.filter(\.value).map(\.key)
            } else {
                throw SwiftdError(.invalidArgument, "invalid filters: \(key) must be a list of strings")
            }
        }
    }

    /// The accepted values of `key`, or nil when the filter is absent or empty.
    subscript(key: String) -> [String]? {
        guard let list = values[key], !list.isEmpty else { return nil }
        return list
    }

    /// The one boolean value of `key` (`true`/`1` or `false`/`0`), or nil when absent.
    ///
    /// - Throws: `SwiftdError(.invalidArgument)` for anything else.
    func bool(_ key: String) throws -> Bool? {
        guard let list = self[key] else { return nil }
        let parsed = Set(try list.map { value -> Bool in
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default:
                throw SwiftdError(.invalidArgument, "invalid filter '\(key)=\(value)': expected true or false")
            }
        })
        guard parsed.count == 1, let only = parsed.first else {
            throw SwiftdError(.invalidArgument, "invalid filter '\(key)': both true and false given")
        }
        return only
    }

    /// True when `labels` satisfy every `label` value: `KEY` (present) or `KEY=VALUE`.
    func labelsMatch(_ labels: [String: String], key: String = "label") -> Bool {
        guard let wanted = self[key] else { return true }
        return wanted.allSatisfy { Self.labelMatches($0, labels) }
    }

    /// True when `labels` has `label`, given as `KEY` (present) or `KEY=VALUE`.
    static func labelMatches(_ label: String, _ labels: [String: String]) -> Bool {
        let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
        guard let first = parts.first, let value = labels[first] else { return false }
        return parts.count == 1 || value == parts[1]
    }
}

/// Shell-style matching of `*`, `?` and `[...]` against a whole string, as Go's `path.Match`
/// does for the `reference` filter (a `*` does not cross a `/`).
func globMatches(_ pattern: String, _ text: String) -> Bool {
    fnmatch(pattern, text, FNM_PATHNAME) == 0
}
