/// A set of capabilities as the 64-bit mask that `capset(2)` and `/proc/PID/status` use.
public struct CapabilitySet: Sendable, Hashable, CustomStringConvertible {
    /// Bit `n` set means capability `n` is in the set.
    public var mask: UInt64

    public init(mask: UInt64) {
        self.mask = mask
    }

    /// The set of the named capabilities (any spelling `Capabilities.number(named:)` accepts).
    ///
    /// - Throws: `CapabilityError` naming the first unknown name.
    public init(names: [String]) throws(CapabilityError) {
        self.mask = 0
        for name in names { mask |= try Self.bits(of: name) }
    }

    /// Docker's default set: `00000000a80425fb` in `/proc/PID/status`.
    public static var dockerDefault: CapabilitySet {
        // The names are libcap's own, so they cannot be unknown.
        (try? CapabilitySet(names: Capabilities.dockerDefaultNames)) ?? CapabilitySet(mask: 0)
    }

    /// Every capability the running kernel supports.
    public static var all: CapabilitySet {
        let last = min(Capabilities.lastSupported(), 63)
        return CapabilitySet(mask: last >= 63 ? UInt64.max : (UInt64(1) << (last + 1)) - 1)
    }

    /// This set plus the named capabilities, as `--cap-add` does; `ALL` adds every one.
    ///
    /// - Throws: `CapabilityError` naming the first unknown name.
    public func adding(_ names: [String]) throws(CapabilityError) -> CapabilitySet {
        var result = self
        for name in names { result.mask |= try Self.bits(of: name) }
        return result
    }

    /// This set without the named capabilities, as `--cap-drop` does; `ALL` drops every one.
    ///
    /// - Throws: `CapabilityError` naming the first unknown name.
    public func dropping(_ names: [String]) throws(CapabilityError) -> CapabilitySet {
        var result = self
        for name in names { result.mask &= ~(try Self.bits(of: name)) }
        return result
    }

    /// Whether capability `number` is in the set.
    public func contains(_ number: Int) -> Bool {
        number >= 0 && number < 64 && mask & (UInt64(1) << number) != 0
    }

    /// The names of the capabilities in the set, in number order (`CAP_CHOWN` first).
    public var names: [String] {
        (0..<64).filter { contains($0) }.map { Capabilities.name(of: $0) }
    }

    /// The mask as 16 hexadecimal digits, the format of `CapEff:` in `/proc/PID/status`.
    public var description: String {
        let digits = String(mask, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func bits(of name: String) throws(CapabilityError) -> UInt64 {
        if name.uppercased() == "ALL" { return all.mask }
        let number = try Capabilities.number(named: name)
        guard number < 64 else { throw CapabilityError(unknownName: name) }
        return UInt64(1) << number
    }
}
