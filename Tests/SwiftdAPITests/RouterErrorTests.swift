import Foundation
import Testing

@testable import SwiftdAPI

/// Error messages of the API for bad request bodies and query values.
@Suite("Router errors")
struct RouterErrorTests {
    struct Inner: Decodable {
        var Count: Int
    }

    struct Sample: Decodable {
        var Name: String
        var Env: [String]?
        var Memory: Int64?
        var Nested: Inner?
    }

    func message(for json: String) -> String? {
        do {
            _ = try JSONDecoder().decode(Sample.self, from: Data(json.utf8))
            return nil
        } catch {
            let (status, message) = Router.status(for: error)
            #expect(status.code == 400, "\(json)")
            return message
        }
    }

    @Test("decoding errors in JSON terms", arguments: [
        ("[]", "invalid JSON: the top-level value must be an object, found an array"),
        (#"{"Name":5}"#, "invalid JSON: field Name must be a string, found a number"),
        (#"{"Name":null}"#, "invalid JSON: field Name must be a string, not null"),
        (#"{"Name":"x","Env":"a"}"#, "invalid JSON: field Env must be an array, found a string"),
        (#"{"Name":"x","Env":[1]}"#, "invalid JSON: field Env[0] must be a string, found a number"),
        (#"{"Name":"x","Memory":"1"}"#, "invalid JSON: field Memory must be an integer, found a string"),
        (#"{"Name":"x","Nested":{}}"#, "invalid JSON: missing field Nested.Count"),
        (#"{"Name":"x","Nested":[]}"#, "invalid JSON: field Nested must be an object, found an array"),
    ])
    func decodingMessages(_ json: String, _ expected: String) {
        #expect(message(for: json) == expected)
    }

    @Test("malformed JSON names no Swift type")
    func malformedJSON() throws {
        let text = try #require(message(for: "{"))
        #expect(text.hasPrefix("invalid JSON: "))
        #expect(!text.contains("Swift"))
        #expect(!text.contains("Dictionary<"))
    }

    @Test("number out of range", arguments: [#"{"Name":"x","Memory":1e100}"#, #"{"Name":"x","Memory":1.5}"#])
    func numberOutOfRange(_ json: String) {
        do {
            _ = try JSONDecoder().decode(Sample.self, from: Data(json.utf8))
            Issue.record("decoded \(json)")
        } catch {
            let (status, message) = Router.status(for: error, body: json)
            #expect(status.code == 400)
            #expect(message == "invalid JSON: a number is not an integer or out of range for its field")
        }
    }

    @Test("typed query values", arguments: [
        ("limit", "abc", "invalid value \"abc\" for query parameter limit: must be an integer"),
        ("t", "1.5", "invalid value \"1.5\" for query parameter t: must be an integer"),
        ("all", "maybe", "invalid value \"maybe\" for query parameter all: must be a boolean (1, 0, true or false)"),
    ])
    func invalidQueryValues(_ key: String, _ value: String, _ expected: String) {
        #expect(QueryParameters.invalidValue(in: [(key, value)]) == expected)
    }

    @Test("valid query values pass", arguments: [
        ("limit", "5"), ("limit", "-1"), ("limit", ""), ("all", "1"), ("all", "True"), ("all", "false"),
        ("all", ""), ("stream", "0"), ("name", "abc"), ("filters", "{}"),
    ])
    func validQueryValues(_ key: String, _ value: String) {
        #expect(QueryParameters.invalidValue(in: [(key, value)]) == nil)
    }
}
