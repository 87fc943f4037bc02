import Foundation
import SwiftdNetlink
import SwiftdSystem
import Synchronization

/// A user-defined bridge network as it is saved in `networks.json`.
public struct NetworkRecord: Codable, Sendable, Equatable {
    /// 64 hexadecimal digits.
    public var id: String
    public var name: String
    /// The creation time in RFC 3339 form.
    public var created: String
    /// The bridge interface, `br-` and the first 12 digits of the ID unless chosen with
    /// `com.docker.network.bridge.name`.
    public var bridgeName: String
    /// The subnet, such as `10.1.2.0/24`.
    public var subnet: String
    public var gateway: String
    /// The part of the subnet that container addresses come from, if set.
    public var ipRange: String?
    public var labels: [String: String]
    /// True for `--internal`; nil in records saved before internal networks existed.
    public var isInternal: Bool?
    /// The driver options (`-o`), such as `com.docker.network.driver.mtu`; nil in records
    /// saved before they were kept.
    public var options: [String: String]?
    /// Addresses of the subnet that are never given to containers, by name (`--aux-address`).
    public var auxiliaryAddresses: [String: String]?

    public init(
        id: String, name: String, created: String, bridgeName: String, subnet: String,
        gateway: String, ipRange: String?, labels: [String: String]
    ) {
        self.id = id
        self.name = name
        self.created = created
        self.bridgeName = bridgeName
        self.subnet = subnet
        self.gateway = gateway
        self.ipRange = ipRange
        self.labels = labels
    }
}

/// The user-defined bridge networks: one `BridgeDriver` each, saved in `DIRECTORY/networks.json`
/// so that the daemon recreates them at start-up.
///
/// Methods that create or remove bridges block on netlink and iptables (milliseconds). The
/// registry is thread-safe.
public final class NetworkRegistry: Sendable {
    private struct Entry: Sendable {
        var record: NetworkRecord
        var driver: BridgeDriver
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Held through `create`, so that two requests cannot both take a name or a bridge.
    private let createLock = Mutex<Void>(())
    /// The embedded DNS server of each container that has one, by container ID.
    private let resolvers = Mutex<[String: EmbeddedResolver]>([:])
    /// The IDs of `bridge`, `host` and `none`, by name, kept in `builtin-networks.json`.
    private let builtinIDs = Mutex<[String: String]>([:])
    private let directory: String
    private let enableIPTables: Bool
    private let log: Logger

    /// The names that refer to the built-in networks and cannot be used for others.
    public static let reservedNames: Set<String> = ["bridge", "host", "none", "default"]

    /// Creates an empty registry that keeps its file and address leases in `directory`.
    public init(directory: String, enableIPTables: Bool, log: Logger) {
        self.directory = directory
        self.enableIPTables = enableIPTables
        self.log = log
    }

    private var path: String { "\(directory)/networks.json" }

    /// Recreates the bridges of the saved networks. A network whose bridge cannot be set up
    /// is logged and left out.
    ///
    /// NOTE: the next change to the registry rewrites the file without such a network.
    ///
    /// Reads or makes the built-in networks' IDs first. A network whose bridge is
    /// `defaultBridge` or that of a network restored before it is left out too, because its
    /// rules would replace the other's and its removal would delete the other's bridge.
    ///
    /// - Throws: `SystemCallError` if the file exists but cannot be read; `SwiftdError`
    ///   (`internalError`) if it is not valid JSON.
    public func restore(defaultBridge: String? = nil) throws {
        try loadBuiltinIDs()
        guard FileSystem.exists(path) else { return }
        let records: [NetworkRecord]
        do {
            records = try JSONDecoder().decode(
                [NetworkRecord].self, from: Data(FileSystem.read(path)))
        } catch let error as DecodingError {
            throw SwiftdError(.internalError, "cannot parse \(path): \(error)")
        }
        var bridges = Set(defaultBridge.map { [$0] } ?? [])
        for record in records {
            guard bridges.insert(record.bridgeName).inserted else {
                log.error(
                    "restoring a network failed: its bridge is in use by another network",
                    [("network", record.name), ("bridge", record.bridgeName)])
                continue
            }
            do {
                let driver = try makeDriver(record, bridgeIP: bridgeIP(record))
                entries.withLock { $0[record.id] = Entry(record: record, driver: driver) }
            } catch {
                log.error(
                    "restoring a network failed",
                    [
                        ("network", record.name), ("bridge", record.bridgeName),
                        ("error", "\(error)"),
                    ])
            }
        }
    }

    /// Returns the 64-digit ID of the built-in network `name` (`bridge`, `host` or `none`),
    /// which stays the same across restarts, or nil for any other name.
    public func builtinID(_ name: String) -> String? {
        builtinIDs.withLock { $0[name] }
    }

    /// Returns the name of the built-in network whose ID is `reference` or starts with it, or
    /// nil. The name or full ID of a user-defined network wins over a built-in's ID prefix.
    public func builtinName(matching reference: String) -> String? {
        let isUserNetwork = entries.withLock { all in
            all[reference] != nil || all.values.contains { $0.record.name == reference }
        }
        guard !reference.isEmpty, !isUserNetwork else { return nil }
        let matches = builtinIDs.withLock { $0.filter { $0.value.hasPrefix(reference) } }
        return matches.count == 1 ? matches.first?.key : nil
    }

    /// Reads the built-in networks' IDs, and makes and saves random ones the first time.
    private func loadBuiltinIDs() throws {
        let file = "\(directory)/builtin-networks.json"
        var ids: [String: String] = [:]
        if FileSystem.exists(file) {
            ids = (try? JSONDecoder().decode(
                [String: String].self, from: Data(FileSystem.read(file)))) ?? [:]
        }
        let missing = ["bridge", "host", "none"].filter { ids[$0]?.count != 64 }
        if !missing.isEmpty {
            var generator = SystemRandomNumberGenerator()
            for name in missing {
                ids[name] = (0..<32).map { _ in
                    let byte = UInt8.random(in: 0...255, using: &generator)
                    return String(byte, radix: 16).count == 1
                        ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
                }.joined()
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try FileSystem.writeAtomically(file, Array(try encoder.encode(ids)))
        }
        builtinIDs.withLock { $0 = ids }
    }

    /// Creates a network and its bridge and saves it. Without `subnet`, the first candidate
    /// subnet that overlaps no route or address of the host is used; the gateway defaults to
    /// the subnet's first address. A given `subnet` may overlap host routes, as Docker's may,
    /// but not the subnet of another network or any of `reservedSubnets`. The bridge may not
    /// be another network's or one of `reservedBridges` (bridge name to network ID). A bridge
    /// that exists before the network does is used but never deleted by it.
    ///
    /// - Throws: `SwiftdError` with `conflict` if the name is taken, `invalidArgument` for a
    ///   reserved name or a malformed subnet, gateway or range, `forbidden` for a subnet
    ///   that overlaps another network's or a bridge in use, and `internalError` for a gateway or auxiliary
    ///   address that `IPAMValidation.allocationProblem` rejects. What `BridgeDriver.init`
    ///   throws.
    public func create(
        name: String, subnet: String?, gateway: String?, ipRange: String?, bridgeName: String?,
        labels: [String: String], id: String, created: String, isInternal: Bool = false,
        reservedSubnets: [String] = [], reservedBridges: [String: String] = [:],
        options: [String: String] = [:], auxiliaryAddresses: [String: String] = [:]
    ) throws -> NetworkRecord {
        try createLock.withLock { _ in
            try createLocked(
                name: name, subnet: subnet, gateway: gateway, ipRange: ipRange,
                bridgeName: bridgeName, labels: labels, id: id, created: created,
                isInternal: isInternal, reservedSubnets: reservedSubnets,
                reservedBridges: reservedBridges, options: options,
                auxiliaryAddresses: auxiliaryAddresses)
        }
    }

    private func createLocked(
        name: String, subnet: String?, gateway: String?, ipRange: String?, bridgeName: String?,
        labels: [String: String], id: String, created: String, isInternal: Bool,
        reservedSubnets: [String], reservedBridges: [String: String],
        options: [String: String], auxiliaryAddresses: [String: String]
    ) throws -> NetworkRecord {
        guard !Self.reservedNames.contains(name), !name.isEmpty else {
            throw SwiftdError(.invalidArgument, "network name \"\(name)\" is reserved or empty")
        }
        if lookUp(name) != nil {
            throw SwiftdError(.conflict, "network with name \(name) already exists")
        }

        var bridgeIP: String?
        if let subnet {
            guard let parsed = IPv4Subnet(subnet) else {
                throw SwiftdError(.invalidArgument, "invalid CIDR address: \(subnet)")
            }
            guard parsed.prefixLength <= 30 else {
                throw SwiftdError(
                    .invalidArgument, "invalid subnet \(subnet): expected a /30 or larger")
            }
            let inUse = records.map(\.subnet) + reservedSubnets
            if inUse.compactMap(IPv4Subnet.init).contains(where: { $0.overlaps(parsed) }) {
                // libnetwork's ErrPoolOverlap is a Forbidden error, so dockerd returns 403.
                throw SwiftdError(
                    .forbidden,
                    "invalid pool request: Pool overlaps with other one on this address space")
            }
            let gatewayText = gateway ?? IPv4Address(parsed.network.value + 1).description
            guard let address = IPv4Address(gatewayText), parsed.contains(address) else {
                throw SwiftdError(
                    .invalidArgument, "invalid gateway \(gatewayText): not inside \(parsed)")
            }
            if let problem = IPAMValidation.allocationProblem(
                subnet: subnet, ipRange: ipRange, gateway: gateway,
                auxiliaryAddresses: auxiliaryAddresses)
            {
                throw SwiftdError(.internalError, problem)
            }
            bridgeIP = "\(address)/\(parsed.prefixLength)"
        } else if gateway != nil {
            throw SwiftdError(
                .invalidArgument, "invalid gateway \(gateway ?? ""): --gateway requires --subnet")
        }

        let bridge = bridgeName ?? "br-" + id.prefix(12)
        let bridgeUsers = reservedBridges.merging(records.map { ($0.bridgeName, $0.id) }) { $1 }
        if let other = bridgeUsers[bridge] {
            // dockerd's message (libnetwork's bridge driver, checkConflict), with a 403.
            throw SwiftdError(
                .forbidden,
                "cannot create network \(id) (\(bridge)): conflicts with network \(other) "
                    + "(\(bridge)): networks have same bridge name")
        }
        var record = NetworkRecord(
            id: id, name: name, created: created, bridgeName: bridge, subnet: "", gateway: "",
            ipRange: ipRange, labels: labels)
        record.isInternal = isInternal
        record.options = options.isEmpty ? nil : options
        record.auxiliaryAddresses = auxiliaryAddresses.isEmpty ? nil : auxiliaryAddresses
        let driver = try makeDriver(record, bridgeIP: bridgeIP, isNew: true)
        record.subnet = driver.subnet
        record.gateway = driver.gateway
        entries.withLock { $0[id] = Entry(record: record, driver: driver) }
        save()
        return record
    }

    /// Finds a network by full ID, name, or unique ID prefix.
    public func lookUp(_ reference: String) -> (record: NetworkRecord, driver: BridgeDriver)? {
        entries.withLock { all in
            if let exact = all[reference] { return (exact.record, exact.driver) }
            if let named = all.values.first(where: { $0.record.name == reference }) {
                return (named.record, named.driver)
            }
            let matches = all.values.filter {
                !reference.isEmpty && $0.record.id.hasPrefix(reference)
            }
            return matches.count == 1 ? (matches[0].record, matches[0].driver) : nil
        }
    }

    /// The networks, oldest first.
    public var records: [NetworkRecord] {
        entries.withLock { $0.values.map(\.record) }.sorted { $0.created < $1.created }
    }

    /// Removes the network: its rules, its bridge and its entry in the file.
    ///
    /// - Throws: `SwiftdError` (`notFound`) for an unknown network; what
    ///   `BridgeDriver.shutdown` throws (the network is forgotten anyway).
    public func remove(_ reference: String) throws {
        guard let found = lookUp(reference) else {
            throw SwiftdError(.notFound, "network \(reference) not found")
        }
        entries.withLock { _ = $0.removeValue(forKey: found.record.id) }
        save()
        try found.driver.shutdown()
        if let statePath = found.driver.statePath { try? FileSystem.remove(statePath) }
    }

    /// Starts the embedded DNS server of a container in the network namespace of `pid`, unless
    /// the container has one.
    ///
    /// - Throws: what `EmbeddedResolver.init` throws.
    public func startResolver(
        containerID: String, pid: Int32, upstreams: [String],
        lookup: @escaping @Sendable (DNSQuestion) -> ResolverAnswer
    ) throws {
        guard resolvers.withLock({ $0[containerID] }) == nil else { return }
        let resolver = try EmbeddedResolver(
            containerID: containerID, pid: pid, upstreams: upstreams, log: log, lookup: lookup)
        let previous = resolvers.withLock { all in
            defer { all[containerID] = resolver }
            return all[containerID]
        }
        previous?.stop()
    }

    /// Stops the embedded DNS server of a container, if it has one.
    public func stopResolver(containerID: String) {
        let resolver = resolvers.withLock { $0.removeValue(forKey: containerID) }
        resolver?.stop()
    }

    /// Stops every embedded DNS server, and removes every network's rules and bridge, keeping
    /// the file so that the next start recreates them. Failures are logged.
    public func shutdown() {
        let running = resolvers.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for resolver in running { resolver.stop() }
        for entry in entries.withLock({ Array($0.values) }) {
            do {
                try entry.driver.shutdown()
            } catch {
                log.error(
                    "shutting down a network failed",
                    [("network", entry.record.name), ("error", "\(error)")])
            }
        }
    }

    /// Stops every embedded DNS server and detaches every network's driver for live restore,
    /// as `BridgeDriver.detachForLiveRestore()` describes. The bridges, their rules, the saved
    /// leases and ports, and the networks file stay for the next start.
    public func detachForLiveRestore() {
        let running = resolvers.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for resolver in running { resolver.stop() }
        for entry in entries.withLock({ Array($0.values) }) {
            entry.driver.detachForLiveRestore()
        }
    }

    /// The drivers of the networks, in the order of `records`.
    public var drivers: [BridgeDriver] {
        let all = entries.withLock { $0 }
        return records.compactMap { all[$0.id]?.driver }
    }

    /// Returns true if the container has a running embedded DNS server.
    public func hasResolver(containerID: String) -> Bool {
        resolvers.withLock { $0[containerID] != nil }
    }

    private func bridgeIP(_ record: NetworkRecord) -> String? {
        guard let subnet = IPv4Subnet(record.subnet) else { return nil }
        return "\(record.gateway)/\(subnet.prefixLength)"
    }

    /// The driver option that turns inter-container communication on or off.
    public static let iccOption = "com.docker.network.bridge.enable_icc"
    /// The driver option that turns the MASQUERADE rule of the subnet on or off.
    public static let masqueradeOption = "com.docker.network.bridge.enable_ip_masquerade"
    /// The driver option that sets the MTU of the bridge and the containers' interfaces.
    public static let mtuOption = "com.docker.network.driver.mtu"
    /// The driver option that sets the host address of published ports that name none.
    public static let hostBindingOption = "com.docker.network.bridge.host_binding_ipv4"

    /// The bridge settings that the driver options (`-o`) of a network give.
    public struct BridgeSettings: Sendable, Equatable {
        public var interContainerCommunication = true
        public var ipMasquerade = true
        public var mtu: Int?
        public var defaultHostIP: String?
    }

    /// Returns the bridge settings of the driver options (`-o`). Other options are kept but
    /// change nothing.
    ///
    /// - Throws: `SwiftdError` (`invalidArgument`) with dockerd's message for a value that is
    ///   not valid for its option, such as `failed to parse com.docker.network.bridge.enable_icc
    ///   value: maybe (strconv.ParseBool: parsing "maybe": invalid syntax)`.
    public static func bridgeSettings(_ options: [String: String]) throws -> BridgeSettings {
        var settings = BridgeSettings()
        if let text = options[iccOption] {
            settings.interContainerCommunication = try parseBool(text, option: iccOption)
        }
        if let text = options[masqueradeOption] {
            settings.ipMasquerade = try parseBool(text, option: masqueradeOption)
        }
        if let text = options[mtuOption] {
            guard let value = Int(text) else {
                throw parseFailure(
                    mtuOption, text, "strconv.Atoi: parsing \"\(text)\": invalid syntax")
            }
            guard (68...65535).contains(value) else {
                // dockerd's ErrInvalidMtu; it takes 0 for the default, swiftd does not.
                throw SwiftdError(.invalidArgument, "invalid MTU number: \(value)")
            }
            settings.mtu = value
        }
        if let hostIP = options[hostBindingOption] {
            // NOTE: dockerd takes an IPv6 address here too; swiftd publishes on IPv4 only.
            guard IPv4Address(hostIP) != nil else {
                throw parseFailure(hostBindingOption, hostIP, "nil ip")
            }
            settings.defaultHostIP = hostIP
        }
        return settings
    }

    /// Parses a boolean option value with the spellings of Go's `strconv.ParseBool`, which
    /// dockerd uses.
    private static func parseBool(_ text: String, option: String) throws -> Bool {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default:
            throw parseFailure(
                option, text, "strconv.ParseBool: parsing \"\(text)\": invalid syntax")
        }
    }

    /// Returns dockerd's error for a driver option value that does not parse.
    private static func parseFailure(_ option: String, _ value: String, _ reason: String)
        -> SwiftdError
    {
        SwiftdError(.invalidArgument, "failed to parse \(option) value: \(value) (\(reason))")
    }

    /// Makes the driver of a network; `isNew` for one being created, which owns its bridge
    /// only if it makes it.
    private func makeDriver(_ record: NetworkRecord, bridgeIP: String?, isNew: Bool = false)
        throws -> BridgeDriver
    {
        let settings = try Self.bridgeSettings(record.options ?? [:])
        var configuration = BridgeConfiguration(
            bridgeName: record.bridgeName, bridgeIP: bridgeIP, enableIPTables: enableIPTables,
            enableIPForward: false, mtu: settings.mtu,
            interContainerCommunication: settings.interContainerCommunication,
            defaultHostIP: settings.defaultHostIP, fixedCIDR: record.ipRange,
            stateDirectory: directory)
        configuration.isInternal = record.isInternal ?? false
        configuration.adoptsRecordedBridge = !isNew
        configuration.enableIPMasquerade = settings.ipMasquerade
        configuration.excludedAddresses = (record.auxiliaryAddresses ?? [:]).values.sorted()
        return try BridgeDriver(configuration, log: log)
    }

    /// Writes the records to the file; a failure is logged, and the next change retries.
    private func save() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            try FileSystem.writeAtomically(path, Array(try encoder.encode(records)))
        } catch {
            log.error("saving the networks failed", [("file", path), ("error", "\(error)")])
        }
    }
}
