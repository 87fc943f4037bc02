import Testing

@testable import SwiftdAPI

@Suite("HTTPParser")
struct HTTPParserTests {
    func head(_ text: String) -> ArraySlice<UInt8> { Array(text.utf8)[...] }

    @Test("parses a request line, headers, path and query")
    func parsesRequest() throws {
        let request = try HTTPParser.parseRequestHead(head(
            "GET /v1.45/containers/json?all=1&filters=%7B%22a%22%3A1%7D HTTP/1.1\r\nHost: x\r\nX-Thing:  v \r\n\r\n"))
        #expect(request.method == "GET")
        #expect(request.path == "/v1.45/containers/json")
        #expect(request.query.map(\.key) == ["all", "filters"])
        #expect(request.query[1].value == "{\"a\":1}")
        #expect(request.header("x-thing") == "v")
        #expect(request.keepAlive)
    }

    @Test("finds the end of a head across reads")
    func headEnd() throws {
        #expect(try HTTPParser.headEnd(in: Array("GET / HTTP/1.1\r\n".utf8)) == nil)
        let full = Array("GET / HTTP/1.1\r\nA: b\r\n\r\nBODY".utf8)
        #expect(try HTTPParser.headEnd(in: full) == full.count - 4)
    }

    @Test("rejects an oversized head with 431")
    func oversizedHead() {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: HTTPParser.maxHeadSize + 1)
        #expect(throws: HTTPParser.ParseError.self) { try HTTPParser.headEnd(in: big) }
        do {
            _ = try HTTPParser.headEnd(in: big)
        } catch {
            #expect(error.status.code == 431)
        }
    }

    @Test("rejects too many header fields with 431")
    func tooManyHeaders() {
        var text = "GET / HTTP/1.1\r\n"
        for index in 0...HTTPParser.maxHeaderCount { text += "X-\(index): v\r\n" }
        do {
            _ = try HTTPParser.parseRequestHead(head(text + "\r\n"))
            Issue.record("expected a 431")
        } catch {
            #expect(error.status.code == 431)
        }
    }

    @Test("rejects request-smuggling shapes", arguments: [
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
        // Found by the fuzz target: an empty value once crashed the parser.
        "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: ,\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3,\r\n\r\n",
    ])
    func smuggling(_ text: String) {
        #expect(throws: HTTPParser.ParseError.self) {
            let request = try HTTPParser.parseRequestHead(head(text))
            _ = try HTTPParser.requestFraming(request)
        }
    }

    @Test("rejects bare LF, a malformed request line and a bad header name", arguments: [
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\nY: z\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "get / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
    ])
    func malformed(_ text: String) {
        #expect(throws: HTTPParser.ParseError.self) { try HTTPParser.parseRequestHead(head(text)) }
    }

    @Test("bare LF head gets 400", arguments: [
        "GET /_ping HTTP/1.1\nHost: x\n\n",
        "GET /_ping HTTP/1.1\r\nHost: x\n\n",
        "\n",
    ])
    func bareLineFeedHead(_ text: String) {
        // Without a CRLF CRLF such a head never ends, so the server must reject it at the LF.
        do {
            let end = try HTTPParser.headEnd(in: Array(text.utf8))
            Issue.record("expected a 400, got the head end \(String(describing: end))")
        } catch {
            #expect(error.status.code == 400)
            #expect(error.message.hasPrefix("malformed request"))
        }
    }

    @Test("identical repeated Content-Length values are one length")
    func repeatedLength() throws {
        let request = try HTTPParser.parseRequestHead(head("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"))
        #expect(try HTTPParser.requestFraming(request) == .length(5))
    }

    @Test("HTTP/1.0 closes unless keep-alive is asked for")
    func keepAlive() throws {
        #expect(try !HTTPParser.parseRequestHead(head("GET / HTTP/1.0\r\n\r\n")).keepAlive)
        #expect(try HTTPParser.parseRequestHead(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).keepAlive)
        #expect(try !HTTPParser.parseRequestHead(head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")).keepAlive)
    }

    @Test("decodes a chunked body fed one byte at a time")
    func chunkedBytewise() throws {
        let wire = Array("4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT".utf8)
        var decoder = ChunkedDecoder()
        var output: [UInt8] = []
        var index = 0
        while !decoder.isDone {
            let used = try decoder.decode(Array(wire[index...index]), from: 0, into: &output)
            index += used
        }
        #expect(String(decoding: output, as: UTF8.self) == "Wikipedia in \r\n\r\nchunks.")
        #expect(String(decoding: wire[index...], as: UTF8.self) == "NEXT")
    }

    @Test("rejects a bad chunk size and a missing CRLF", arguments: ["zz\r\n", "4\r\nWikiXX", "4\nWiki\r\n"])
    func chunkedErrors(_ text: String) {
        var decoder = ChunkedDecoder()
        var output: [UInt8] = []
        #expect(throws: HTTPParser.ParseError.self) { _ = try decoder.decode(Array(text.utf8), from: 0, into: &output) }
    }

    @Test("parses a response head and its framing")
    func responseHead() throws {
        let response = try HTTPParser.parseResponseHead(head("HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n"))
        #expect(response.status.code == 101)
        #expect(try HTTPParser.responseFraming(response, method: "POST") == .none)
        let chunked = try HTTPParser.parseResponseHead(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(try HTTPParser.responseFraming(chunked, method: "GET") == .chunked)
        let open = try HTTPParser.parseResponseHead(head("HTTP/1.1 200 OK\r\n\r\n"))
        #expect(try HTTPParser.responseFraming(open, method: "GET") == .untilClose)
        #expect(try HTTPParser.responseFraming(open, method: "HEAD") == .none)
    }
}

@Suite("Route")
struct RouteTests {
    @Test("matches parameters and greedy image names")
    func matching() {
        let inspect = Route("GET", "/images/{name*}/json", job: "image_inspect", .json(.ok))
        #expect(inspect.match(["images", "localhost:5000", "a", "b", "json"]) == ["name": "localhost:5000/a/b"])
        #expect(inspect.match(["images", "busybox", "json"]) == ["name": "busybox"])
        #expect(inspect.match(["images", "json"]) == nil)
        let start = Route("POST", "/containers/{name}/start", job: "start", .noContent)
        #expect(start.match(["containers", "abc", "start"]) == ["name": "abc"])
        #expect(start.match(["containers", "abc", "stop"]) == nil)
    }

    @Test("frames a multiplexed stream and splits it back")
    func framing() {
        let big = [UInt8](repeating: 7, count: 70_000)
        var wire = StreamFrame.encode(.stdout, Array("out".utf8)) + StreamFrame.encode(.stderr, big)
        #expect(Array(wire[0..<8]) == [1, 0, 0, 0, 0, 0, 0, 3])
        var demultiplexer = StreamDemultiplexer()
        var frames: [(StreamFrame.Kind, Int)] = []
        while !wire.isEmpty {
            let piece = Array(wire.prefix(1000))
            wire.removeFirst(piece.count)
            demultiplexer.feed(piece) { kind, payload in frames.append((kind, payload.count)) }
        }
        #expect(frames.count == 2)
        #expect(frames[0].0 == .stdout)
        #expect(frames[0].1 == 3)
        #expect(frames[1].0 == .stderr)
        #expect(frames[1].1 == 70_000)
    }

    @Test("compares API versions numerically")
    func versions() {
        #expect(APIVersion.compare("1.9", "1.24") < 0)
        #expect(APIVersion.compare("1.45", "1.45") == 0)
        #expect(APIVersion.compare("1.50", "1.45") > 0)
    }
}
