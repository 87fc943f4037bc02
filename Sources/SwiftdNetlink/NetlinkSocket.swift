import CNetlink

/// A connected rtnetlink socket and the link, address and route operations swiftd needs.
///
/// The socket acts in the network namespace of the thread that opened it, for its whole life,
/// whichever thread uses it later. `init()` opens it in the calling thread's namespace;
/// `init(networkNamespaceOf:)` opens it in a process's namespace from a dedicated thread.
/// Every call blocks until the kernel replies (typically well under a millisecond). A socket
/// must not be used by two threads at once, so this type is not `Sendable`.
public final class NetlinkSocket {
    let handle: OpaquePointer

    /// Opens a socket in the calling thread's network namespace.
    ///
    /// - Throws: `NetlinkError` if the socket cannot be allocated or connected.
    public convenience init() throws {
        self.init(handle: try Self.connectedHandle())
    }

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        nl_socket_free(handle)
    }

    /// Allocates and connects a socket in the calling thread's network namespace.
    static func connectedHandle() throws(NetlinkError) -> OpaquePointer {
        guard let handle = nl_socket_alloc() else {
            throw NetlinkError(operation: "nl_socket_alloc", subject: "", result: -NLE_NOMEM)
        }
        let result = nl_connect(handle, swd_nl_protocol_route())
        if result < 0 {
            nl_socket_free(handle)
            throw NetlinkError(operation: "nl_connect", subject: "NETLINK_ROUTE", result: result)
        }
        return handle
    }

    // MARK: Links

    /// Looks up the link called `name`; returns nil if there is none.
    ///
    /// - Throws: `NetlinkError` for failures other than a missing link.
    public func link(named name: String) throws -> Link? {
        guard let raw = try kernelLink(name) else { return nil }
        defer { rtnl_link_put(raw) }
        return try describe(raw)
    }

    /// Looks up the link with interface index `index`; returns nil if there is none.
    public func link(index: Int32) throws -> Link? {
        var raw: OpaquePointer?
        let result = rtnl_link_get_kernel(handle, index, nil, &raw)
        if result < 0 {
            let error = NetlinkError(
                operation: "rtnl_link_get_kernel", subject: "link \(index)", result: result)
            if error.isNotFound { return nil }
            throw error
        }
        guard let raw else { return nil }
        defer { rtnl_link_put(raw) }
        return try describe(raw)
    }

    /// Creates a bridge called `name` with `mtu`; the bridge starts down and without address.
    ///
    /// - Throws: `NetlinkError` with `alreadyExists` if a link of that name exists.
    public func createBridge(named name: String, mtu: Int) throws {
        guard let link = rtnl_link_bridge_alloc() else {
            throw NetlinkError(
                operation: "rtnl_link_bridge_alloc", subject: name, result: -NLE_NOMEM)
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        rtnl_link_set_mtu(link, UInt32(mtu))
        try check(
            rtnl_link_add(handle, link, swd_nl_create_exclusive()), "rtnl_link_add",
            "bridge \(name)")
    }

    /// Creates a veth pair `name` ↔ `peerName`, both with `mtu`; the peer gets `peerMACAddress`
    /// (six bytes) when given. With `master`, the end `name` is attached to the bridge of that
    /// interface index. With `peerNamespaceOf`, the peer is made in the network namespace of
    /// that process, so that it needs no move (a move costs the kernel as much as the pair).
    /// With `up`, the end `name` starts up. The peer always starts down: the kernel refuses
    /// the flags that libnl sends for it.
    ///
    /// - Throws: `NetlinkError` with `alreadyExists` if either name is taken in its namespace.
    public func createVethPair(
        named name: String, peerName: String, mtu: Int, peerMACAddress: [UInt8]? = nil,
        master: Int32? = nil, peerNamespaceOf peerPID: Int32? = nil, up: Bool = false
    ) throws {
        guard let link = rtnl_link_veth_alloc() else {
            throw NetlinkError(operation: "rtnl_link_veth_alloc", subject: name, result: -NLE_NOMEM)
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        rtnl_link_set_mtu(link, UInt32(mtu))
        if let master { rtnl_link_set_master(link, master) }
        if up { rtnl_link_set_flags(link, swd_nl_iff_up()) }
        if let peer = rtnl_link_veth_get_peer(link) {
            rtnl_link_set_name(peer, peerName)
            rtnl_link_set_mtu(peer, UInt32(mtu))
            if let peerPID { rtnl_link_set_ns_pid(peer, peerPID) }
            if let peerMACAddress {
                precondition(peerMACAddress.count == 6, "a MAC address has six bytes")
                let address = peerMACAddress.withUnsafeBytes { raw in
                    nl_addr_build(swd_nl_af_llc(), raw.baseAddress, raw.count)
                }
                if let address {
                    rtnl_link_set_addr(peer, address)
                    nl_addr_put(address)
                }
            }
            rtnl_link_put(peer)
        }
        try check(
            rtnl_link_add(handle, link, swd_nl_create_exclusive()), "rtnl_link_add",
            "veth \(name) peer \(peerName)")
    }

    /// Deletes the link called `name` (for a veth, both ends go).
    ///
    /// - Throws: `NetlinkError` with `isNotFound` if there is no such link.
    public func deleteLink(named name: String) throws {
        guard let link = rtnl_link_alloc() else {
            throw NetlinkError(operation: "rtnl_link_alloc", subject: name, result: -NLE_NOMEM)
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        try check(rtnl_link_delete(handle, link), "rtnl_link_delete", "link \(name)")
    }

    /// Sets the administrative state of `name` to up (`ip link set NAME up`).
    public func setLinkUp(_ name: String) throws {
        try change(name, "set up") { rtnl_link_set_flags($0, swd_nl_iff_up()) }
    }

    /// Sets the administrative state of `name` to down.
    public func setLinkDown(_ name: String) throws {
        try change(name, "set down") { rtnl_link_unset_flags($0, swd_nl_iff_up()) }
    }

    /// Attaches `name` to the bridge `bridge` (`ip link set NAME master BRIDGE`).
    public func attach(_ name: String, toBridge bridge: String) throws {
        guard let master = try link(named: bridge) else {
            throw NetlinkError(
                operation: "rtnl_link_get_kernel", subject: "bridge \(bridge)",
                result: -NLE_OBJ_NOTFOUND)
        }
        try change(name, "set master \(bridge)") { rtnl_link_set_master($0, master.index) }
    }

    /// Renames `name` to `newName`; the link must be down.
    public func renameLink(_ name: String, to newName: String) throws {
        try change(name, "rename to \(newName)") { rtnl_link_set_name($0, newName) }
    }

    /// Moves `name` into the network namespace of process `pid` (`ip link set NAME netns PID`).
    /// The link disappears from this socket's namespace.
    public func moveLink(_ name: String, toNetworkNamespaceOf pid: Int32) throws {
        try change(name, "move to netns of pid \(pid)") { rtnl_link_set_ns_pid($0, pid) }
    }

    /// Fetches `name` from the kernel; nil if it does not exist. The caller puts the result.
    func kernelLink(_ name: String) throws(NetlinkError) -> OpaquePointer? {
        var raw: OpaquePointer?
        let result = rtnl_link_get_kernel(handle, 0, name, &raw)
        if result < 0 {
            let error = NetlinkError(
                operation: "rtnl_link_get_kernel", subject: "link \(name)", result: result)
            if error.isNotFound { return nil }
            throw error
        }
        return raw
    }

    /// Applies the attributes that `edit` sets on an empty link object to the link `name`.
    private func change(
        _ name: String, _ what: String, _ edit: (OpaquePointer) -> Void
    ) throws {
        guard let original = try kernelLink(name) else {
            throw NetlinkError(
                operation: "rtnl_link_get_kernel", subject: "link \(name)",
                result: -NLE_OBJ_NOTFOUND)
        }
        defer { rtnl_link_put(original) }
        guard let request = rtnl_link_alloc() else {
            throw NetlinkError(operation: "rtnl_link_alloc", subject: name, result: -NLE_NOMEM)
        }
        defer { rtnl_link_put(request) }
        edit(request)
        try check(
            rtnl_link_change(handle, original, request, 0), "rtnl_link_change",
            "link \(name) (\(what))")
    }

    /// Builds a `Link` from a libnl link object, with its IPv4 addresses.
    private func describe(_ raw: OpaquePointer) throws -> Link {
        let index = rtnl_link_get_ifindex(raw)
        let kind = rtnl_link_get_type(raw).map { String(cString: $0) }
        return Link(
            name: String(cString: rtnl_link_get_name(raw)),
            index: index,
            mtu: Int(rtnl_link_get_mtu(raw)),
            kind: kind,
            isUp: rtnl_link_get_flags(raw) & swd_nl_iff_up() != 0,
            masterIndex: rtnl_link_get_master(raw),
            addresses: try ipv4Addresses().filter { $0.linkIndex == index })
    }
}
