/// A client command: the name `swiftd` dispatches on, its line in `swiftd --help`, and how
/// `--help` is found among its arguments.
struct ClientCommand: Sendable {
    var name: String
    var summary: String
    /// The subcommands of a group such as `network`, each with its aliases (`ls` and `list`).
    var subcommands: [[String]] = []
    /// True when the first positional argument ends the command's own options, as for `run`,
    /// whose later arguments belong to the container's command.
    var stopsAtPositional = false
    /// True when `-h` is an option of the command (`run -h HOSTNAME`) rather than help.
    var ownsShortH = false
    var handler: @Sendable (Commands, [String]) throws -> Int32

    /// Returns the help topic, `network create` or `network`, and whether `arguments` request it.
    func helpRequest(_ arguments: [String]) -> (topic: String, requested: Bool) {
        var topic = name
        var options = arguments
        if let first = arguments.first, let names = subcommands.first(where: { $0.contains(first) })
        {
            topic = "\(name) \(names[0])"
            options.removeFirst()
        }
        if let end = options.firstIndex(of: "--") { options = Array(options[..<end]) }
        if stopsAtPositional { options = Array(options.prefix { $0.hasPrefix("-") }) }
        let requested = options.contains("--help") || (!ownsShortH && options.contains("-h"))
        return (topic, requested)
    }
}

extension ClientMain {
    /// Every client command, in the order `swiftd --help` lists them.
    static let commands: [ClientCommand] = [
        .init(
            name: "run", summary: "Create and start a container, and show its output",
            stopsAtPositional: true, ownsShortH: true
        ) { try $0.run($1) },
        .init(
            name: "create", summary: "Create a container", stopsAtPositional: true, ownsShortH: true
        ) {
            try $0.create($1)
        },
        .init(name: "start", summary: "Start a stopped container") { try $0.start($1) },
        .init(name: "attach", summary: "Connect the terminal to a running container") {
            try $0.attach($1)
        },
        .init(
            name: "exec", summary: "Run a command in a running container", stopsAtPositional: true
        ) {
            try $0.exec($1)
        },
        .init(name: "ps", summary: "List containers") { try $0.ps($1) },
        .init(name: "top", summary: "List the processes of a container", stopsAtPositional: true) {
            try $0.top($1)
        },
        .init(name: "stats", summary: "Show CPU, memory, network and process counts of containers")
        {
            try $0.stats($1)
        },
        .init(name: "port", summary: "List a container's published ports") { try $0.port($1) },
        .init(
            name: "network", summary: "Create, list, inspect and remove networks",
            subcommands: [
                ["create"], ["connect"], ["disconnect"], ["ls", "list"], ["inspect"],
                ["rm", "remove"], ["prune"],
            ]
        ) { try $0.network($1) },
        .init(
            name: "volume", summary: "Create, list, inspect and remove volumes",
            subcommands: [["create"], ["ls", "list"], ["inspect"], ["rm", "remove"], ["prune"]]
        ) { try $0.volume($1) },
        .init(
            name: "image", summary: "List, inspect, remove, move and prune images",
            subcommands: [
                ["ls", "list"], ["inspect"], ["rm", "remove"], ["tag"], ["history"], ["import"],
                ["load"], ["save"], ["prune"], ["pull"], ["push"],
            ]
        ) { try $0.image($1) },
        .init(
            name: "system", summary: "Show how much disk space images and containers take",
            subcommands: [["df"]]
        ) { try $0.system($1) },
        .init(name: "logs", summary: "Show a container's output") { try $0.logs($1) },
        .init(name: "stop", summary: "Stop running containers") { try $0.stop($1) },
        .init(name: "kill", summary: "Send a signal to running containers") { try $0.kill($1) },
        .init(name: "wait", summary: "Wait for containers to stop and print their exit codes") {
            try $0.wait($1)
        },
        .init(name: "restart", summary: "Restart containers") { try $0.restart($1) },
        .init(name: "rename", summary: "Rename a container") { try $0.rename($1) },
        .init(name: "update", summary: "Change the limits and restart policy of containers") {
            try $0.update($1)
        },
        .init(name: "pause", summary: "Freeze the processes of containers") {
            try $0.pause($1, action: "pause")
        },
        .init(name: "unpause", summary: "Thaw paused containers") {
            try $0.pause($1, action: "unpause")
        },
        .init(name: "rm", summary: "Remove containers") { try $0.rm($1) },
        .init(name: "inspect", summary: "Show low-level information on containers or images") {
            try $0.inspect($1)
        },
        .init(name: "images", summary: "List images") { try $0.images($1) },
        .init(name: "pull", summary: "Download an image from a registry") { try $0.pull($1) },
        .init(name: "push", summary: "Upload an image to a registry") { try $0.push($1) },
        .init(name: "login", summary: "Save credentials for a registry") { try $0.login($1) },
        .init(name: "logout", summary: "Remove the saved credentials of a registry") {
            try $0.logout($1)
        },
        .init(name: "search", summary: "Search a registry for images") { try $0.search($1) },
        .init(name: "import", summary: "Create an image from a tar archive") {
            try $0.importImage($1)
        },
        .init(name: "tag", summary: "Add a name to an image") { try $0.tag($1) },
        .init(name: "save", summary: "Write images to a tar archive") { try $0.save($1) },
        .init(name: "load", summary: "Read images from a tar archive") { try $0.load($1) },
        .init(name: "history", summary: "Show how an image was made") { try $0.history($1) },
        .init(name: "commit", summary: "Create an image from a container's changes") {
            try $0.commit($1)
        },
        .init(name: "diff", summary: "List a container's changed files") { try $0.diff($1) },
        .init(name: "export", summary: "Write a container's file system to a tar archive") {
            try $0.export($1)
        },
        .init(name: "cp", summary: "Copy files between a container and the local file system") {
            try $0.copy($1)
        },
        .init(name: "rmi", summary: "Remove images") { try $0.rmi($1) },
        .init(name: "version", summary: "Show the client and daemon versions") {
            try $0.version($1)
        },
        .init(name: "info", summary: "Show daemon-wide information") { try $0.info($1) },
        .init(name: "events", summary: "Show events from the daemon as they happen") {
            try $0.events($1)
        },
    ]

    /// The `Commands:` section of `swiftd --help`, one aligned line per command.
    static var commandList: String {
        let width = (commands.map(\.name.count).max() ?? 0) + 2
        return commands.map { command in
            "  " + command.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + command.summary
        }.joined(separator: "\n")
    }
}
