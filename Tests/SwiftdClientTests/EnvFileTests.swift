import Foundation
import SwiftdAPI
import Testing

@testable import SwiftdClient

@Suite("EnvFile")
struct EnvFileTests {
    func parse(_ text: String, environment: [String: String] = [:]) throws -> [String] {
        try EnvFile.parse(Array(text.utf8), path: "test.env", environment: environment)
    }

    @Test("values pass through untrimmed")
    func values() throws {
        let entries = try parse("A=1\n  B=two words \nC=\nD==x\nE=\"quoted\"\n")
        #expect(entries == ["A=1", "B=two words ", "C=", "D==x", "E=\"quoted\""])
    }

    @Test("comments and blank lines skipped")
    func comments() throws {
        let entries = try parse("# comment\n\n   \n\t# indented comment\nA=1\n#B=2\n")
        #expect(entries == ["A=1"])
    }

    @Test("bare key takes client value")
    func bareKeys() throws {
        let entries = try parse("HOME\nUNSET_HERE\n", environment: ["HOME": "/root"])
        #expect(entries == ["HOME=/root", "UNSET_HERE"])
    }

    @Test("CRLF, BOM and no final newline")
    func lineEndings() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("A=1\r\nB=2".utf8)
        let entries = try EnvFile.parse(bytes, path: "test.env", environment: [:])
        #expect(entries == ["A=1", "B=2"])
    }

    @Test("malformed lines are rejected", arguments: [
        ("A B=1\n", "variable 'A B' contains whitespaces"),
        ("=1\n", "no variable name on line '=1'"),
        ("KEY \n", "variable 'KEY ' contains whitespaces"),
    ])
    func malformed(_ text: String, _ message: String) {
        do {
            _ = try parse(text)
            Issue.record("expected \(text.debugDescription) to be rejected")
        } catch let error as LocalFailure {
            #expect(error.message.contains(message), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("invalid UTF-8 names the line")
    func invalidUTF8() {
        let bytes = Array("A=1\nB=".utf8) + [0xFF, 0xFE] + [10]
        do {
            _ = try EnvFile.parse(bytes, path: "test.env", environment: [:])
            Issue.record("expected invalid UTF-8 to be rejected")
        } catch let error as LocalFailure {
            #expect(error.message == "env file test.env contains invalid utf8 bytes at line 2")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("missing file names the path")
    func missingFile() {
        do {
            _ = try EnvFile.read("/nonexistent/swiftd.env", environment: [:])
            Issue.record("expected a missing file to fail")
        } catch let error as LocalFailure {
            #expect(error.message == "open /nonexistent/swiftd.env: no such file or directory")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
