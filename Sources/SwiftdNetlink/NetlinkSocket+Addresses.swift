import CNetlink

extension NetlinkSocket {
    /// Assigns `address`/`prefixLength` to the link `name` (`ip addr add A/P dev NAME`).
    ///
    /// - Throws: `NetlinkError` with `alreadyExists` if the link already has the address.
    public func addAddress(_ address: IPv4Address, prefixLength: Int, toLink name: String)
        throws
    {
        let subject = "\(address)/\(prefixLength) on \(name)"
        guard let link = try link(named: name) else {
            throw NetlinkError(
                operation: "rtnl_link_get_kernel", subject: "link \(name)",
                result: -NLE_OBJ_NOTFOUND)
        }
        guard let request = rtnl_addr_alloc() else {
            throw NetlinkError(operation: "rtnl_addr_alloc", subject: subject, result: -NLE_NOMEM)
        }
        defer { rtnl_addr_put(request) }
        let local = try Self.makeAddress(address, prefixLength: prefixLength)
        defer { nl_addr_put(local) }
        rtnl_addr_set_ifindex(request, link.index)
        rtnl_addr_set_family(request, swd_nl_af_inet())
        try check(rtnl_addr_set_local(request, local), "rtnl_addr_set_local", subject)
        try check(rtnl_addr_add(handle, request, 0), "rtnl_addr_add", subject)
    }

    /// Adds a default route via `gateway` out of the link `name` to the main table
    /// (`ip route add default via GATEWAY dev NAME`).
    ///
    /// - Throws: `NetlinkError` with `alreadyExists` if a default route exists.
    public func addDefaultRoute(via gateway: IPv4Address, link name: String) throws {
        let subject = "default via \(gateway) dev \(name)"
        guard let link = try link(named: name) else {
            throw NetlinkError(
                operation: "rtnl_link_get_kernel", subject: "link \(name)",
                result: -NLE_OBJ_NOTFOUND)
        }
        guard let route = rtnl_route_alloc() else {
            throw NetlinkError(operation: "rtnl_route_alloc", subject: subject, result: -NLE_NOMEM)
        }
        defer { rtnl_route_put(route) }
        let destination = try Self.makeAddress(IPv4Address(0), prefixLength: 0)
        defer { nl_addr_put(destination) }
        let next = try Self.makeAddress(gateway, prefixLength: 32)
        defer { nl_addr_put(next) }

        rtnl_route_set_family(route, UInt8(swd_nl_af_inet()))
        try check(rtnl_route_set_dst(route, destination), "rtnl_route_set_dst", subject)
        rtnl_route_set_table(route, swd_nl_table_main())
        rtnl_route_set_scope(route, swd_nl_scope_universe())
        rtnl_route_set_protocol(route, swd_nl_protocol_boot())
        try check(
            rtnl_route_set_type(route, swd_nl_type_unicast()), "rtnl_route_set_type", subject)
        guard let hop = rtnl_route_nh_alloc() else {
            throw NetlinkError(
                operation: "rtnl_route_nh_alloc", subject: subject, result: -NLE_NOMEM)
        }
        rtnl_route_nh_set_gateway(hop, next)
        rtnl_route_nh_set_ifindex(hop, link.index)
        // The route owns the next hop from here on and frees it with itself.
        rtnl_route_add_nexthop(route, hop)
        try check(
            rtnl_route_add(handle, route, swd_nl_create_exclusive()), "rtnl_route_add", subject)
    }

    /// Lists the IPv4 addresses on every link in this socket's namespace (`ip -4 addr`).
    public func ipv4Addresses() throws -> [InterfaceAddress] {
        var cache: OpaquePointer?
        try check(rtnl_addr_alloc_cache(handle, &cache), "rtnl_addr_alloc_cache", "IPv4")
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var result: [InterfaceAddress] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            let entry = current
            if rtnl_addr_get_family(entry) == swd_nl_af_inet(),
                let local = rtnl_addr_get_local(entry), let address = Self.decode(local)
            {
                result.append(
                    InterfaceAddress(
                        address: address, prefixLength: Int(rtnl_addr_get_prefixlen(entry)),
                        linkIndex: rtnl_addr_get_ifindex(entry)))
            }
            object = nl_cache_get_next(current)
        }
        return result
    }

    /// Lists the IPv4 routes of every table in this socket's namespace (`ip route show table
    /// all`).
    public func ipv4Routes() throws -> [Route] {
        var cache: OpaquePointer?
        try check(
            rtnl_route_alloc_cache(handle, swd_nl_af_inet(), 0, &cache),
            "rtnl_route_alloc_cache", "IPv4")
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var result: [Route] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            let route = current
            object = nl_cache_get_next(current)
            guard rtnl_route_get_family(route) == UInt8(swd_nl_af_inet()) else { continue }
            var destination = IPv4Address(0)
            var prefixLength = 0
            if let dst = rtnl_route_get_dst(route) {
                destination = Self.decode(dst) ?? IPv4Address(0)
                prefixLength = Int(nl_addr_get_prefixlen(dst))
            }
            var gateway: IPv4Address?
            var linkIndex: Int32?
            if rtnl_route_get_nnexthops(route) > 0, let hop = rtnl_route_nexthop_n(route, 0) {
                gateway = rtnl_route_nh_get_gateway(hop).flatMap(Self.decode)
                linkIndex = rtnl_route_nh_get_ifindex(hop)
            }
            result.append(
                Route(
                    destination: destination, prefixLength: prefixLength, gateway: gateway,
                    linkIndex: linkIndex, table: rtnl_route_get_table(route)))
        }
        return result
    }

    /// Builds an AF_INET `nl_addr`; the caller puts it.
    static func makeAddress(_ address: IPv4Address, prefixLength: Int) throws(NetlinkError)
        -> OpaquePointer
    {
        let made = address.bytes.withUnsafeBytes { raw in
            nl_addr_build(swd_nl_af_inet(), raw.baseAddress, raw.count)
        }
        guard let made else {
            throw NetlinkError(
                operation: "nl_addr_build", subject: "\(address)", result: -NLE_NOMEM)
        }
        nl_addr_set_prefixlen(made, Int32(prefixLength))
        return made
    }

    /// Reads a four-byte `nl_addr`; nil for other lengths (a zero-length default destination).
    static func decode(_ address: OpaquePointer) -> IPv4Address? {
        guard nl_addr_get_len(address) == 4, let raw = nl_addr_get_binary_addr(address) else {
            return nil
        }
        let buffer = UnsafeRawBufferPointer(start: raw, count: 4)
        return IPv4Address(bytes: Array(buffer))
    }
}
