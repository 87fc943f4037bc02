import Foundation
import SwiftdAPI
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A renderer for the daemon's JSON progress messages (pull, push, load, import), following the
/// docker CLI's `jsonmessage.DisplayJSONMessagesStream` (moby `pkg/jsonmessage`).
///
/// On a terminal, each message with an `id` and a `progressDetail` (or the older `progress`
/// text) owns one line, which later messages for that id rewrite in place by moving the cursor
/// up and back down with ANSI escapes. Any other message ends that group of lines and prints
/// below it. Off a terminal, every message prints as a plain line, except the byte-count
/// messages (`Downloading`, `Pushing`), which are left out.
struct ProgressDisplay {
    let isTerminal: Bool
    /// The terminal's width in columns; docker draws the `[===>  ]` bar only above 110.
    let columns: Int
    /// The line of each id in the current group, counted from the group's first line.
    private var lines: [String: Int] = [:]

    init(isTerminal: Bool, columns: Int) {
        self.isTerminal = isTerminal
        self.columns = columns
    }

    /// Returns the text that draws `message` after the messages rendered before it. The text is
    /// empty for a message that shows nothing here: an error, `aux` data, or byte counts off a
    /// terminal.
    mutating func render(_ message: ProgressMessage) -> String {
        guard message.error == nil,
            message.status != nil || message.stream != nil || message.progress != nil
        else { return "" }
        var output = ""
        var distance = 0
        if let id = message.id, message.progressDetail != nil || message.progress != nil {
            let line: Int
            if let known = lines[id] {
                line = known
            } else {
                // A new id takes the next line below the group.
                line = lines.count
                lines[id] = line
                if isTerminal { output += "\n" }
            }
            distance = lines.count - line
            if isTerminal { output += Self.cursorUp(distance) }
        } else {
            lines = [:]
        }
        output += text(of: message)
        if message.id != nil, isTerminal { output += Self.cursorDown(distance) }
        return output
    }

    /// Returns one message's text, as `JSONMessage.Display` writes it.
    private func text(of message: ProgressMessage) -> String {
        let status = message.status ?? ""
        var output = ""
        var lineEnd = ""
        if isTerminal, message.stream == nil, message.progressDetail != nil {
            // Erase the whole line, whatever an earlier message left on it.
            output += "\u{1b}[1K\u{1b}[K\r"
            lineEnd = "\r"
        } else if let detail = message.progressDetail, !bar(for: detail).isEmpty {
            return ""
        }
        if let id = message.id { output += "\(id): " }
        if let detail = message.progressDetail, isTerminal {
            output += "\(status) \(bar(for: detail))\(lineEnd)"
        } else if let progress = message.progress, !progress.isEmpty {
            output += "\(status) \(progress)\(lineEnd)"
        } else if let stream = message.stream {
            output += stream + lineEnd
        } else {
            output += status + lineEnd + "\n"
        }
        return output
    }

    /// Formats a byte count as `JSONProgress.String` does: `[=====>     ]  1.23MB/4.56MB`, with
    /// the bar only on a terminal wider than 110 columns, and only the current size when the
    /// total is unknown or smaller than the current count.
    func bar(for detail: ProgressMessage.ProgressDetail) -> String {
        let current = detail.current ?? 0
        let total = detail.total ?? 0
        guard current > 0 || total > 0 else { return "" }
        let currentText = Self.padded(Self.humanSize(current))
        guard total > 0 else { return currentText }
        let filled = min(Int(Double(current) / Double(total) * 100) / 2, 50)
        var bar = ""
        if columns > 110 {
            bar = "[" + String(repeating: "=", count: filled) + ">"
                + String(repeating: " ", count: 50 - filled) + "] "
        }
        return bar + (current > total ? currentText : currentText + "/" + Self.humanSize(total))
    }

    /// Formats a size in decimal units with four significant digits, as go-units' `HumanSize`
    /// does: `512B`, `1.235MB`.
    static func humanSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return String(format: "%.4g", value) + units[unit]
    }

    /// Right-aligns `text` in eight columns, as Go's `%8v` does.
    private static func padded(_ text: String) -> String {
        String(repeating: " ", count: max(8 - text.count, 0)) + text
    }

    private static func cursorUp(_ count: Int) -> String {
        count > 0 ? "\u{1b}[\(count)A" : ""
    }

    private static func cursorDown(_ count: Int) -> String {
        count > 0 ? "\u{1b}[\(count)B" : ""
    }
}

/// The line that the client draws on a terminal while it sends an archive to the daemon, because
/// the daemon sends no progress for the upload. The line shows the bytes sent so far, and a bar
/// when the archive's size is known, redrawn in place with `ProgressDisplay`. Off a terminal it
/// draws nothing.
struct UploadProgress {
    /// The bytes sent between two redraws, so that small reads from a pipe do not each redraw.
    static let redrawInterval: Int64 = 512 * 1024

    /// The archive's size in bytes, or nil when it is unknown (a pipe).
    let total: Int64?
    private var display: ProgressDisplay
    private(set) var sent: Int64 = 0
    /// The value of `sent` at the last redraw, or nil before the first one.
    private var drawnAt: Int64?
    private var finished = false

    init(total: Int64?, isTerminal: Bool, columns: Int) {
        self.total = total
        display = ProgressDisplay(isTerminal: isTerminal, columns: columns)
    }

    /// Counts `count` more bytes sent and returns the text that redraws the line, or an empty
    /// text off a terminal, after `finish()`, or when less than `redrawInterval` was sent since
    /// the last redraw.
    mutating func add(_ count: Int) -> String {
        sent += Int64(count)
        guard display.isTerminal, !finished, count > 0 else { return "" }
        if let drawnAt, sent - drawnAt < Self.redrawInterval { return "" }
        return draw()
    }

    /// Returns the text that draws the final count, if the line does not show it yet, and ends
    /// the line. The text is empty off a terminal, when nothing was sent, and on a second call.
    mutating func finish() -> String {
        guard display.isTerminal, !finished else { return "" }
        finished = true
        guard sent > 0 else { return "" }
        return (drawnAt == sent ? "" : draw()) + "\n"
    }

    private mutating func draw() -> String {
        drawnAt = sent
        var message = ProgressMessage(status: "Uploading")
        message.progressDetail = .init(current: sent, total: total)
        return display.render(message)
    }
}

extension Commands {
    /// Sends a POST whose response is a JSON progress stream and draws each message on
    /// `output` (a file descriptor, or nil to draw nothing) with `ProgressDisplay`. With
    /// `drawsUpload`, the upload's own progress is drawn first with `UploadProgress`, with a bar
    /// when `uploadSize` (in bytes) is known.
    ///
    /// - Throws: `DaemonFailure` (exit status 1) with the daemon's message for an error
    ///   response or an `error` message inside the stream.
    func streamProgress(
        _ path: String, headers: [(String, String)] = [],
        upload: (() throws -> [UInt8]?)? = nil, drawsUpload: Bool = false, uploadSize: Int64? = nil,
        output: Int32?
    ) throws {
        let isTerminal = output.map { isatty($0) == 1 } ?? false
        let columns = output.flatMap { Sockets.windowSize($0)?.columns } ?? 200
        var display = ProgressDisplay(isTerminal: isTerminal, columns: columns)
        var lines = ProgressLines()
        var streamError: String?
        var sending = upload
        var uploadProgress: UploadProgress?
        if let upload, let output, drawsUpload {
            uploadProgress = UploadProgress(
                total: uploadSize, isTerminal: isTerminal, columns: columns)
            // The client sends the whole body before it reads the response, so the line ends
            // before the first response message is drawn.
            sending = {
                let chunk = try upload()
                let text =
                    if let chunk { uploadProgress?.add(chunk.count) } else { uploadProgress?.finish() }
                if let text, !text.isEmpty { try? FileSystem.writeAll(output, Array(text.utf8)) }
                return chunk
            }
        }
        defer {
            // After a failed upload, the error goes below the line.
            if let output, let text = uploadProgress?.finish(), !text.isEmpty {
                try? FileSystem.writeAll(output, Array(text.utf8))
            }
        }
        let response = try client.stream("POST", path, headers: headers, upload: sending) {
            bytes in
            lines.feed(bytes) { message in
                if let error = message.errorDetail?.message ?? message.error {
                    streamError = streamError ?? error
                }
                guard let output, streamError == nil else { return }
                let text = display.render(message)
                if !text.isEmpty { try? FileSystem.writeAll(output, Array(text.utf8)) }
            }
        }
        if response.status >= 400 {
            throw DaemonFailure(message: response.errorMessage, exitStatus: 1)
        }
        if let streamError { throw DaemonFailure(message: streamError, exitStatus: 1) }
    }
}

/// Returns the bytes left to read from `descriptor` when it is a regular file (a named archive,
/// or standard input redirected from one), or nil for a pipe, socket or terminal.
func remainingSize(of descriptor: Int32) -> Int64? {
    var info = stat()
    guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    let offset = lseek(descriptor, 0, SEEK_CUR)
    return Int64(info.st_size) - Int64(max(offset, 0))
}
