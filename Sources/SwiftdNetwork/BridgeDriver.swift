import SwiftdIPTables
import SwiftdNetlink
import SwiftdSystem
import Synchronization

/// The bridge network driver: one Linux bridge, NAT and forwarding rules, and a veth pair per
/// container.
///
/// All methods block on netlink and iptables calls (milliseconds); call them from a thread
/// that may block, not from a task that must stay responsive. The driver is thread-safe.
public final class BridgeDriver: Sendable {
    /// The bridge interface name.
    public let bridgeName: String
    /// The bridge subnet, such as `172.17.0.0/16`.
    public var subnet: String { network.description }
    /// The bridge address, which containers use as their gateway, such as `172.17.0.1`.
    public var gateway: String { gatewayAddress.description }
    /// The prefix length of the bridge subnet.
    public var prefixLength: Int { network.prefixLength }
    /// The MTU of container links: `--mtu`, or else the bridge's.
    public let mtu: Int
    /// Whether the bridge is internal, see `BridgeConfiguration.isInternal`.
    public var isInternal: Bool { configuration.isInternal }

    let network: IPv4Subnet
    let gatewayAddress: IPv4Address
    let allocator: IPAllocator
    let configuration: BridgeConfiguration
    let log: Logger
    /// True if this driver or an earlier run of it created the bridge, so that shutdown
    /// deletes it.
    let createdBridge: Bool
    /// The file whose presence records that swiftd created the bridge, in the state directory.
    let ownershipPath: String?
    /// The `ip_forward` value to write back at shutdown, if this driver changed it.
    let originalIPForward: String?
    private let isShutDown = Mutex(false)
    /// The host address of bindings that name none.
    let defaultHostIP: String
    /// The file the allocations are kept in, if any.
    let statePath: String?
    /// Serialises writes of the state file so that the last one holds the latest state.
    let stateLock = Mutex<Void>(())
    /// The published ports, by `PortBinding` key (protocol, host address and port).
    let published = Mutex<[String: PublishedPort]>([:])
    /// The rules of each link, by parent and child address.
    let links = Mutex<[String: [IPTablesRule]]>([:])
    /// The published ports that an earlier run saved, by container address, until `reattach`
    /// publishes them again or the address is released.
    let savedPorts = Mutex<[IPv4Address: [PortBinding]]>([:])
    /// The file that keeps `originalIPForward` across a restart that leaves the bridge up.
    let ipForwardPath: String?
    /// Host ends of veth pairs of exited containers, until they are gone (see `retire`).
    let retiring = Mutex(RetiringLinks())

    static let ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

    /// Finds or creates the bridge, assigns its address, enables ip_forward, installs rules,
    /// and removes stale rules for this bridge left by an earlier run.
    ///
    /// Without `bridgeIP`, an existing bridge keeps its address. Otherwise the first subnet of
    /// `SubnetChooser.candidates` that overlaps no route and no address on the host is used,
    /// with the gateway at `.1`. A new bridge gets `mtu`, or the default route's MTU, or 1500.
    /// If a later step fails, the steps before it are undone. A created bridge is recorded in
    /// `<stateDirectory>/<name>-created`, so that the next driver with the same state directory
    /// adopts it after a crash and deletes it at shutdown (unless `adoptsRecordedBridge` is
    /// off). Such a bridge whose address is not `bridgeIP` is deleted and made again.
    ///
    /// - Throws: `SwiftdError` with `invalidArgument` for a malformed name or `--bip`, a
    ///   link of that name that is not a bridge, or a missing bridge that
    ///   `createsMissingBridge` does not let it create; `conflict` if a bridge that swiftd did not make has
    ///   an address other than `bridgeIP`; `internalError` if no candidate subnet is free. `NetlinkError`,
    ///   `IPTablesError` or `SystemCallError` when the kernel refuses a step.
    public init(_ configuration: BridgeConfiguration, log: Logger = Logger(level: .warning)) throws
    {
        let name = configuration.bridgeName
        guard Self.isValidBridgeName(name) else {
            throw SwiftdError(.invalidArgument, "invalid bridge name \"\(name)\"")
        }
        let requested = try configuration.bridgeIP.map(Self.parseBridgeIP)
        if let mtu = configuration.mtu, !(68...65535).contains(mtu) {
            throw SwiftdError(.invalidArgument, "invalid MTU \(mtu): must be 68 to 65535")
        }
        let hostIP = configuration.defaultHostIP ?? "0.0.0.0"
        guard IPv4Address(hostIP) != nil else {
            throw SwiftdError(.invalidArgument, "invalid default host IP \"\(hostIP)\"")
        }
        let fixed = try configuration.fixedCIDR.map { text in
            guard let subnet = IPv4Subnet(text), subnet.prefixLength <= 30 else {
                throw SwiftdError(
                    .invalidArgument,
                    "invalid fixed CIDR \"\(text)\": want a network of at most /30")
            }
            return subnet
        }

        let clock = ContinuousClock()
        let start = clock.now
        let socket = try NetlinkSocket()
        // A bridge that an earlier run created and did not delete (it crashed) is this
        // driver's to delete; a bridge that someone else made is not.
        let ownershipPath = configuration.stateDirectory.map { "\($0)/\(name)-created" }
        let recordedAsOwned =
            configuration.adoptsRecordedBridge && ownershipPath.map(FileSystem.exists) == true
        let setup = try Self.prepareBridge(
            name, requested, configuration, socket, recordedAsOwned: recordedAsOwned)
        self.bridgeName = name
        let owned = setup.created || recordedAsOwned
        let undoBridge = {
            guard owned else { return }
            try? socket.deleteLink(named: name)
            if let ownershipPath { try? FileSystem.remove(ownershipPath) }
        }
        let network = IPv4Subnet(containing: setup.address, prefixLength: setup.prefixLength)
        if let fixed,
            !(network.contains(fixed.network) && fixed.prefixLength >= network.prefixLength)
        {
            undoBridge()
            throw SwiftdError(
                .invalidArgument, "fixed CIDR \(fixed) is not inside the bridge subnet \(network)")
        }
        self.mtu = configuration.mtu ?? setup.mtu
        self.network = network
        self.gatewayAddress = setup.address
        let excluded = Set(configuration.excludedAddresses.compactMap(IPv4Address.init))
        let allocator = IPAllocator(
            subnet: network, gateway: setup.address, range: fixed, excluded: excluded)
        self.allocator = allocator
        self.configuration = configuration
        self.log = log
        self.createdBridge = owned
        self.ownershipPath = ownershipPath
        self.defaultHostIP = hostIP
        let statePath = configuration.stateDirectory.map { "\($0)/\(name)-addresses.json" }
        self.statePath = statePath

        let ipForwardPath = configuration.stateDirectory.map { "\($0)/\(name)-ip-forward" }
        self.ipForwardPath = ipForwardPath
        var changedIPForward: String?
        do {
            if setup.created, let ownershipPath {
                try FileSystem.writeAtomically(ownershipPath, Array("\(name)\n".utf8))
            }
            if configuration.enableIPForward {
                changedIPForward = try Self.enableIPForward(savedIn: ipForwardPath)
            }
            if let statePath {
                let ports = try Self.loadAllocations(statePath, into: allocator, log: log)
                savedPorts.withLock { $0 = ports }
            }
            if configuration.enableIPTables {
                try BridgeRules.install(
                    bridge: name, subnet: network,
                    interContainer: configuration.interContainerCommunication,
                    isInternal: configuration.isInternal,
                    masquerade: configuration.enableIPMasquerade)
            }
        } catch {
            if configuration.enableIPTables { try? BridgeRules.remove(bridge: name) }
            if let changedIPForward {
                try? FileSystem.write(Self.ipForwardPath, changedIPForward + "\n")
                if let ipForwardPath { try? FileSystem.remove(ipForwardPath) }
            }
            undoBridge()
            throw error
        }
        self.originalIPForward = changedIPForward
        log.info(
            "bridge ready",
            [
                ("bridge", name), ("address", "\(setup.address)/\(setup.prefixLength)"),
                ("created", "\(setup.created)"), ("owned", "\(owned)"), ("mtu", "\(setup.mtu)"),
                ("took", "\(clock.now - start)"),
            ])
    }

    /// Sets `ip_forward` to 1 and returns the value to write back at shutdown, or nil.
    ///
    /// That value is the one `ip_forward` had, saved in `path` when changed. An earlier run
    /// that was killed, or stopped and left its containers running, leaves `ip_forward` at 1
    /// and its saved value in `path`, which this run then writes back.
    private static func enableIPForward(savedIn path: String?) throws -> String? {
        let current = try FileSystem.readString(ipForwardPath).filter { !$0.isWhitespace }
        let saved = path.flatMap { try? FileSystem.readString($0) }?.filter { !$0.isWhitespace }
        if current == "1" {
            guard let saved, !saved.isEmpty, saved != "1" else { return nil }
            return saved
        }
        if let path { try FileSystem.writeAtomically(path, Array("\(current)\n".utf8)) }
        try FileSystem.write(ipForwardPath, "1\n")
        return current
    }

    /// Returns true if `name` can name a Linux network interface: 1 to 15 bytes, not `.` or
    /// `..`, without `/`, `:` or whitespace.
    static func isValidBridgeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 15 && name != "." && name != ".."
            && !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace })
    }

    /// Parses `--bip`: a host address in CIDR form with a prefix of 1 to 30 bits.
    static func parseBridgeIP(_ text: String) throws -> (address: IPv4Address, prefixLength: Int) {
        guard let parsed = parseCIDR(text), (1...30).contains(parsed.prefixLength) else {
            throw SwiftdError(
                .invalidArgument,
                "invalid bridge IP \"\(text)\": want an address with a prefix of 1 to 30 bits, "
                    + "such as 172.17.0.1/16")
        }
        let subnet = IPv4Subnet(containing: parsed.address, prefixLength: parsed.prefixLength)
        guard parsed.address != subnet.network, parsed.address != subnet.broadcast else {
            throw SwiftdError(
                .invalidArgument,
                "invalid bridge IP \"\(text)\": the network and broadcast addresses are not "
                    + "host addresses")
        }
        return parsed
    }

    /// Finds the bridge or creates it, and makes sure it has its address and is up.
    ///
    /// A bridge that swiftd made (`recordedAsOwned`) but whose address is not `requested` is
    /// deleted and made again with `requested`. Any other bridge with another address is an
    /// error.
    private static func prepareBridge(
        _ name: String, _ requested: (address: IPv4Address, prefixLength: Int)?,
        _ configuration: BridgeConfiguration, _ socket: NetlinkSocket, recordedAsOwned: Bool
    ) throws -> (address: IPv4Address, prefixLength: Int, mtu: Int, created: Bool) {
        if let existing = try socket.link(named: name) {
            guard existing.kind == "bridge" else {
                throw SwiftdError(
                    .invalidArgument,
                    "link \(name) exists and is a \(existing.kind ?? "device"), not a bridge")
            }
            let hasRequested = { (link: Link) in
                guard let requested else { return true }
                return link.addresses.contains {
                    $0.address == requested.address && $0.prefixLength == requested.prefixLength
                }
            }
            if recordedAsOwned, !existing.addresses.isEmpty, !hasRequested(existing) {
                // An earlier run with another --bip made it and was killed: the bridge and its
                // old subnet are swiftd's to replace.
                try socket.deleteLink(named: name)
                return try createBridge(name, requested, configuration, socket)
            }
            var chosen: (address: IPv4Address, prefixLength: Int)
            if let current = existing.addresses.first {
                if let requested, !hasRequested(existing) {
                    throw SwiftdError(
                        .conflict,
                        "bridge \(name) has address \(current), but the bridge IP asked for is "
                            + "\(requested.address)/\(requested.prefixLength)")
                }
                chosen = requested ?? (current.address, current.prefixLength)
            } else {
                chosen = try requested ?? freeAddress(socket)
                // TODO: a failure later in init leaves this address on the existing bridge.
                try socket.addAddress(
                    chosen.address, prefixLength: chosen.prefixLength, toLink: name)
            }
            if !existing.isUp { try socket.setLinkUp(name) }
            return (chosen.address, chosen.prefixLength, existing.mtu, false)
        }

        guard configuration.createsMissingBridge else {
            // dockerd's message (libnetwork's bridge driver) for a missing `-b` bridge.
            throw SwiftdError(
                .invalidArgument,
                "bridge device with non default name \(name) must be created manually")
        }
        return try createBridge(name, requested, configuration, socket)
    }

    /// Creates the bridge with `requested` or a free address, and sets it up.
    private static func createBridge(
        _ name: String, _ requested: (address: IPv4Address, prefixLength: Int)?,
        _ configuration: BridgeConfiguration, _ socket: NetlinkSocket
    ) throws -> (address: IPv4Address, prefixLength: Int, mtu: Int, created: Bool) {
        let chosen = try requested ?? freeAddress(socket)
        let mtu = try configuration.mtu ?? defaultRouteMTU(socket) ?? 1500
        try socket.createBridge(named: name, mtu: mtu)
        do {
            try socket.addAddress(chosen.address, prefixLength: chosen.prefixLength, toLink: name)
            try socket.setLinkUp(name)
        } catch {
            try? socket.deleteLink(named: name)
            throw error
        }
        return (chosen.address, chosen.prefixLength, mtu, true)
    }

    /// Returns the `.1` address of the first candidate subnet that is free on the host.
    private static func freeAddress(_ socket: NetlinkSocket) throws
        -> (address: IPv4Address, prefixLength: Int)
    {
        guard
            let subnet = SubnetChooser.chooseSubnet(
                avoiding: try socket.ipv4Routes(), addresses: try socket.ipv4Addresses())
        else {
            throw SwiftdError(
                .internalError,
                "no free subnet for the bridge: every candidate overlaps a route or address; "
                    + "set one with --bip")
        }
        return (IPv4Address(subnet.network.value + 1), subnet.prefixLength)
    }

    /// The MTU of the link that the main table's default route leaves by, if there is one.
    private static func defaultRouteMTU(_ socket: NetlinkSocket) throws -> Int? {
        let route = try socket.ipv4Routes().first { $0.isDefault && $0.table == 254 }
        guard let index = route?.linkIndex, index > 0 else { return nil }
        return try socket.link(index: index)?.mtu
    }

    /// Removes this bridge's iptables rules (and the SWIFTD chains when empty), deletes the
    /// bridge if this driver or an earlier run created it, and restores ip_forward if this driver changed it.
    ///
    /// Every step is tried even if an earlier one fails; the first failure is thrown. A second
    /// call does nothing. Containers still attached lose their connectivity.
    ///
    /// NOTE: ip_forward is restored even if another daemon started later relies on it, so two
    /// daemons on one host should run with `enableIPForward` set the same way.
    public func shutdown() throws {
        guard markShutDown() else { return }
        closeRetiring()
        var failures: [any Error] = []
        let proxies = published.withLock { ports in
            defer { ports.removeAll() }
            return ports.values.map(\.proxy)
        }
        for proxy in proxies { proxy.stop() }
        links.withLock { $0.removeAll() }
        if configuration.enableIPTables {
            do { try BridgeRules.remove(bridge: bridgeName) } catch { failures.append(error) }
        }
        if createdBridge {
            do {
                try NetlinkSocket().deleteLink(named: bridgeName)
            } catch let error as NetlinkError where error.isNotFound {
                // Already gone: someone deleted it by hand.
            } catch {
                failures.append(error)
            }
            if let ownershipPath {
                do { try FileSystem.remove(ownershipPath) } catch { failures.append(error) }
            }
        }
        if let originalIPForward {
            do {
                try FileSystem.write(Self.ipForwardPath, originalIPForward + "\n")
                if let ipForwardPath { try FileSystem.remove(ipForwardPath) }
            } catch {
                failures.append(error)
            }
        }
        log.info("bridge shut down", [("bridge", bridgeName), ("errors", "\(failures.count)")])
        if let error = failures.first { throw error }
    }

    /// Marks the driver shut down, and returns false if it already was.
    func markShutDown() -> Bool {
        isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
    }

    /// Throws if `shutdown()` or `detachForLiveRestore()` has run.
    func ensureRunning() throws {
        if isShutDown.withLock({ $0 }) {
            throw SwiftdError(.conflict, "the bridge driver for \(bridgeName) is shut down")
        }
    }
}
