import CSeccomp
import Foundation
import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A seccomp profile in Docker's JSON format: a default action and rules for named syscalls,
/// some conditional on the container's capabilities.
public struct SeccompProfile: Sendable, Equatable {
    /// What the filter does with a matching syscall.
    public enum Action: Sendable, Equatable {
        case allow
        /// Fails the syscall with this errno.
        case errno(Int32)
        case killThread
        case killProcess
        case trap
        case log
        case trace(UInt16)

        /// libseccomp's action value (the `SCMP_ACT_*` macros, which do not import).
        var value: UInt32 {
            switch self {
            case .allow: 0x7fff_0000
            case .errno(let code): 0x0005_0000 | (UInt32(bitPattern: code) & 0xffff)
            case .killThread: 0
            case .killProcess: 0x8000_0000
            case .trap: 0x0003_0000
            case .log: 0x7ffc_0000
            case .trace(let code): 0x7ff0_0000 | UInt32(code)
            }
        }

        /// Parses Docker's `SCMP_ACT_*` names; `errno` is the profile's `errnoRet` (EPERM
        /// when absent, as runc does).
        init(docker name: String, errno: Int32?) throws(SeccompError) {
            switch name {
            case "SCMP_ACT_ALLOW": self = .allow
            case "SCMP_ACT_ERRNO": self = .errno(errno ?? EPERM)
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": self = .killThread
            case "SCMP_ACT_KILL_PROCESS": self = .killProcess
            case "SCMP_ACT_TRAP": self = .trap
            case "SCMP_ACT_LOG": self = .log
            case "SCMP_ACT_TRACE": self = .trace(UInt16(truncatingIfNeeded: errno ?? 0))
            default: throw SeccompError.invalidProfile("unknown action \"\(name)\"")
            }
        }
    }

    /// A comparison of one syscall argument (`SCMP_CMP_*`).
    public struct Argument: Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64
        /// One of `SCMP_CMP_NE`, `_LT`, `_LE`, `_EQ`, `_GE`, `_GT`, `_MASKED_EQ`.
        public var op: String

        public init(index: UInt32, value: UInt64, valueTwo: UInt64 = 0, op: String) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }

    /// An action for a set of syscalls, optionally limited by arguments and capabilities.
    public struct Rule: Sendable, Equatable {
        public var names: [String]
        public var action: Action
        public var arguments: [Argument]
        /// The rule applies only if the container has all of these capabilities.
        public var requiredCapabilities: [String]
        /// The rule applies only if the container has none of these capabilities.
        public var excludedCapabilities: [String]

        public init(
            names: [String], action: Action, arguments: [Argument] = [],
            requiredCapabilities: [String] = [], excludedCapabilities: [String] = []
        ) {
            self.names = names
            self.action = action
            self.arguments = arguments
            self.requiredCapabilities = requiredCapabilities
            self.excludedCapabilities = excludedCapabilities
        }
    }

    public var defaultAction: Action
    public var rules: [Rule]

    public init(defaultAction: Action, rules: [Rule]) {
        self.defaultAction = defaultAction
        self.rules = rules
    }

    /// Parses a profile in Docker's format (`defaultAction`, `defaultErrnoRet`,
    /// `syscalls[].names`/`name`, `action`, `errnoRet`, `args`, `includes.caps`,
    /// `excludes.caps`). Architecture lists are ignored: the filter is built for this
    /// machine's architecture and its 32-bit companions.
    ///
    /// - Throws: `SeccompError.invalidProfile` naming what is wrong.
    public init(json: [UInt8]) throws(SeccompError) {
        let file: DockerFile
        do {
            file = try JSONDecoder().decode(DockerFile.self, from: Data(json))
        } catch {
            throw SeccompError.invalidProfile("\(error)")
        }
        defaultAction = try Action(docker: file.defaultAction, errno: file.defaultErrnoRet)
        var rules: [Rule] = []
        for entry in file.syscalls ?? [] {
            let names = (entry.names ?? []) + (entry.name.map { [$0] } ?? [])
            guard !names.isEmpty else { throw SeccompError.invalidProfile("a rule has no names") }
            var arguments: [Argument] = []
            for argument in entry.args ?? [] {
                guard Self.comparisons[argument.op] != nil else {
                    throw SeccompError.invalidProfile("unknown operator \"\(argument.op)\"")
                }
                arguments.append(
                    Argument(
                        index: argument.index, value: argument.value,
                        valueTwo: argument.valueTwo ?? 0, op: argument.op))
            }
            rules.append(
                Rule(
                    names: names,
                    action: try Action(docker: entry.action, errno: entry.errnoRet),
                    arguments: arguments,
                    requiredCapabilities: entry.includes?.caps ?? [],
                    excludedCapabilities: entry.excludes?.caps ?? []))
        }
        self.rules = rules
    }

    /// Reads and parses a profile file in Docker's format.
    ///
    /// - Throws: `SystemCallError` if the file cannot be read; `SeccompError.invalidProfile`.
    public init(contentsOf path: String) throws {
        try self.init(json: FileSystem.read(path))
    }

    /// Compiles the rules that apply to a container with `capabilities` (upper-case names such
    /// as `CAP_SYS_ADMIN`) into a BPF program for this architecture (plus x86 and x32 on
    /// x86_64, as Docker does). Syscall names this libseccomp does not know are skipped.
    ///
    /// - Throws: `SeccompError.libseccomp` naming the call and the syscall.
    public func compile(capabilities: Set<String>) throws(SeccompError) -> SeccompFilter {
        guard let context = seccomp_init(defaultAction.value) else {
            throw SeccompError.libseccomp(call: "seccomp_init", subject: "profile", code: -ENOMEM)
        }
        defer { seccomp_release(context) }
        #if arch(x86_64)
            for arch in [SCMP_ARCH_X86, SCMP_ARCH_X32] {
                let result = seccomp_arch_add(context, UInt32(arch))
                if result != 0 && result != -EEXIST {
                    throw SeccompError.libseccomp(
                        call: "seccomp_arch_add", subject: "\(arch)", code: result)
                }
            }
        #endif
        // Killing on a wrong architecture would break 32-bit binaries; they get the default.
        for rule in rules where rule.applies(to: capabilities) {
            if rule.action == defaultAction { continue }
            var comparisons = rule.arguments.map { argument in
                scmp_arg_cmp(
                    arg: argument.index, op: Self.comparisons[argument.op] ?? SCMP_CMP_EQ,
                    datum_a: argument.value, datum_b: argument.valueTwo)
            }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR { continue }
                let result = seccomp_rule_add_array(
                    context, rule.action.value, number, UInt32(comparisons.count), &comparisons)
                if result != 0 {
                    throw SeccompError.libseccomp(
                        call: "seccomp_rule_add_array", subject: name, code: result)
                }
            }
        }
        return try SeccompFilter(exporting: context)
    }

    static let comparisons: [String: scmp_compare] = [
        "SCMP_CMP_NE": SCMP_CMP_NE, "SCMP_CMP_LT": SCMP_CMP_LT, "SCMP_CMP_LE": SCMP_CMP_LE,
        "SCMP_CMP_EQ": SCMP_CMP_EQ, "SCMP_CMP_GE": SCMP_CMP_GE, "SCMP_CMP_GT": SCMP_CMP_GT,
        "SCMP_CMP_MASKED_EQ": SCMP_CMP_MASKED_EQ,
    ]

    /// The subset of Docker's JSON that swiftd reads.
    private struct DockerFile: Decodable {
        struct Argument: Decodable {
            var index: UInt32
            var value: UInt64
            var valueTwo: UInt64?
            var op: String
        }
        struct Filter: Decodable {
            var caps: [String]?
        }
        struct Syscall: Decodable {
            var names: [String]?
            var name: String?
            var action: String
            var errnoRet: Int32?
            var args: [Argument]?
            var includes: Filter?
            var excludes: Filter?
        }
        var defaultAction: String
        var defaultErrnoRet: Int32?
        var syscalls: [Syscall]?
    }
}

extension SeccompProfile.Rule {
    func applies(to capabilities: Set<String>) -> Bool {
        requiredCapabilities.allSatisfy { capabilities.contains($0.uppercased()) }
            && !excludedCapabilities.contains { capabilities.contains($0.uppercased()) }
    }
}

/// A compiled seccomp BPF program (`struct sock_filter[]`), ready for
/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, …)`.
public struct SeccompFilter: Sendable, Equatable {
    /// The raw instructions, 8 bytes each.
    public let bytes: [UInt8]

    /// The number of BPF instructions.
    public var instructionCount: Int { bytes.count / 8 }

    /// Exports the context's BPF through a pipe. The kernel caps a filter at 4096
    /// instructions (32 KiB), less than a pipe holds, so the write cannot block.
    fileprivate init(exporting context: scmp_filter_ctx) throws(SeccompError) {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 {
            throw SeccompError.libseccomp(call: "pipe", subject: "BPF export", code: -errno)
        }
        defer { close(fds[0]) }
        let result = seccomp_export_bpf(context, fds[1])
        close(fds[1])
        if result != 0 {
            throw SeccompError.libseccomp(call: "seccomp_export_bpf", subject: "pipe", code: result)
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                throw SeccompError.libseccomp(call: "read", subject: "BPF export", code: -errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        guard !bytes.isEmpty, bytes.count % 8 == 0, bytes.count / 8 <= 4096 else {
            throw SeccompError.libseccomp(
                call: "seccomp_export_bpf", subject: "\(bytes.count) bytes", code: -EINVAL)
        }
        self.bytes = bytes
    }
}

/// A profile that cannot be parsed or compiled.
public enum SeccompError: ClassifiedError, Equatable {
    /// The JSON is not a profile swiftd understands.
    case invalidProfile(String)
    /// A libseccomp (or pipe) call failed with a negative errno.
    case libseccomp(call: String, subject: String, code: Int32)

    public var kind: ErrorKind {
        switch self {
        case .invalidProfile: .invalidArgument
        case .libseccomp: .internalError
        }
    }

    public var message: String {
        switch self {
        case .invalidProfile(let reason):
            "invalid seccomp profile: \(reason)"
        case .libseccomp(let call, let subject, let code):
            "\(call) \(subject): \(String(cString: strerror(-code)))"
        }
    }
}
