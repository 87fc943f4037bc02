import Foundation
import SwiftdSystem
import Testing

@testable import SwiftdDaemon

@Suite("LogOptions")
struct LogOptionsTests {
    @Test("json-file options parse")
    func jsonFileOptions() throws {
        let options = try LogOptions(
            driver: "json-file",
            config: ["max-size": "1k", "max-file": "3", "compress": "true", "mode": "blocking", "tag": "x"])
        #expect(options.driver == "json-file")
        #expect(options.maxSize == 1024)
        #expect(options.maxFile == 3)
        #expect(options.compress)
        let plain = try LogOptions(driver: "json-file", config: [:])
        #expect(plain.maxSize == nil)
        #expect(plain.maxFile == 1)
        #expect(!plain.compress)
    }

    @Test("none accepts any option")
    func noneDriver() throws {
        let options = try LogOptions(driver: "none", config: ["max-size": "what", "colour": "red"])
        #expect(options.driver == "none")
    }

    @Test("compress spellings follow ParseBool", arguments: ["1", "t", "T", "TRUE", "true", "True"])
    func compressSpellings(_ text: String) throws {
        let config = ["max-size": "1m", "max-file": "2", "compress": text]
        #expect(try LogOptions(driver: "json-file", config: config).compress)
    }

    @Test("invalid drivers and options get 400", arguments: [
        ("syslogd", [:], "no log driver named 'syslogd'"),
        ("", [:], "no log driver named ''"),
        ("json-file", ["mode": "fast"], "logging mode not supported: fast"),
        ("json-file", ["max-buffer-size": "4m"], "max-buffer-size option is only supported"),
        ("json-file", ["colour": "red"], "unknown log opt 'colour' for json-file log driver"),
        ("json-file", ["max-size": "10x"], "max-size=10x"),
        ("json-file", ["max-file": "3"], "max-file cannot be set when max-size is not set"),
        ("json-file", ["compress": "maybe"], "compress=maybe"),
        ("json-file", ["compress": "yes", "max-size": "1m", "max-file": "2"], "compress=yes"),
        ("json-file", ["compress": "true"], "compress cannot be true"),
        ("json-file", ["compress": "true", "max-size": "1m"], "compress cannot be true"),
    ] as [(String, [String: String], String)])
    func invalid(_ driver: String, _ config: [String: String], _ message: String) {
        do {
            _ = try LogOptions(driver: driver, config: config)
            Issue.record("expected \(driver) \(config) to be rejected")
        } catch let error as SwiftdError {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains(message), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("docker drivers missing here get 501", arguments: [
        ("local", [:]), ("journald", [:]), ("json-file", ["mode": "non-blocking"]),
    ] as [(String, [String: String])])
    func unsupported(_ driver: String, _ config: [String: String]) {
        do {
            _ = try LogOptions(driver: driver, config: config)
            Issue.record("expected \(driver) \(config) to be rejected")
        } catch let error as SwiftdError {
            #expect(error.kind == .unsupported, "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("stored config falls back to json-file")
    func storedConfig() {
        #expect(LogOptions(stored: nil) == LogOptions())
        let none = LogOptions(stored: .init(Type: "none", Config: nil))
        #expect(none.driver == "none")
        let broken = LogOptions(stored: .init(Type: "json-file", Config: ["max-size": "x"]))
        #expect(broken == LogOptions())
    }
}

@Suite("daemon log settings")
struct DaemonLogSettingsTests {
    func parse(_ arguments: [String]) throws -> DaemonConfiguration {
        try DaemonConfiguration.parse(["--config-file=/nonexistent/daemon.json"] + arguments, readingConfigFile: false)
    }

    /// Writes `json` to a temporary file and parses `arguments` with it.
    func parse(file json: String, _ arguments: [String] = []) throws -> DaemonConfiguration {
        let path = "/tmp/swiftd-log-config-\(UInt32.random(in: 0...UInt32.max)).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try DaemonConfiguration.parse(["--config-file", path] + arguments)
    }

    @Test("defaults to json-file without options")
    func defaults() throws {
        let configuration = try parse([])
        #expect(configuration.logDriver == "json-file")
        #expect(configuration.logOptions.isEmpty)
    }

    @Test("flags set driver and options")
    func flags() throws {
        let configuration = try parse(["--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt=max-file=2"])
        #expect(configuration.logDriver == "json-file")
        #expect(configuration.logOptions == ["max-size": "1m", "max-file": "2"])
        #expect(try parse(["--log-driver=none"]).logDriver == "none")
    }

    @Test("invalid flags are configuration errors", arguments: [
        ["--log-driver", "nosuch"], ["--log-opt", "max-size"], ["--log-opt", "=1m"],
        ["--log-opt", "max-size=big"], ["--log-opt", "colour=red"], ["--log-driver", "local"],
    ])
    func invalidFlags(_ arguments: [String]) {
        #expect(throws: ConfigurationError.self) { try parse(arguments) }
    }

    @Test("daemon.json keys set driver and options")
    func fileKeys() throws {
        let configuration = try parse(file: #"{"log-driver": "json-file", "log-opts": {"max-size": "2k", "max-file": "3"}}"#)
        #expect(configuration.logDriver == "json-file")
        #expect(configuration.logOptions == ["max-size": "2k", "max-file": "3"])
    }

    @Test("log-opts values must be strings", arguments: [
        #"{"log-opts": {"max-file": 3}}"#, #"{"log-opts": ["max-file=3"]}"#, #"{"log-driver": 1}"#,
    ])
    func invalidFiles(_ json: String) {
        #expect(throws: ConfigurationError.self) { try parse(file: json) }
    }

    @Test("log-opts in flag and file conflict")
    func conflict() {
        do {
            _ = try parse(file: #"{"log-opts": {"max-size": "2k"}}"#, ["--log-opt", "max-size=1k"])
            Issue.record("expected a conflict")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("log-opts: (from flag: max-size=1k, from file: max-size=2k)"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
