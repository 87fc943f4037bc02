/// The `--help` text of each client command.
enum CommandHelp {
    static let texts: [String: String] = [
        "run": """
            Usage: swiftd run [OPTIONS] IMAGE [COMMAND] [ARG...]

            Creates and starts a container, shows its output, and exits with its exit code.

            Options:
                  --name NAME          Name of the container
              -d, --detach             Run in the background and print the container ID
                  --rm                 Remove the container when it exits
              -e, --env KEY=VALUE      Set an environment variable (repeatable; KEY alone copies it)
                  --env-file FILE      Read KEY=VALUE lines from a file; # starts a comment (repeatable)
              -m, --memory BYTES       Memory limit, such as 64m or 1g (at least 6m)
                  --network MODE       bridge (default), none, host, container:NAME or a network
              -p, --publish SPEC       Publish [IP:][HOSTPORT:]PORT[/tcp|udp]; ranges N-M (repeatable)
              -P, --publish-all        Publish every exposed port on a free host port
                  --expose PORT        Expose PORT[-END][/PROTO] without publishing it (repeatable)
                  --link NAME[:ALIAS]  Link to a running container (repeatable)
                  --dns ADDRESS        DNS server for /etc/resolv.conf (repeatable)
                  --dns-search DOMAIN  DNS search domain (repeatable)
                  --dns-option OPT     resolv.conf option, such as ndots:2 (repeatable)
                  --add-host NAME:IP   Add a line to /etc/hosts; NAME=IP too (repeatable)
                  --network-alias NAME Further name on a user-defined network (repeatable)
                  --ip ADDRESS         IPv4 address on a user-defined network
                  --mac-address MAC    MAC address of the container's interface
              -h, --hostname NAME      Host name inside the container
              -w, --workdir DIR        Working directory inside the container
              -u, --user USER[:GROUP]  User to run as: a name or uid from the image's /etc/passwd,
                                       and a group name or gid from its /etc/group
                  --entrypoint CMD     Replace the image's entrypoint
              -l, --label KEY=VALUE    Set a label (repeatable)
                  --privileged         All capabilities, no masked paths, no seccomp filter
                  --read-only          Mount the root file system read-only
                  --tmpfs PATH[:OPTS]  Mount a tmpfs (repeatable)
                  --cpus N             CPU limit, such as 0.5
              -c, --cpu-shares N       Relative CPU weight (default 1024)
                  --pids-limit N       Maximum number of processes
                  --cpu-quota USECS    CPU time per period in microseconds (at least 1000)
                  --cpu-period USECS   CFS period in microseconds (1000 to 1000000, default 100000)
                  --cpuset-cpus LIST   CPUs the container may use, such as 0-2 or 0,3
                  --cpuset-mems LIST   Memory nodes the container may use
                  --memory-swap BYTES  Memory plus swap, such as 256m (needs -m; -1 is unlimited)
                  --memory-reservation BYTES
                                       Soft memory limit, such as 32m
                  --oom-kill-disable   Keep the OOM killer from killing the container (cgroup v1)
                  --ulimit NAME=SOFT[:HARD]
                                       Set a resource limit, such as nofile=1024:2048 (repeatable)
                  --init               Run a reaper as PID 1 that forwards signals and reaps zombies
                  --device HOST[:CTR[:rwm]]
                                       Add a host device to the container (repeatable)
                  --ipc MODE           IPC namespace: private (default), host or container:NAME
                  --pid MODE           PID namespace: host or container:NAME (default: a new one)
                  --uts MODE           UTS namespace: host (default: a new one)
                  --volumes-from CONTAINER[:ro|rw]
                                       Mount the volumes and binds of a container (repeatable)
                  --shm-size BYTES     Size of /dev/shm (default 64m)
                  --storage-opt size=BYTES
                                       Size limit of the container's writable layer, such as 1G
                                       (needs project quotas under the daemon's root)
                  --cap-add CAP        Add a capability (repeatable; ALL for every one)
                  --cap-drop CAP       Drop a capability (repeatable; ALL for every one)
                  --security-opt OPT   no-new-privileges, seccomp=unconfined or seccomp=PROFILE.json
                  --log-driver NAME    Logging driver: json-file or none (default: the daemon's)
                  --log-opt KEY=VALUE  Logging driver option, such as max-size=10m, max-file=3 or
                                       compress=true (repeatable)
                  --stop-signal SIGNAL Signal that stop sends first (default SIGTERM)
                  --stop-timeout SECS  Seconds that stop waits before SIGKILL (default 10)
            """,
        "create": """
            Usage: swiftd create [OPTIONS] IMAGE [COMMAND] [ARG...]

            Creates a container without starting it, and prints its ID. Takes the options of run.
            """,
        "start": """
            Usage: swiftd start [OPTIONS] CONTAINER [CONTAINER...]

            Starts stopped containers.

            Options:
              -a, --attach         Attach to the output and exit with the container's exit code
              -i, --interactive    Attach the input too, if the container was created with -i
                  --detach-keys    The keys that detach from an attached container
            """,
        "ps": """
            Usage: swiftd ps [OPTIONS]

            Lists containers.

            Options:
              -a, --all                Show all containers (default: running only)
              -f, --filter KEY=VALUE   id, name, label, status, exited, ancestor, before, since or
                                       network (repeatable)
                  --format TEMPLATE    Print with a Go template ({{.ID}}, {{.Names}}, {{.Status}}…),
                                       "table TEMPLATE" or json
              -l, --latest             Show the latest created container
              -n, --last N             Show the N latest created containers
              -q, --quiet              Print only the IDs
                  --no-trunc           Do not shorten IDs and commands
            """,
        "logs": """
            Usage: swiftd logs [OPTIONS] CONTAINER

            Shows a container's output.

            Options:
              -f, --follow       Keep streaming new output until the container stops
              -t, --timestamps   Prefix each line with its time
              -n, --tail N       Show only the last N lines (default all)
                  --since TIME   Show lines since TIME: Unix seconds, RFC 3339 (2013-01-02T13:23:37Z,
                                 or local time without a zone), or a duration ago (10m, 1h30m)
                  --until TIME   Show lines before TIME, in the same forms
            """,
        "stop": """
            Usage: swiftd stop [OPTIONS] CONTAINER [CONTAINER...]

            Stops running containers: the stop signal first, then SIGKILL after the timeout.

            Options:
              -t, --time SECS      Seconds to wait before SIGKILL (default 10)
              -s, --signal SIGNAL  Signal to send first
            """,
        "kill": """
            Usage: swiftd kill [OPTIONS] CONTAINER [CONTAINER...]

            Sends a signal to running containers.

            Options:
              -s, --signal SIGNAL  Signal to send (default KILL)
            """,
        "wait": """
            Usage: swiftd wait CONTAINER [CONTAINER...]

            Waits until containers stop, and prints their exit codes.
            """,
        "rm": """
            Usage: swiftd rm [OPTIONS] CONTAINER [CONTAINER...]

            Removes containers.

            Options:
              -f, --force   Kill a running container first
            """,
        "inspect": """
            Usage: swiftd inspect [OPTIONS] NAME [NAME...]

            Prints the low-level JSON of containers or images.

            Options:
              -f, --format TEMPLATE   Print with a Go template ({{.State.Status}}, {{json .Config}}…)
                  --type TYPE         container or image
            """,
        "images": """
            Usage: swiftd images [OPTIONS] [REPOSITORY[:TAG]]

            Lists images, newest first; a REPOSITORY[:TAG] pattern (with * and ?) lists only
            the matching names.

            Options:
              -a, --all                Show all images (swiftd keeps no intermediate images)
                  --digests            Show digests
                  --format TEMPLATE    Print with a Go template ({{.Repository}}, {{.Tag}}, {{.ID}}…),
                                       "table TEMPLATE" or json
              -f, --filter KEY=VALUE   dangling=true|false, reference=PATTERN, label=KEY[=VALUE],
                                       before=IMAGE or since=IMAGE (repeatable)
              -q, --quiet              Print only the IDs
                  --no-trunc           Print full IDs
            """,
        "import": """
            Usage: swiftd import [OPTIONS] FILE|- [REPOSITORY[:TAG]]

            Creates an image from a tar archive of a root file system (- reads standard input).

            Options:
              -c, --change TEXT    Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE,
                                   LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR) to the image's config
                                   (repeatable)
              -m, --message TEXT   Comment for the image's history
            """,
        "rmi": """
            Usage: swiftd rmi [OPTIONS] IMAGE [IMAGE...]

            Removes image names, and images whose last name goes; refuses images that containers use.

            Options:
              -f, --force      Remove every name of an image ID, and the names of an image that
                               a stopped container uses (the image stays for the container)
                  --no-prune   Accepted for compatibility; swiftd keeps no untagged parents
            """,
        "tag": """
            Usage: swiftd tag SOURCE_IMAGE TARGET_IMAGE[:TAG]

            Adds a name to an image.
            """,
        "restart": """
            Usage: swiftd restart [OPTIONS] CONTAINER [CONTAINER...]

            Stops and starts containers.

            Options:
              -t, --time SECS   Seconds to wait before SIGKILL (default 10)
            """,
        "port": """
            Usage: swiftd port CONTAINER [PRIVATE_PORT[/PROTO]]

            Lists a container's published ports, or the host addresses of one port.
            """,
        "rename": """
            Usage: swiftd rename CONTAINER NEW_NAME

            Renames a container.
            """,
        "update": """
            Usage: swiftd update [OPTIONS] CONTAINER [CONTAINER...]

            Changes the limits and restart policy of containers: at once for running ones, and at
            the next start for stopped ones. Options left out keep their values.

            Options:
              -m, --memory BYTES       Memory limit, such as 64m or 1g (at least 6m)
                  --memory-swap BYTES  Memory plus swap, such as 256m (-1 is unlimited)
                  --memory-reservation BYTES
                                       Soft memory limit, such as 32m
                  --cpus N             CPU limit, such as 0.5
              -c, --cpu-shares N       Relative CPU weight
                  --cpu-period USECS   CFS period in microseconds (1000 to 1000000)
                  --cpu-quota USECS    CPU time per period in microseconds (at least 1000; -1 is
                                       unlimited)
                  --cpuset-cpus LIST   CPUs the container may use, such as 0-2 or 0,3
                  --cpuset-mems LIST   Memory nodes the container may use
                  --pids-limit N       Maximum number of processes (0 or -1 is unlimited)
                  --restart POLICY     no, always, unless-stopped or on-failure[:N]
            """,
        "pause": """
            Usage: swiftd pause CONTAINER [CONTAINER...]

            Freezes every process of running containers.
            """,
        "unpause": """
            Usage: swiftd unpause CONTAINER [CONTAINER...]

            Thaws paused containers.
            """,
        "exec": """
            Usage: swiftd exec [OPTIONS] CONTAINER COMMAND [ARG...]

            Runs a command in a running container, shows its output, and exits with its exit code.

            Options:
              -d, --detach           Run the command in the background
              -e, --env KEY=VALUE    Set an environment variable (repeatable)
              -w, --workdir DIR      Working directory inside the container
              -u, --user UID[:GID]   User to run as (numeric)
                  --privileged       All capabilities, no seccomp filter
            """,
        "save": """
            Usage: swiftd save [-o FILE] IMAGE [IMAGE...]

            Writes images, with their names, to a tar archive in the docker save format (which is
            also an OCI image layout).

            Options:
              -o, --output FILE   Write to FILE instead of standard output
            """,
        "pull": """
            Usage: swiftd pull [OPTIONS] NAME[:TAG|@DIGEST]

            Downloads an image from a registry. Credentials saved by swiftd login (or docker
            login) are sent along.

            Options:
                  --platform OS/ARCH   Pull the image for this platform (default: the host's)
              -q, --quiet              Print only the image name
            """,
        "push": """
            Usage: swiftd push NAME[:TAG]

            Uploads an image to the registry its name gives, skipping layers the registry
            already has. Credentials saved by swiftd login (or docker login) are sent along.

            Options:
              -q, --quiet   Print nothing but errors
            """,
        "login": """
            Usage: swiftd login [OPTIONS] [SERVER]

            Checks credentials against a registry (Docker Hub by default) and saves them in
            ~/.swiftd/config.json.

            Options:
              -u, --username USER    User name
              -p, --password PASS    Password (prefer --password-stdin)
                  --password-stdin   Read the password from standard input
            """,
        "logout": """
            Usage: swiftd logout [SERVER]

            Removes the credentials saved for a registry (Docker Hub by default).
            """,
        "search": """
            Usage: swiftd search [OPTIONS] [HOST/]TERM

            Searches a registry that offers search (Docker Hub does; the distribution registry
            does not).

            Options:
                  --limit N   Show at most N results (default 25)
            """,
        "load": """
            Usage: swiftd load [-i FILE]

            Reads images from a docker save or OCI image layout archive.

            Options:
              -i, --input FILE   Read from FILE instead of standard input
              -q, --quiet        Print nothing
            """,
        "export": """
            Usage: swiftd export [-o FILE] CONTAINER

            Writes a container's file system to a tar archive.

            Options:
              -o, --output FILE   Write to FILE instead of standard output
            """,
        "cp": """
            Usage: swiftd cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
                   swiftd cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH

            Copies files and directories between a container, running or stopped, and the
            local file system. A source ending in /. copies the directory's contents; a
            destination that exists as a directory receives the source inside it, otherwise
            the copy takes the destination's name. - writes a tar archive to standard output,
            or extracts one from standard input into a directory of the container.

            Options:
              -a, --archive       Give the copied files the container user's uid and gid
              -L, --follow-link   Copy the target of a symbolic link source, not the link
              -q, --quiet         Print nothing (swiftd prints no progress anyway)
            """,
        "diff": """
            Usage: swiftd diff CONTAINER

            Lists files a container added (A), changed (C) or deleted (D).
            """,
        "commit": """
            Usage: swiftd commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]

            Creates an image from a container's changes; a running container is paused meanwhile.

            Options:
              -m, --message TEXT   Comment for the image's history
              -a, --author NAME    Author of the image
              -c, --change TEXT    Apply a Dockerfile instruction to the image's config (repeatable)
              -p=false             Do not pause a running container
            """,
        "history": """
            Usage: swiftd history [OPTIONS] IMAGE

            Shows the steps that made an image.

            Options:
                  --format TEMPLATE   Format the output with a Go template, or table TEMPLATE
              -H, --human             Sizes and dates in human-readable form (default true)
                  --no-trunc          Do not shorten IDs and commands
              -q, --quiet             Print only the image IDs
            """,
        "version": """
            Usage: swiftd version [-f TEMPLATE]

            Shows the client's and the daemon's versions; -f prints with a Go template such as
            {{.Server.APIVersion}}.
            """,
        "info": """
            Usage: swiftd info [-f TEMPLATE]

            Shows daemon-wide information; -f prints with a Go template such as {{.Driver}}.
            """,
        "events": """
            Usage: swiftd events [OPTIONS]

            Shows events from the daemon as they happen.

            Options:
                  --since TIME         Show events since TIME (Unix seconds, RFC 3339, or 10m ago)
                  --until TIME         Stop at TIME
              -f, --filter KEY=VALUE   type, container, image, event or label (repeatable)
                  --format json        Print each event as JSON
            """,
    ]

    /// Returns the help of a command or of a group's subcommand (`network create`).
    static func text(for topic: String) -> String? {
        if let command = imageAliases[topic], let text = texts[command] {
            return aliased(text, command: command)
        }
        return texts[topic] ?? groupTexts[topic] ?? moreTexts[topic]
    }

    /// The top-level command that each `image` subcommand other than `prune` runs.
    static let imageAliases: [String: String] = [
        "image ls": "images", "image list": "images", "image inspect": "inspect",
        "image rm": "rmi", "image remove": "rmi", "image tag": "tag", "image history": "history",
        "image import": "import", "image load": "load", "image save": "save",
        "image pull": "pull", "image push": "push",
    ]

    /// Returns a top-level command's help, its usage line under the `image` name and an
    /// `Aliases:` line after it.
    private static func aliased(_ text: String, command: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let name = ["images": "image ls", "rmi": "image rm"][command] ?? "image \(command)"
        if let usage = lines.first, usage.hasPrefix("Usage: swiftd \(command)") {
            lines[0] = "Usage: swiftd \(name)" + usage.dropFirst("Usage: swiftd \(command)".count)
        }
        let names = imageAliases.filter { $0.value == command }.keys.sorted() + [command]
        let line = "Aliases: " + names.map { "swiftd \($0)" }.joined(separator: ", ")
        lines.insert(contentsOf: ["", line], at: min(1, lines.count))
        if command == "inspect" {
            lines += ["", "swiftd image inspect looks up images only, as --type image does."]
        }
        return lines.joined(separator: "\n")
    }
}
