import CCapabilities
import SwiftdSystem

/// A capability name unknown to libcap and other than the `ALL` keyword.
public struct CapabilityError: ClassifiedError, Equatable {
    /// The name as the user gave it.
    public var name: String

    public init(unknownName name: String) {
        self.name = name
    }

    public var kind: ErrorKind { .invalidArgument }
    public var message: String { "unknown capability: \"\(name)\"" }
}

/// Linux capabilities by name and number, through libcap.
public enum Capabilities {
    /// The capabilities Docker grants a container by default.
    public static let dockerDefaultNames = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// The number of a capability: `CAP_NET_RAW`, `cap_net_raw` and `NET_RAW` all give 13.
    ///
    /// - Throws: `CapabilityError` naming `name` if libcap does not know it.
    public static func number(named name: String) throws(CapabilityError) -> Int {
        let lowered = name.lowercased()
        let full = lowered.hasPrefix("cap_") ? lowered : "cap_" + lowered
        var value: cap_value_t = 0
        // cap_from_name also accepts plain numbers; a name must not be one.
        guard full.dropFirst(4).contains(where: { $0.isLetter }),
            cap_from_name(full, &value) == 0
        else {
            throw CapabilityError(unknownName: name)
        }
        return Int(value)
    }

    /// The upper-case name of capability `number`, such as `CAP_NET_RAW`; a number that libcap
    /// has no name for comes back as its decimal digits.
    public static func name(of number: Int) -> String {
        guard let text = cap_to_name(cap_value_t(number)) else { return String(number) }
        defer { cap_free(text) }
        return String(cString: text).uppercased()
    }

    /// The highest capability number the running kernel supports, from
    /// `/proc/sys/kernel/cap_last_cap`; libcap's `cap_max_bits() - 1` where that is unreadable.
    public static func lastSupported() -> Int {
        if let text = try? FileSystem.readString("/proc/sys/kernel/cap_last_cap"),
            let value = Int(text.filter { !$0.isWhitespace })
        {
            return value
        }
        return Int(cap_max_bits()) - 1
    }
}
