import Foundation
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the tests run as root (extraction with ownership, mknod, overlay mounts).
let isRoot = getuid() == 0

/// A fresh directory under /tmp, removed (with any mounts below it) by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String) throws {
        var template = Array("/tmp/swiftd-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SystemCallError(call: "mkdtemp", subject: label, errno: errno)
        }
        path = String(cString: made)
    }

    func remove() {
        for point in Mounts.mountPoints(under: path) {
            try? Mounts.unmount(point, detach: true)
        }
        try? FileSystem.removeTree(path)
    }
}

/// Runs a program and returns its standard output; throws if it exits non-zero.
@discardableResult
func run(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw SwiftdError(
            .internalError, "\(program) \(arguments) failed: exit \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// The sha256 of a file as `sha256sum` prints it, with the `sha256:` prefix.
func sha256sum(_ path: String) throws -> String {
    "sha256:" + String(try run("/usr/bin/sha256sum", [path]).prefix(64))
}

/// A minimal ustar writer, so that tests can build archives no real tool would make.
struct TarBuilder {
    enum Kind: UInt8 {
        case file = 0x30, hardLink = 0x31, symlink = 0x32, character = 0x33, block = 0x34
        case directory = 0x35
    }

    private(set) var bytes: [UInt8] = []

    mutating func add(
        _ name: String, _ kind: Kind = .file, data: [UInt8] = [], link: String = "",
        mode: Int = 0o644, major: Int = 0, minor: Int = 0
    ) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ offset: Int, _ length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() {
                header[offset + index] = byte
            }
        }
        func octal(_ value: Int, _ offset: Int, _ length: Int) {
            let text = String(value, radix: 8)
            put(String(repeating: "0", count: length - 1 - text.count) + text, offset, length)
        }
        put(name, 0, 100)
        octal(mode, 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(kind == .file ? data.count : 0, 124, 12)
        octal(1_700_000_000, 136, 12)
        put("        ", 148, 8)
        header[156] = kind.rawValue
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        octal(major, 329, 8)
        octal(minor, 337, 8)
        let sum = header.reduce(0) { $0 + Int($1) }
        let text = String(sum, radix: 8)
        put(String(repeating: "0", count: 6 - text.count) + text, 148, 6)
        header[154] = 0
        header[155] = 0x20
        bytes += header
        if kind == .file {
            bytes += data
            bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
    }

    /// The archive with its end-of-archive blocks, written to `path`.
    func write(to path: String) throws {
        try FileSystem.writeAtomically(path, bytes + [UInt8](repeating: 0, count: 1024))
    }
}
