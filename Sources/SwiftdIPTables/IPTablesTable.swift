import CIPTables
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The iptables tables swiftd changes.
public enum IPTablesTableName: String, Sendable {
    case filter, nat
}

/// Serialises libiptc use inside this process: libiptc keeps its last error in a global.
private let libiptcLock = Mutex<Void>(())

/// A snapshot of one iptables table, changed in memory and committed at once.
///
/// Get one from `IPTablesTable.modify(_:_:)`, which keeps `/run/xtables.lock` locked (as the
/// `iptables` tools do) from reading the table to committing it, so that changes by other
/// programs in between are not lost. The object is valid only inside that closure.
public final class IPTablesTable {
    /// The table's name, such as `nat`.
    public let name: IPTablesTableName
    private let handle: OpaquePointer
    private var changed = false

    private init(name: IPTablesTableName, handle: OpaquePointer) {
        self.name = name
        self.handle = handle
    }

    /// Reads `table`, runs `body` on it and commits the changes if `body` returns normally and
    /// changed anything; if `body` throws, nothing is committed.
    ///
    /// Blocks while another program holds `/run/xtables.lock`, and for the commit (well under a
    /// millisecond for small tables).
    ///
    /// - Throws: `SystemCallError` for the lock file, `IPTablesError` for `iptc_init` (for
    ///   example when the `ip_tables` module is missing) or `iptc_commit`, and whatever `body`
    ///   throws.
    public static func modify<T>(_ table: IPTablesTableName, _ body: (IPTablesTable) throws -> T)
        throws -> T
    {
        try libiptcLock.withLock { _ in
            let lock = try XtablesLock()
            defer { lock.release() }
            guard let handle = iptc_init(table.rawValue) else {
                let code = currentErrno()
                throw IPTablesError(
                    operation: "iptc_init", subject: table.rawValue, errno: code,
                    reason: String(cString: iptc_strerror(code)))
            }
            let session = IPTablesTable(name: table, handle: handle)
            defer { iptc_free(handle) }
            let result = try body(session)
            if session.changed && iptc_commit(handle) == 0 {
                let code = currentErrno()
                throw IPTablesError(
                    operation: "iptc_commit", subject: table.rawValue, errno: code,
                    reason: String(cString: iptc_strerror(code)))
            }
            return result
        }
    }

    /// Reports whether `chain` exists (built-in or user-defined).
    public func chainExists(_ chain: String) -> Bool {
        iptc_is_chain(chain, handle) != 0
    }

    /// Creates the user-defined chain `chain` unless it exists.
    public func createChainIfMissing(_ chain: String) throws {
        if chainExists(chain) { return }
        try check(iptc_create_chain(chain, handle), "iptc_create_chain", chain)
        changed = true
    }

    /// Lists the rules of `chain`, in order.
    ///
    /// - Throws: `IPTablesError` if the chain does not exist.
    public func rules(in chain: String) throws -> [IPTablesRule] {
        guard chainExists(chain) else {
            throw IPTablesError(
                operation: "iptc_first_rule", subject: subject(chain), errno: ENOENT,
                reason: "no such chain")
        }
        var result: [IPTablesRule] = []
        var entry = iptc_first_rule(chain, handle)
        while let current = entry {
            let target = iptc_get_target(current, handle).map { String(cString: $0) } ?? ""
            let inName = String(cString: swd_ipt_entry_in(current))
            let outName = String(cString: swd_ipt_entry_out(current))
            result.append(
                IPTablesRule(
                    source: IPTablesRule.formatSource(
                        address: swd_ipt_entry_source(current),
                        mask: swd_ipt_entry_source_mask(current)),
                    inInterface: inName.isEmpty ? nil : inName,
                    inInterfaceNegated: swd_ipt_entry_in_inverted(current) != 0,
                    outInterface: outName.isEmpty ? nil : outName,
                    outInterfaceNegated: swd_ipt_entry_out_inverted(current) != 0,
                    target: target,
                    hasOtherCriteria: swd_ipt_entry_has_other_criteria(current) != 0))
            entry = iptc_next_rule(current, handle)
        }
        return result
    }

    /// Reports whether `chain` holds a rule identical to `rule` (`iptables -C`), comparing the
    /// kernel form of the whole rule, matches and target options included.
    ///
    /// - Throws: `IPTablesError` for a malformed rule or a missing chain.
    public func contains(_ rule: IPTablesRule, in chain: String) throws -> Bool {
        guard chainExists(chain) else {
            throw IPTablesError(
                operation: "iptc_check_entry", subject: subject(chain), errno: ENOENT,
                reason: "no such chain")
        }
        return try withEntry(rule, chain) { entry, mask in
            iptc_check_entry(chain, entry, mask, handle) != 0
        }
    }

    /// Appends `rule` to `chain` unless an identical rule is already in it.
    ///
    /// - Returns: true if the rule was added.
    @discardableResult
    public func appendRule(_ rule: IPTablesRule, to chain: String) throws -> Bool {
        if try contains(rule, in: chain) { return false }
        try withEntry(rule, chain) { entry, _ in
            try check(iptc_append_entry(chain, entry, handle), "iptc_append_entry", chain)
        }
        changed = true
        return true
    }

    /// Inserts `rule` at the top of `chain` unless an identical rule is already in it.
    ///
    /// - Returns: true if the rule was added.
    @discardableResult
    public func insertRule(_ rule: IPTablesRule, into chain: String) throws -> Bool {
        if try contains(rule, in: chain) { return false }
        try withEntry(rule, chain) { entry, _ in
            try check(iptc_insert_entry(chain, entry, 0, handle), "iptc_insert_entry", chain)
        }
        changed = true
        return true
    }

    /// Deletes every copy of `rule` from `chain`; a missing chain or rule is fine.
    ///
    /// - Returns: the number of rules deleted.
    @discardableResult
    public func deleteRule(_ rule: IPTablesRule, from chain: String) throws -> Int {
        guard chainExists(chain) else { return 0 }
        var deleted = 0
        try withEntry(rule, chain) { entry, mask in
            while iptc_check_entry(chain, entry, mask, handle) != 0 {
                try check(
                    iptc_delete_entry(chain, entry, mask, handle), "iptc_delete_entry", chain)
                deleted += 1
            }
        }
        if deleted > 0 { changed = true }
        return deleted
    }

    /// Deletes every rule of `chain` for which `predicate` is true; a missing chain is fine.
    ///
    /// - Returns: the number of rules deleted.
    @discardableResult
    public func deleteRules(from chain: String, where predicate: (IPTablesRule) -> Bool) throws
        -> Int
    {
        guard chainExists(chain) else { return 0 }
        let rules = try rules(in: chain)
        var deleted = 0
        // Delete from the end so that the earlier rule numbers stay valid.
        for (number, rule) in rules.enumerated().reversed() where predicate(rule) {
            try check(
                iptc_delete_num_entry(chain, UInt32(number), handle), "iptc_delete_num_entry",
                "\(chain) rule \(number + 1)")
            deleted += 1
        }
        if deleted > 0 { changed = true }
        return deleted
    }

    /// Counts the rules in this table that jump to `chain`.
    public func references(to chain: String) throws -> Int {
        var count: UInt32 = 0
        try check(iptc_get_references(&count, chain, handle), "iptc_get_references", chain)
        return Int(count)
    }

    /// Removes every rule from `chain`.
    public func flushChain(_ chain: String) throws {
        try check(iptc_flush_entries(chain, handle), "iptc_flush_entries", chain)
        changed = true
    }

    /// Flushes and deletes the user-defined chain `chain`; a missing chain is fine.
    ///
    /// - Throws: `IPTablesError` from `iptc_delete_chain` if rules still jump to it.
    public func deleteChain(_ chain: String) throws {
        guard chainExists(chain) else { return }
        try flushChain(chain)
        try check(iptc_delete_chain(chain, handle), "iptc_delete_chain", chain)
    }

    /// Builds the C entry for `rule` and its match mask, runs `body` with them and frees them.
    private func withEntry<T>(
        _ rule: IPTablesRule, _ chain: String,
        _ body: (UnsafeMutablePointer<ipt_entry>, UnsafeMutablePointer<UInt8>) throws -> T
    ) throws -> T {
        func invalid(_ reason: String) -> IPTablesError {
            IPTablesError(
                operation: "parse", subject: subject(chain), errno: EINVAL, reason: reason)
        }
        func network(_ text: String?) throws -> (address: UInt32, mask: UInt32) {
            guard let text else { return (0, 0) }
            guard let parsed = IPTablesRule.parseSource(text) else {
                throw invalid("bad network \(text)")
            }
            return parsed
        }
        let source = try network(rule.source)
        let destination = try network(rule.destination)
        for name in [rule.inInterface, rule.outInterface].compactMap({ $0 })
        where name.isEmpty || name.utf8.count > 15 {
            throw invalid("bad interface name \"\(name)\"")
        }
        var protocolNumber: UInt16 = 0
        switch rule.proto {
        case nil: break
        case "tcp": protocolNumber = 6
        case "udp": protocolNumber = 17
        case let other?: throw invalid("unsupported protocol \(other)")
        }
        for port in [rule.sourcePort, rule.destinationPort].compactMap({ $0 })
        where !(1...65535).contains(port) || protocolNumber == 0 {
            throw invalid("port \(port) needs -p tcp or udp and must be 1 to 65535")
        }
        var kind = Int32(SWD_TARGET_STANDARD)
        var natAddress: UInt32 = 0
        var natPort: UInt16 = 0
        if rule.target == "MASQUERADE" {
            kind = Int32(SWD_TARGET_MASQUERADE)
        } else if rule.target == "DNAT" {
            kind = Int32(SWD_TARGET_DNAT)
            guard let text = rule.toDestination else { throw invalid("DNAT without a destination") }
            let halves = text.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(halves.count), !halves[0].contains("/"),
                let address = IPTablesRule.parseSource(String(halves[0]))
            else { throw invalid("bad DNAT destination \(text)") }
            natAddress = address.address
            if halves.count == 2 {
                guard let port = UInt16(halves[1]), port > 0 else {
                    throw invalid("bad DNAT destination \(text)")
                }
                natPort = port
            }
        }
        let inName = rule.inInterface ?? ""
        let outName = rule.outInterface ?? ""
        let built = inName.withCString { inPointer in
            outName.withCString { outPointer in
                rule.target.withCString { targetPointer in
                    var spec = swd_ipt_spec(
                        source: source.address, source_mask: source.mask, source_inverted: 0,
                        destination: destination.address, destination_mask: destination.mask,
                        destination_inverted: rule.destinationNegated ? 1 : 0,
                        in: inPointer, in_inverted: rule.inInterfaceNegated ? 1 : 0,
                        out: outPointer, out_inverted: rule.outInterfaceNegated ? 1 : 0,
                        protocol: protocolNumber, source_port: UInt16(rule.sourcePort ?? 0),
                        destination_port: UInt16(rule.destinationPort ?? 0),
                        destination_type: rule.destinationIsLocal
                            ? UInt16(XT_ADDRTYPE_LOCAL) : 0,
                        connection_states: Self.kernelMask(rule.connectionStates),
                        target: targetPointer, target_kind: kind, nat_address: natAddress,
                        nat_port: natPort)
                    return swd_ipt_entry_build(&spec)
                }
            }
        }
        guard let entry = built, let mask = swd_ipt_match_mask(entry) else {
            swd_ipt_entry_free(built)
            throw IPTablesError(
                operation: "swd_ipt_entry_build", subject: subject(chain), errno: ENOMEM,
                reason: "out of memory")
        }
        defer {
            swd_ipt_mask_free(mask)
            swd_ipt_entry_free(entry)
        }
        return try body(entry, mask)
    }

    /// Converts `states` to the `xt_conntrack` state bits.
    private static func kernelMask(_ states: ConnectionStates) -> UInt16 {
        let bits: [(ConnectionStates, Int)] = [
            (.invalid, SWD_CTSTATE_INVALID), (.new, SWD_CTSTATE_NEW),
            (.related, SWD_CTSTATE_RELATED), (.established, SWD_CTSTATE_ESTABLISHED),
            (.untracked, SWD_CTSTATE_UNTRACKED),
        ]
        return bits.filter { states.contains($0.0) }.reduce(0) { $0 | UInt16($1.1) }
    }

    /// Throws the libiptc error if `result` is 0 (libiptc's failure value).
    private func check(_ result: Int32, _ operation: String, _ chain: String) throws {
        guard result == 0 else { return }
        let code = currentErrno()
        throw IPTablesError(
            operation: operation, subject: subject(chain), errno: code,
            reason: String(cString: iptc_strerror(code)))
    }

    private func subject(_ chain: String) -> String { "\(name.rawValue) \(chain)" }
}

/// An exclusive `flock` on `/run/xtables.lock`, the lock the iptables tools take.
private struct XtablesLock {
    static let path = "/run/xtables.lock"
    let fd: Int32

    /// Opens (creating if needed) and locks the file; blocks while another process holds it.
    init() throws {
        let fd = try retryingInterrupts("open", Self.path) {
            open(Self.path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        }
        do {
            try retryingInterrupts("flock", Self.path) { flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
    }

    /// Unlocks by closing the file.
    func release() {
        close(fd)
    }
}
