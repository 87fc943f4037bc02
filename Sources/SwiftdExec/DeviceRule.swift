/// One rule of the devices cgroup in the syntax of v1 `devices.allow`: a type (`c`, `b` or `a`
/// for any), `major:minor` where either may be `*`, and some of `r`, `w` and `m` (mknod).
package struct DeviceRule: Sendable, Equatable {
    /// The device type: `c`, `b`, or `a` for both.
    package enum Kind: Sendable, Equatable {
        case character, block, all
    }

    /// Device accesses, with the bit values of `BPF_DEVCG_ACC_*` in `<linux/bpf.h>`.
    package struct Access: OptionSet, Sendable, Hashable {
        package let rawValue: Int32

        package init(rawValue: Int32) { self.rawValue = rawValue }

        package static let mknod = Access(rawValue: 1)
        package static let read = Access(rawValue: 2)
        package static let write = Access(rawValue: 4)
        package static let all: Access = [.mknod, .read, .write]
    }

    package var kind: Kind
    /// The major number, or nil for any.
    package var major: UInt32?
    /// The minor number, or nil for any.
    package var minor: UInt32?
    /// The accesses the rule allows.
    package var access: Access

    package init(kind: Kind, major: UInt32?, minor: UInt32?, access: Access) {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }

    /// Parses a rule such as `c 1:5 rwm`, `c 136:* rw` or `a` (short for `a *:* rwm`).
    ///
    /// - Throws: `ExecError.invalidSpec` for another type, a number that is not `*` or a
    ///   decimal up to 2147483647, or an access outside `r`, `w` and `m`.
    package init(parsing text: String) throws {
        let fields = text.split(whereSeparator: \.isWhitespace)
        if fields == ["a"] {
            self.init(kind: .all, major: nil, minor: nil, access: .all)
            return
        }
        guard fields.count == 3 else {
            throw ExecError.invalidSpec(
                "invalid device rule \"\(text)\": expected TYPE MAJOR:MINOR ACCESS, such as \"c 1:5 rwm\""
            )
        }
        let kind: Kind
        switch fields[0] {
        case "c": kind = .character
        case "b": kind = .block
        case "a": kind = .all
        default:
            throw ExecError.invalidSpec("invalid device rule \"\(text)\": type must be c, b or a")
        }
        let numbers = fields[1].split(separator: ":", omittingEmptySubsequences: false)
        guard numbers.count == 2, let major = Self.number(numbers[0]),
            let minor = Self.number(numbers[1])
        else {
            throw ExecError.invalidSpec(
                "invalid device rule \"\(text)\": MAJOR:MINOR must be numbers or *")
        }
        var access: Access = []
        for letter in fields[2] {
            switch letter {
            case "r": access.insert(.read)
            case "w": access.insert(.write)
            case "m": access.insert(.mknod)
            default:
                throw ExecError.invalidSpec(
                    "invalid device rule \"\(text)\": access must be some of r, w and m")
            }
        }
        self.init(kind: kind, major: major, minor: minor, access: access)
    }

    /// Parses `*` to `.some(nil)` (any number) and a decimal number to itself; returns nil for
    /// anything else. The limit is Int32.max because the device program compares against
    /// signed 32-bit immediates; Linux device numbers have at most 12 bits of major and 20 bits
    /// of minor.
    private static func number(_ text: Substring) -> UInt32?? {
        if text == "*" { return .some(nil) }
        guard let value = UInt32(text), value <= UInt32(Int32.max) else { return nil }
        return .some(value)
    }
}
