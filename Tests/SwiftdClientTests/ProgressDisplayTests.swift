import Foundation
import SwiftdAPI
import Testing

@testable import SwiftdClient

@Suite("ProgressDisplay")
struct ProgressDisplayTests {
    /// Part of a pull as dockerd streams it: a header, two layers, a download and the digest.
    static let pull = [
        #"{"status":"Pulling from library/busybox","id":"latest"}"#,
        #"{"status":"Pulling fs layer","progressDetail":{},"id":"aaa"}"#,
        #"{"status":"Pulling fs layer","progressDetail":{},"id":"bbb"}"#,
        #"{"status":"Downloading","progressDetail":{"current":500000,"total":1000000},"id":"aaa"}"#,
        #"{"status":"Pull complete","progressDetail":{},"id":"bbb"}"#,
        #"{"status":"Digest: sha256:abc"}"#,
    ]

    func render(_ lines: [String], terminal: Bool, columns: Int = 120) throws -> [String] {
        var display = ProgressDisplay(isTerminal: terminal, columns: columns)
        return try lines.map { line in
            display.render(try JSONDecoder().decode(ProgressMessage.self, from: Data(line.utf8)))
        }
    }

    @Test("terminal redraws each layer in place")
    func terminalRedrawsLayers() throws {
        let output = try render(Self.pull, terminal: true)
        let clear = "\u{1b}[1K\u{1b}[K\r"
        #expect(output[0] == "latest: Pulling from library/busybox\n")
        #expect(output[1] == "\n\u{1b}[1A\(clear)aaa: Pulling fs layer \r\u{1b}[1B")
        #expect(output[2] == "\n\u{1b}[1A\(clear)bbb: Pulling fs layer \r\u{1b}[1B")
        let bar = "[" + String(repeating: "=", count: 25) + ">" + String(repeating: " ", count: 25) + "] "
        #expect(output[3] == "\u{1b}[2A\(clear)aaa: Downloading \(bar)   500kB/1MB\r\u{1b}[2B")
        #expect(output[4] == "\u{1b}[1A\(clear)bbb: Pull complete \r\u{1b}[1B")
        #expect(output[5] == "Digest: sha256:abc\n")
    }

    @Test("narrow terminal drops the bar")
    func narrowTerminalDropsBar() throws {
        let output = try render(Self.pull, terminal: true, columns: 80)
        #expect(output[3] == "\u{1b}[2A\u{1b}[1K\u{1b}[K\raaa: Downloading    500kB/1MB\r\u{1b}[2B")
    }

    @Test("message without detail starts a new group")
    func plainMessageStartsNewGroup() throws {
        let lines = [
            #"{"status":"Preparing","progressDetail":{},"id":"aaa"}"#,
            #"{"status":"The push refers to repository [127.0.0.1:5000/x]"}"#,
            #"{"status":"Pushed","progressDetail":{},"id":"aaa"}"#,
        ]
        let output = try render(lines, terminal: true)
        // After the plain line, layer aaa gets a fresh line below it instead of moving up.
        #expect(output[2].hasPrefix("\n\u{1b}[1A"))
        #expect(output[2].hasSuffix("aaa: Pushed \r\u{1b}[1B"))
    }

    @Test("plain output prints lines without byte counts")
    func plainOutputSkipsByteCounts() throws {
        let output = try render(Self.pull, terminal: false)
        #expect(output == [
            "latest: Pulling from library/busybox\n",
            "aaa: Pulling fs layer\n",
            "bbb: Pulling fs layer\n",
            "",
            "bbb: Pull complete\n",
            "Digest: sha256:abc\n",
        ])
    }

    @Test("stream text and errors")
    func streamTextAndErrors() throws {
        let lines = [
            #"{"stream":"Loaded image: busybox:latest\n"}"#,
            #"{"status":"sha256:0123"}"#,
            #"{"error":"broken archive","errorDetail":{"message":"broken archive"}}"#,
        ]
        for terminal in [true, false] {
            let output = try render(lines, terminal: terminal)
            #expect(output == ["Loaded image: busybox:latest\n", "sha256:0123\n", ""])
        }
    }

    @Test("bar without total or with excess")
    func barEdgeCases() {
        let display = ProgressDisplay(isTerminal: true, columns: 120)
        #expect(display.bar(for: .init()) == "")
        #expect(display.bar(for: .init(current: 2048)) == " 2.048kB")
        #expect(display.bar(for: .init(current: 3000, total: 1000)).hasSuffix("]      3kB"))
        #expect(display.bar(for: .init(current: 0, total: 1000)).hasPrefix("[>" + String(repeating: " ", count: 50) + "] "))
    }

    @Test("human sizes", arguments: [(Int64(512), "512B"), (1000, "1kB"), (1_234_567, "1.235MB"), (5_000_000_000, "5GB")])
    func humanSizes(bytes: Int64, text: String) {
        #expect(ProgressDisplay.humanSize(bytes) == text)
    }

    @Test("upload line redrawn every 512 KiB")
    func uploadRedrawsInPlace() {
        var progress = UploadProgress(total: 2_000_000, isTerminal: true, columns: 120)
        let clear = "\u{1b}[1K\u{1b}[K\r"
        let half = "[" + String(repeating: "=", count: 25) + ">" + String(repeating: " ", count: 25) + "] "
        #expect(progress.add(1_000_000) == "\(clear)Uploading \(half)     1MB/2MB\r")
        // Less than 512 KiB since the last redraw: nothing new is drawn.
        #expect(progress.add(100_000) == "")
        let full = "[" + String(repeating: "=", count: 40) + ">" + String(repeating: " ", count: 10) + "] "
        #expect(progress.add(500_000) == "\(clear)Uploading \(full)   1.6MB/2MB\r")
        #expect(progress.sent == 1_600_000)
        // The line shows the final count already, so finishing only ends it.
        #expect(progress.finish() == "\n")
        #expect(progress.finish() == "")
        #expect(progress.add(400_000) == "")
    }

    @Test("upload finish draws last count")
    func uploadFinishDrawsLastCount() {
        var progress = UploadProgress(total: 1_001_000, isTerminal: true, columns: 80)
        #expect(progress.add(1_000_000) == "\u{1b}[1K\u{1b}[K\rUploading      1MB/1.001MB\r")
        #expect(progress.add(1000) == "")
        #expect(progress.finish() == "\u{1b}[1K\u{1b}[K\rUploading  1.001MB/1.001MB\r\n")
    }

    @Test("upload of unknown size shows count")
    func uploadOfUnknownSize() {
        var progress = UploadProgress(total: nil, isTerminal: true, columns: 120)
        #expect(progress.add(2_500_000) == "\u{1b}[1K\u{1b}[K\rUploading    2.5MB\r")
        #expect(progress.finish() == "\n")
    }

    @Test("upload draws nothing off a terminal")
    func uploadOffTerminal() {
        var progress = UploadProgress(total: 2_000_000, isTerminal: false, columns: 120)
        #expect(progress.add(1_000_000) == "")
        #expect(progress.add(1_000_000) == "")
        #expect(progress.finish() == "")
        #expect(progress.sent == 2_000_000)
    }

    @Test("empty upload draws nothing")
    func emptyUpload() {
        var progress = UploadProgress(total: 0, isTerminal: true, columns: 120)
        #expect(progress.finish() == "")
    }
}
