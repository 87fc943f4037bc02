import Foundation
import SwiftdAPI

/// The fields that `--format` templates see for `ps` and `images` rows, named as docker's
/// formatters name them.
enum FormatRows {
    static let psHeaders = ["ID": "CONTAINER ID", "RunningFor": "CREATED", "CreatedAt": "CREATED AT"]
    static let imageHeaders = ["ID": "IMAGE ID", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT"]

    /// Returns the row of a container with the keys of the docker CLI's `ps --format json`.
    static func container(_ container: ContainerSummary, truncate: Bool) -> LabeledRow {
        var command = container.Command
        if truncate && command.count > 20 { command = String(command.prefix(19)) + "…" }
        let created = Date(timeIntervalSince1970: TimeInterval(container.Created))
        // TODO: the daemon's container list leaves Mounts empty, so Mounts is empty and
        // LocalVolumes 0 here; Size is docker's "0B" because the list is never asked for sizes.
        let fields: [String: Any] = [
            "ID": truncate ? String(container.Id.prefix(12)) : container.Id,
            "Image": displayedImage(container, truncate: truncate), "Command": "\"\(command)\"",
            "CreatedAt": goTime(created), "RunningFor": humanAgo(created),
            "Ports": formatPorts(container.Ports), "State": container.State, "Status": container.Status,
            "Names": container.Names.map { String($0.drop { $0 == "/" }) }.joined(separator: ","),
            "Labels": container.Labels.keys.sorted().map { "\($0)=\(container.Labels[$0]!)" }.joined(separator: ","),
            "Networks": container.NetworkSettings.Networks.keys.sorted().joined(separator: ","),
            "Mounts": container.Mounts.joined(separator: ","), "LocalVolumes": "0", "Size": "0B",
        ]
        return LabeledRow(fields: fields, labels: container.Labels)
    }

    /// Returns one row per repository and tag, as `docker images` lists them.
    static func images(_ image: ImageSummary, truncate: Bool) -> [LabeledRow] {
        let created = Date(timeIntervalSince1970: TimeInterval(image.Created))
        let id = truncate ? String(image.Id.dropFirst("sha256:".count).prefix(12)) : image.Id
        let tags = image.RepoTags.isEmpty ? ["<none>:<none>"] : image.RepoTags
        return tags.map { tag in
            let colon = tag.lastIndex(of: ":").flatMap { tag[$0...].contains("/") ? nil : $0 } ?? tag.endIndex
            let repository = String(tag[..<colon])
            let name = colon < tag.endIndex ? String(tag[tag.index(after: colon)...]) : "<none>"
            let digest = image.RepoDigests.first { $0.hasPrefix(repository + "@") }
                .map { String($0.drop { $0 != "@" }.dropFirst()) } ?? "<none>"
            let fields: [String: Any] = [
                "ID": id, "Repository": repository, "Tag": name, "Digest": digest,
                "CreatedSince": humanAgo(created), "CreatedAt": goTime(created),
                "Size": humanSize(image.Size), "Containers": image.Containers,
                "Labels": image.Labels.keys.sorted().map { "\($0)=\(image.Labels[$0]!)" }.joined(separator: ","),
            ]
            return LabeledRow(fields: fields, labels: image.Labels)
        }
    }

    /// Formats a time as Go prints a `time.Time`: `2024-01-02 03:04:05 +0000 UTC`.
    static func goTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date) + " +0000 UTC"
    }
}

/// Decodes a JSON response body for a template.
func jsonTree(_ body: [UInt8]) throws -> Any {
    do {
        return try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
    } catch {
        throw DaemonFailure(message: "invalid JSON from the daemon: \(error)", exitStatus: 1)
    }
}
