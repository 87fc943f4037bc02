import Foundation
import SwiftdAPI

extension Commands {
    /// `swiftd top CONTAINER [ps OPTIONS]`: the container's processes as a table.
    func top(_ arguments: [String]) throws -> Int32 {
        guard let name = arguments.first else {
            throw UsageFailure(message: "requires at least 1 argument: CONTAINER [ps OPTIONS]")
        }
        var path = "/containers/\(percentEncode(name))/top"
        if arguments.count > 1 {
            path += "?ps_args=" + percentEncode(arguments.dropFirst().joined(separator: " "))
        }
        let response = try call("GET", path)
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let titles = object?["Titles"] as? [String] ?? []
        let processes = object?["Processes"] as? [[String]] ?? []
        printTable([titles] + processes)
        return 0
    }

    /// `swiftd stats [--no-stream] CONTAINER...`: CPU, memory, network and pids of running
    /// containers; without `--no-stream` the table is redrawn every second until interrupted.
    func stats(_ arguments: [String]) throws -> Int32 {
        var flags = FlagParser([
            .init(names: ["--no-stream"], takesValue: false),
            .init(names: ["-a", "--all"], takesValue: false),
        ])
        try flags.parse(arguments)
        var names = flags.positional
        if names.isEmpty {
            let list = try call("GET", "/containers/json").decode([ContainerSummary].self)
            names = list.map { String($0.Id.prefix(12)) }
        }
        while true {
            var rows = [[
                "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "PIDS",
            ]]
            for name in names {
                let path = "/containers/\(percentEncode(name))/stats?stream=0"
                let response = try call("GET", path)
                let object = try JSONSerialization.jsonObject(with: Data(response.body))
                rows.append(Self.statsRow(object as? [String: Any] ?? [:]))
            }
            if flags.bool("--no-stream") {
                printTable(rows)
                return 0
            }
            // Clear the screen and move home, as docker stats redraws.
            print("\u{1b}[2J\u{1b}[H", terminator: "")
            printTable(rows)
        }
    }

    /// One `docker stats` row from a stats document, with dockerd's CPU percentage: the
    /// container's share of the host's CPU time since the previous sample, times the CPUs.
    static func statsRow(_ stats: [String: Any]) -> [String] {
        func number(_ object: Any?, _ path: String...) -> Double {
            var current = object
            for key in path { current = (current as? [String: Any])?[key] }
            return (current as? NSNumber)?.doubleValue ?? 0
        }
        let cpu = number(stats, "cpu_stats", "cpu_usage", "total_usage")
            - number(stats, "precpu_stats", "cpu_usage", "total_usage")
        let system = number(stats, "cpu_stats", "system_cpu_usage")
            - number(stats, "precpu_stats", "system_cpu_usage")
        let cpus = max(number(stats, "cpu_stats", "online_cpus"), 1)
        let percent = system > 0 && cpu > 0 ? cpu / system * cpus * 100 : 0
        let usage = number(stats, "memory_stats", "usage")
        let limit = number(stats, "memory_stats", "limit")
        var received = 0.0
        var sent = 0.0
        for (_, counters) in stats["networks"] as? [String: Any] ?? [:] {
            received += number(counters, "rx_bytes")
            sent += number(counters, "tx_bytes")
        }
        let id = (stats["id"] as? String).map { String($0.prefix(12)) } ?? ""
        let name = (stats["name"] as? String).map { String($0.dropFirst()) } ?? ""
        return [
            id, name, String(format: "%.2f%%", percent),
            "\(binarySize(usage)) / \(binarySize(limit))",
            String(format: "%.2f%%", limit > 0 ? usage / limit * 100 : 0),
            "\(humanSize(Int64(received))) / \(humanSize(Int64(sent)))",
            "\(Int(number(stats, "pids_stats", "current")))",
        ]
    }
}

/// Formats bytes as `docker stats` does for memory: `258KiB`, `64MiB`, `1.5GiB`.
func binarySize(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = bytes
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    let digits = value < 10 && unit > 0 && value != value.rounded() ? "%.2f" : "%.4g"
    return String(format: digits, value) + units[unit]
}
