// libFuzzer entry point for the daemon's HTTP request parser: heads, body framing and chunked
// bodies. Built by scripts/fuzz-http.sh together with the parser's own source files.

/// Feeds one input to the parser the way a connection does: find the head, parse it, decide
/// the framing, and decode a chunked body. Every rejection must be a `ParseError`, never a
/// crash, and an accepted message must keep the parser's promises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let end = try? HTTPParser.headEnd(in: bytes) else { return 0 }
    guard let request = try? HTTPParser.parseRequestHead(bytes[0..<end]) else { return 0 }
    precondition(!request.method.isEmpty, "accepted a request without a method")
    guard let framing = try? HTTPParser.requestFraming(request) else { return 0 }
    switch framing {
    case .length(let length):
        precondition(length >= 0, "accepted a negative Content-Length")
    case .chunked:
        var decoder = ChunkedDecoder()
        var body: [UInt8] = []
        var offset = end
        // Feed the rest in two pieces, as a socket might deliver it.
        let split = min(bytes.count, end + (bytes.count - end) / 2)
        for piece in [Array(bytes[end..<split]), Array(bytes[split...])] {
            guard (try? decoder.decode(piece, from: 0, into: &body)) != nil else { return 0 }
            offset += piece.count
        }
        precondition(body.count <= offset - end, "a chunked body grew beyond its input")
    case .none, .untilClose:
        break
    }
    return 0
}
