import SwiftdClient
import SwiftdDaemon

#if canImport(Glibc)
    import Glibc
#endif

// `swiftd -d …` (or `--daemon`) runs the daemon; anything else is a client command.
let arguments = Array(CommandLine.arguments.dropFirst())
if let first = arguments.first, first == "-d" || first == "--daemon" || first == "-d=true" {
    DaemonMain.run(Array(arguments.dropFirst()))
}
exit(ClientMain.run(arguments))
