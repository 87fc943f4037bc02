import Foundation
import SwiftdAPI

extension Commands {
    /// `swiftd image COMMAND`: the image commands under one group, as `docker image` has them.
    /// Every subcommand but `prune` is another name of a top-level command.
    func image(_ arguments: [String]) throws -> Int32 {
        guard let verb = arguments.first else {
            throw UsageFailure(
                message:
                    "image requires a command: ls, inspect, rm, tag, history, import, load, save, "
                    + "prune, pull or push")
        }
        let rest = Array(arguments.dropFirst())
        switch verb {
        case "ls", "list": return try images(rest)
        case "inspect": return try inspect(["--type", "image"] + rest)
        case "rm", "remove": return try rmi(rest)
        case "tag": return try tag(rest)
        case "history": return try history(rest)
        case "import": return try importImage(rest)
        case "load": return try load(rest)
        case "save": return try save(rest)
        case "prune": return try imagePrune(rest)
        case "pull": return try pull(rest)
        case "push": return try push(rest)
        default: throw UsageFailure(message: "unknown image command: \(verb)")
        }
    }

    /// `image prune [-a] [-f] [--filter KEY=VALUE]`: removes dangling images, or with `-a`
    /// every image that no container uses, and prints what went as the docker CLI does.
    private func imagePrune(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-a", "--all"], takesValue: false),
            .init(names: ["-f", "--force"], takesValue: false),
            .init(names: ["--filter"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.isEmpty else {
            throw UsageFailure(message: "image prune accepts no arguments")
        }
        var filters = try filterQuery(flags.strings("--filter"))
        if flags.bool("-a") { filters["dangling"] = ["false"] }
        var path = "/images/prune"
        if !filters.isEmpty {
            let json = String(decoding: try JSONEncoder().encode(filters), as: UTF8.self)
            path += "?filters=" + percentEncode(json)
        }
        let report = try call("POST", path).decode(ImagePruneResponse.self)
        let items = report.ImagesDeleted ?? []
        if !items.isEmpty {
            print("Deleted Images:")
            for item in items {
                if let untagged = item.Untagged { print("untagged: \(untagged)") }
                if let deleted = item.Deleted { print("deleted: \(deleted)") }
            }
            print("")
        }
        print("Total reclaimed space: \(humanSize(report.SpaceReclaimed))")
        return 0
    }

    /// `swiftd system COMMAND`; `df` is the one subcommand.
    func system(_ arguments: [String]) throws -> Int32 {
        guard let verb = arguments.first else {
            throw UsageFailure(message: "system requires a command: df")
        }
        switch verb {
        case "df": return try systemDiskUsage(Array(arguments.dropFirst()))
        default: throw UsageFailure(message: "unknown system command: \(verb)")
        }
    }

    /// `system df [-v] [--format F]`: the space images and containers take, from
    /// `GET /system/df`. A format template reads each row's `.Type`, `.TotalCount`, `.Active`,
    /// `.Size` and `.Reclaimable`, the docker CLI's field names.
    private func systemDiskUsage(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["-v", "--verbose"], takesValue: false),
            .init(names: ["--format"], takesValue: true),
        ])
        try flags.parse(arguments)
        guard flags.positional.isEmpty else {
            throw UsageFailure(message: "system df accepts no arguments")
        }
        let template = try flags.listFormat().map {
            try OutputTemplate($0, headers: ["TotalCount": "TOTAL"])
        }
        if template != nil && flags.bool("-v") {
            throw UsageFailure(message: "system df takes --format without --verbose only")
        }
        let usage = try call("GET", "/system/df").decode(DiskUsageSummary.self)
        if flags.bool("-v") {
            printVerboseDiskUsage(usage)
            return 0
        }
        var rows = [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]]
        rows.append(
            [
                "Images", "\(usage.Images.count)", "\(usage.Images.filter { $0.Containers > 0 }.count)",
                humanSize(usage.LayersSize), reclaimable(usage.imagesReclaimable, of: usage.LayersSize),
            ])
        let containerSize = usage.Containers.reduce(Int64(0)) { $0 + $1.SizeRw }
        let idle = usage.Containers.filter { !$0.isActive }.reduce(Int64(0)) { $0 + $1.SizeRw }
        rows.append(
            [
                "Containers", "\(usage.Containers.count)",
                "\(usage.Containers.filter(\.isActive).count)", humanSize(containerSize),
                reclaimable(idle, of: containerSize),
            ])
        // TODO: the daemon leaves Volumes and BuildCache empty in GET /system/df, so these
        // rows show 0 even when volumes exist.
        rows.append(["Local Volumes", "0", "0", "0B", "0B"])
        rows.append(["Build Cache", "0", "0", "0B", "0B"])
        guard let template else {
            printTable(rows)
            return 0
        }
        let fields = ["Type", "TotalCount", "Active", "Size", "Reclaimable"]
        let values = rows.dropFirst().map { row in
            Dictionary(uniqueKeysWithValues: zip(fields, row.map { $0 as Any }))
        }
        writeStdout(Array(try template.render(all: values).utf8))
        return 0
    }

    /// Prints the `Images space usage:` and `Containers space usage:` tables of `system df -v`.
    private func printVerboseDiskUsage(_ usage: DiskUsageSummary) {
        print("Images space usage:\n")
        var images = [
            ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]
        ]
        for image in usage.Images {
            let id = String(image.Id.dropFirst("sha256:".count).prefix(12))
            let created = humanAgo(Date(timeIntervalSince1970: TimeInterval(image.Created)))
            let sizes = [
                humanSize(image.Size), humanSize(image.SharedSize), humanSize(image.Size - image.SharedSize),
                "\(image.Containers)",
            ]
            let tags = image.RepoTags.isEmpty ? ["<none>:<none>"] : image.RepoTags
            for tag in tags {
                let (repository, name) = splitRepositoryTag(tag)
                images.append([repository, name, id, created] + sizes)
            }
        }
        printTable(images)
        print("\nContainers space usage:\n")
        var containers = [
            ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]
        ]
        for container in usage.Containers {
            var command = container.Command
            if command.count > 20 { command = String(command.prefix(19)) + "…" }
            let created = humanAgo(Date(timeIntervalSince1970: TimeInterval(container.Created)))
            let names = container.Names.map { String($0.drop { $0 == "/" }) }.joined(separator: ",")
            containers.append(
                [
                    String(container.Id.prefix(12)), container.Image, "\"\(command)\"", "0",
                    humanSize(container.SizeRw), created, container.Status, names,
                ])
        }
        printTable(containers)
        print("\nLocal Volumes space usage:\n")
        printTable([["VOLUME NAME", "LINKS", "SIZE"]])
        print("\nBuild cache usage: 0B\n")
    }

    /// `SIZE (PERCENT%)`, as docker prints a reclaimable size.
    private func reclaimable(_ size: Int64, of total: Int64) -> String {
        guard total > 0 else { return humanSize(size) }
        return "\(humanSize(size)) (\(size * 100 / total)%)"
    }
}

/// Splits a familiar `repository:tag` at the colon after the last slash; `<none>` without a tag.
func splitRepositoryTag(_ reference: String) -> (repository: String, tag: String) {
    guard let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") else {
        return (reference, "<none>")
    }
    return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
}

/// `POST /images/prune`'s response.
struct ImagePruneResponse: Decodable {
    struct Item: Decodable {
        var Untagged: String?
        var Deleted: String?
    }

    var ImagesDeleted: [Item]?
    var SpaceReclaimed: Int64
}

/// The parts of `GET /system/df`'s response that `system df` prints.
struct DiskUsageSummary: Decodable {
    struct ImageRow: Decodable {
        var Id: String
        var RepoTags: [String]
        var Created: Int64
        var Size: Int64
        var SharedSize: Int64
        var Containers: Int
    }

    struct ContainerRow: Decodable {
        var Id: String
        var Names: [String]
        var Image: String
        var Command: String
        var Created: Int64
        var State: String
        var Status: String
        var SizeRw: Int64

        /// True for the states whose writable layer docker counts as in use.
        var isActive: Bool { ["running", "paused", "restarting"].contains(State) }
    }

    var LayersSize: Int64
    var Images: [ImageRow]
    var Containers: [ContainerRow]

    /// The layer bytes that removing every unused image would free: what docker's
    /// `system df` computes, the total less the unique size of each image a container uses.
    var imagesReclaimable: Int64 {
        let used = Images.filter { $0.Containers > 0 }.reduce(Int64(0)) { $0 + $1.Size - $1.SharedSize }
        return max(LayersSize - used, 0)
    }
}
