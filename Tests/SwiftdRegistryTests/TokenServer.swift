import Foundation
import Synchronization
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A bearer-token endpoint on a free loopback port. It responds to every `GET` that carries the
/// expected basic credentials with one JWT signed (RS256, `x5c` header) by a key the test made,
/// and with 401 otherwise. It records the query strings of the requests.
final class TokenServer: Sendable {
    let certificate: String
    private let server: LoopbackServer
    private let seen: Shared<[String]>

    var port: Int { server.port }

    /// The queries of the requests so far (`service=…&scope=…`).
    var queries: [String] { seen.value.withLock { $0 } }

    init(
        directory: String, service: String, issuer: String, repository: String,
        user: String, password: String
    ) throws {
        certificate = directory + "/token.crt"
        let key = directory + "/token.key"
        try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                certificate, "-days", "2", "-subj", "/CN=swiftd token issuer",
            ])
        let der = try run(
            "/bin/sh",
            [
                "-c", "openssl x509 -in \"$1\" -outform DER | base64 -w0", "sh", certificate,
            ])
        let now = Int(Date().timeIntervalSince1970)
        let header = #"{"alg":"RS256","typ":"JWT","x5c":["\#(der)"]}"#
        let claims = """
            {"iss":"\(issuer)","sub":"\(user)","aud":"\(service)","exp":\(now + 3600),\
            "nbf":\(now - 60),"iat":\(now - 60),"jti":"swiftd-test",\
            "access":[{"type":"repository","name":"\(repository)","actions":["pull","push"]}]}
            """
        let signingInput =
            Self.base64URL(Data(header.utf8)) + "." + Self.base64URL(Data(claims.utf8))
        try FileSystem.writeAtomically(directory + "/jwt-input", Array(signingInput.utf8))
        let signature = try run(
            "/bin/sh",
            [
                "-c", "openssl dgst -sha256 -sign \"$1\" \"$2\" | base64 -w0", "sh", key,
                directory + "/jwt-input",
            ])
        let token = signingInput + "." + Self.base64URL(Data(base64Encoded: signature) ?? Data())
        let expected = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        let seen = Shared<[String]>([])
        self.seen = seen
        server = try LoopbackServer { request in
            let target = request.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            seen.value.withLock {
                $0.append(target.split(separator: "?").dropFirst().first.map(String.init) ?? "")
            }
            let authorized = request.split(separator: "\r\n").contains {
                $0.lowercased().hasPrefix("authorization:")
                    && $0.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces)
                        == expected
            }
            let body = authorized ? #"{"token":"\#(token)"}"# : #"{"details":"bad credentials"}"#
            return Array(
                ("HTTP/1.1 \(authorized ? "200 OK" : "401 Unauthorized")\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                    + "Connection: close\r\n\r\n" + body).utf8)
        }
    }

    func stop() { server.stop() }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// An HTTP server on a free loopback port that responds to each request (its head, as text) with
/// the bytes `respond` returns and closes the connection. Serves on a thread of its own until
/// `stop()`.
final class LoopbackServer: Sendable {
    let port: Int
    private let listener: Int32
    private let respond: @Sendable (String) -> [UInt8]

    init(respond: @escaping @Sendable (String) -> [UInt8]) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                    && listen(fd, 16) == 0
            }
        }
        guard listening else {
            close(fd)
            throw SystemCallError(call: "bind", subject: "loopback test server", errno: errno)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in serve() }.start()
    }

    /// Stops accepting: shutting the listener down makes the blocked `accept` return.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            request += buffer[0..<count]
            // A TLS ClientHello (a client trying https first) gets the connection closed, as
            // a plain HTTP server that cannot parse it does.
            if request.first == 0x16 { return }
        }
        let response = respond(String(decoding: request, as: UTF8.self))
        _ = response.withUnsafeBytes {
            send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
    }
}

/// A value shared between a test and a server thread.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>

    init(_ initial: Value) { value = Mutex(initial) }
}
