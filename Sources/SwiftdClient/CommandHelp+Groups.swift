extension CommandHelp {
    /// The help of the `network`, `volume`, `image` and `system` groups and of each of their
    /// subcommands (an `image` subcommand that runs a top-level command shows that one's help).
    static let groupTexts: [String: String] = [
        "image": """
        Usage: swiftd image COMMAND

        Manages images.

        Commands:
          ls        List images (swiftd images)
          inspect   Show images as JSON
          rm        Remove images (swiftd rmi)
          tag       Add a name to an image
          history   Show how an image was made
          import    Create an image from a tar archive
          load      Read images from a tar archive
          save      Write images to a tar archive
          prune     Remove unused images
          pull      Download an image from a registry
          push      Upload an image to a registry

        Run 'swiftd image COMMAND --help' for more information on a command.
        """,
        "image prune": """
        Usage: swiftd image prune [OPTIONS]

        Removes dangling images (those without a name) that no container uses; with --all,
        every image that no container uses.

        Options:
          -a, --all                Remove named images as well
              --filter KEY=VALUE   label=KEY[=VALUE], label!=KEY[=VALUE] or until=TIME
                                   (Unix seconds, RFC 3339 or a duration such as 24h)
          -f, --force              Do not ask for confirmation (swiftd never asks)
        """,
        "system": """
        Usage: swiftd system COMMAND

        Manages the daemon's data.

        Commands:
          df   Show how much disk space images and containers take

        Run 'swiftd system COMMAND --help' for more information on a command.
        """,
        "system df": """
        Usage: swiftd system df [OPTIONS]

        Shows how much disk space images and containers take, and how much removing the
        unused ones would free.

        Options:
          -v, --verbose   Show every image and container
              --format F  Print each row through a Go template (.Type, .TotalCount, .Active,
                          .Size, .Reclaimable); "table F" adds a header
        """,
        "network": """
        Usage: swiftd network COMMAND

        Manages user-defined bridge networks.

        Commands:
          create       Create a network
          connect      Connect a container to a network
          disconnect   Disconnect a container from a network
          ls           List networks
          inspect      Show networks as JSON
          rm           Remove networks
          prune        Remove every network no container uses

        Run 'swiftd network COMMAND --help' for more information on a command.
        """,
        "network create": """
        Usage: swiftd network create [OPTIONS] NAME

        Creates a bridge network and prints its ID.

        Options:
          -d, --driver DRIVER      Network driver (default bridge, the only one)
              --subnet CIDR        Subnet, such as 10.1.2.0/24 (default: a free one)
              --gateway ADDRESS    Bridge address (default: the subnet's first)
              --ip-range CIDR      Part of the subnet that containers get addresses from
              --aux-address NAME=IP
                                   Address the network must not hand out (repeatable)
              --ipam-driver NAME   IP address management driver (default, the only one)
              --internal           Restrict external access to the network
          -o, --opt KEY=VALUE      Driver option, such as
                                   com.docker.network.bridge.name=NAME (repeatable)
              --label KEY=VALUE    Set a label (repeatable)
        """,
        "network connect": """
        Usage: swiftd network connect [OPTIONS] NETWORK CONTAINER

        Connects a container to a network.

        Options:
              --alias NAME     Further name of the container on the network (repeatable)
              --ip ADDRESS     IPv4 address of the container on the network
              --link NAME[:ALIAS]
                               Name that only this container resolves to NAME (repeatable)
        """,
        "network disconnect": """
        Usage: swiftd network disconnect [OPTIONS] NETWORK CONTAINER

        Disconnects a container from a network.

        Options:
          -f, --force   Force the container to disconnect
        """,
        "network ls": """
        Usage: swiftd network ls [OPTIONS]

        Lists networks.

        Options:
          -f, --filter KEY=VALUE   dangling, driver, id, label, name, scope or type=custom|builtin
          -q, --quiet              Print only the IDs
              --no-trunc           Do not shorten IDs
              --format TEMPLATE    table or a Go template
        """,
        "network inspect": """
        Usage: swiftd network inspect [OPTIONS] NETWORK [NETWORK...]

        Shows networks as JSON.

        Options:
          -f, --format TEMPLATE   Format the output with a Go template
        """,
        "network rm": """
        Usage: swiftd network rm NETWORK [NETWORK...]

        Removes networks that no container uses.
        """,
        "network prune": """
        Usage: swiftd network prune [OPTIONS]

        Removes every user-defined network that no container uses.

        Options:
              --filter KEY=VALUE   label=KEY[=VALUE] or label!=KEY[=VALUE]
          -f, --force              Do not ask for confirmation (swiftd never asks)
        """,
        "volume": """
        Usage: swiftd volume COMMAND

        Manages volumes.

        Commands:
          create    Create a volume
          ls        List volumes
          inspect   Show volumes as JSON
          rm        Remove volumes
          prune     Remove volumes no container uses

        Run 'swiftd volume COMMAND --help' for more information on a command.
        """,
        "volume create": """
        Usage: swiftd volume create [OPTIONS] [VOLUME]

        Creates a volume and prints its name; without a name the daemon picks one.

        Options:
              --name NAME           Name of the volume
          -d, --driver DRIVER       Volume driver (default local, the only one)
          -l, --label KEY=VALUE     Set a label (repeatable)
        """,
        "volume ls": """
        Usage: swiftd volume ls [OPTIONS]

        Lists volumes.

        Options:
          -q, --quiet   Print only the names
        """,
        "volume inspect": """
        Usage: swiftd volume inspect VOLUME [VOLUME...]

        Shows volumes as JSON.
        """,
        "volume rm": """
        Usage: swiftd volume rm [OPTIONS] VOLUME [VOLUME...]

        Removes volumes that no container uses.

        Options:
          -f, --force   Accepted for compatibility
        """,
        "volume prune": """
        Usage: swiftd volume prune [OPTIONS]

        Removes anonymous volumes that no container uses; with --all, named ones too.

        Options:
          -a, --all     Remove named volumes as well
          -f, --force   Do not ask for confirmation (swiftd never asks)
        """,
    ]

    /// The help of attach, top and stats.
    static let moreTexts: [String: String] = [
        "attach": """
        Usage: swiftd attach [OPTIONS] CONTAINER

        Connects the terminal to a running container's output and, if the container has an
        open stdin, its input. Exits with the container's exit code, or 0 after a detach.

        Options:
              --no-stdin             Do not send the terminal's input
              --detach-keys KEYS     Key sequence that detaches, such as ctrl-p,ctrl-q
              --sig-proxy BOOL       Accepted for compatibility
        """,
        "top": """
        Usage: swiftd top CONTAINER [ps OPTIONS]

        Lists the processes of a running container; ps OPTIONS (default -ef) choose the
        columns.
        """,
        "stats": """
        Usage: swiftd stats [OPTIONS] [CONTAINER...]

        Shows CPU, memory, network and process counts of running containers (default: all
        running ones), redrawn every second until interrupted.

        Options:
              --no-stream   Print one table and exit
          -a, --all         Accepted for compatibility; only running containers are shown
        """,
    ]
}
