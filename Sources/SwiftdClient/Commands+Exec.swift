import Foundation
import SwiftdAPI

extension Commands {
    /// `swiftd exec [OPTIONS] CONTAINER COMMAND [ARG...]`: runs a command in a running
    /// container and exits with its exit code.
    func exec(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-d", "--detach"], takesValue: false), .init(names: ["-e", "--env"], takesValue: true),
            .init(names: ["-w", "--workdir"], takesValue: true), .init(names: ["-u", "--user"], takesValue: true),
            .init(names: ["--privileged"], takesValue: false), .init(names: ["-i", "--interactive"], takesValue: false),
            .init(names: ["-t", "--tty"], takesValue: false),
        ])
        try flags.parse(arguments, stopAtPositional: true)
        guard flags.positional.count >= 2 else {
            throw UsageFailure(message: "requires at least 2 arguments: CONTAINER COMMAND [ARG...]")
        }
        let interactive = flags.bool("-i") && !flags.bool("-d")
        let tty = flags.bool("-t")
        let container = flags.positional[0]
        var request: [String: JSONValue] = [
            "Cmd": .strings(Array(flags.positional.dropFirst())), "AttachStdout": .bool(true),
            "AttachStderr": .bool(true), "Privileged": .bool(flags.bool("--privileged")),
            "AttachStdin": .bool(interactive), "Tty": .bool(tty),
        ]
        if !flags.strings("-e").isEmpty { request["Env"] = .strings(flags.strings("-e")) }
        if let directory = flags.string("-w") { request["WorkingDir"] = .string(directory) }
        if let user = flags.string("-u") { request["User"] = .string(user) }
        if tty, !flags.bool("-d"), let size = Terminal.size() {
            request["ConsoleSize"] = .integers([size.rows, size.columns])
        }
        let created = try client.request("POST", "/containers/\(percentEncode(container))/exec", json: Array(try JSONEncoder().encode(request)))
        if created.status >= 400 { throw DaemonFailure(message: created.errorMessage, exitStatus: 1) }
        let id = try created.decode([String: String].self)["Id"] ?? ""

        if flags.bool("-d") {
            try call("POST", "/exec/\(id)/start", json: Array(#"{"Detach":true,"Tty":false}"#.utf8))
            return 0
        }
        let options = Array(#"{"Detach":false,"Tty":\#(tty)}"#.utf8)
        let (connection, response) = try client.hijack("POST", "/exec/\(id)/start", json: options)
        guard let connection else {
            let message = response.errorMessage
            var status: Int32 = 126
            if message.contains("executable file not found") { status = 127 }
            throw DaemonFailure(message: message, exitStatus: status)
        }
        defer { connection.close() }
        let session = AttachSession(
            client: client, connection: connection, tty: tty, stdin: interactive,
            resizePath: "/exec/\(id)/resize")
        try session.begin()
        session.sendSize()
        session.copyOutput()
        session.end()
        let inspect = try call("GET", "/exec/\(id)/json").decode(ExecResult.self)
        return inspect.ExitCode ?? 126
    }
}

/// The part of `GET /exec/{id}/json` that the client reads.
struct ExecResult: Decodable {
    var ExitCode: Int32?
}

/// A JSON value for request bodies built by hand.
enum JSONValue: Encodable {
    case string(String)
    case strings([String])
    case bool(Bool)
    case integers([Int])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .integers(let value): try container.encode(value)
        }
    }
}
