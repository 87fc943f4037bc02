import CSwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// One eBPF instruction: `struct bpf_insn` in `<linux/bpf.h>`.
public struct BPFInstruction: Sendable, Equatable, CustomStringConvertible {
    /// The opcode: instruction class, operation and operand source (`BPF_K` or `BPF_X`).
    public var code: UInt8
    /// The destination register, 0 to 10 (`dst_reg`).
    public var destination: UInt8
    /// The source register, 0 to 10 (`src_reg`).
    public var source: UInt8
    /// The signed offset of a memory access, or of a jump counted from the next instruction.
    public var offset: Int16
    /// The signed 32-bit constant operand (`imm`).
    public var immediate: Int32

    /// Builds an instruction from the fields of `struct bpf_insn`.
    public init(
        code: UInt8, destination: UInt8, source: UInt8 = 0, offset: Int16 = 0, immediate: Int32 = 0
    ) {
        self.code = code
        self.destination = destination
        self.source = source
        self.offset = offset
        self.immediate = immediate
    }

    /// The 8 bytes of `struct bpf_insn` in host byte order. The two register fields are 4-bit
    /// C bit-fields, which little-endian ABIs place `dst_reg` first (in the low nibble) and
    /// big-endian ABIs in the high nibble.
    public var encoded: UInt64 {
        #if _endian(little)
            let registers = UInt64(destination & 0xf) | UInt64(source & 0xf) << 4
            return UInt64(code) | registers << 8 | UInt64(UInt16(bitPattern: offset)) << 16
                | UInt64(UInt32(bitPattern: immediate)) << 32
        #else
            let registers = UInt64(destination & 0xf) << 4 | UInt64(source & 0xf)
            return UInt64(code) << 56 | registers << 48 | UInt64(UInt16(bitPattern: offset)) << 32
                | UInt64(UInt32(bitPattern: immediate))
        #endif
    }

    public var description: String {
        "code=0x\(String(code, radix: 16)) dst=r\(destination) src=r\(source) off=\(offset) imm=\(immediate)"
    }
}

extension BPFInstruction {
    /// `BPF_LDX | BPF_MEM | BPF_W`: `destination = *(u32 *)(source + offset)`.
    public static let loadWordCode: UInt8 = 0x61
    /// `BPF_ALU | BPF_AND | BPF_K`: 32-bit `destination &= immediate`.
    public static let andImmediate32Code: UInt8 = 0x54
    /// `BPF_ALU | BPF_RSH | BPF_K`: 32-bit `destination >>= immediate`.
    public static let shiftRightImmediate32Code: UInt8 = 0x74
    /// `BPF_ALU | BPF_MOV | BPF_K`: 32-bit `destination = immediate`.
    public static let moveImmediate32Code: UInt8 = 0xb4
    /// `BPF_ALU | BPF_MOV | BPF_X`: 32-bit `destination = source`.
    public static let moveRegister32Code: UInt8 = 0xbc
    /// `BPF_JMP | BPF_JNE | BPF_K`: jump by `offset` if `destination != immediate`.
    public static let jumpNotEqualImmediateCode: UInt8 = 0x55
    /// `BPF_JMP | BPF_JNE | BPF_X`: jump by `offset` if `destination != source`.
    public static let jumpNotEqualRegisterCode: UInt8 = 0x5d
    /// `BPF_JMP | BPF_EXIT`: return register 0.
    public static let exitCode: UInt8 = 0x95

    /// Builds a `loadWordCode` instruction.
    public static func loadWord(into destination: UInt8, from source: UInt8, offset: Int16) -> Self
    {
        Self(code: loadWordCode, destination: destination, source: source, offset: offset)
    }

    /// Builds an `andImmediate32Code` instruction.
    public static func and32(_ destination: UInt8, _ immediate: Int32) -> Self {
        Self(code: andImmediate32Code, destination: destination, immediate: immediate)
    }

    /// Builds a `shiftRightImmediate32Code` instruction.
    public static func shiftRight32(_ destination: UInt8, _ immediate: Int32) -> Self {
        Self(code: shiftRightImmediate32Code, destination: destination, immediate: immediate)
    }

    /// Builds a `moveImmediate32Code` instruction.
    public static func move32(_ destination: UInt8, _ immediate: Int32) -> Self {
        Self(code: moveImmediate32Code, destination: destination, immediate: immediate)
    }

    /// Builds a `moveRegister32Code` instruction.
    public static func move32(_ destination: UInt8, register source: UInt8) -> Self {
        Self(code: moveRegister32Code, destination: destination, source: source)
    }

    /// Builds a `jumpNotEqualImmediateCode` instruction.
    public static func jumpIfNotEqual(_ destination: UInt8, _ immediate: Int32, by offset: Int16)
        -> Self
    {
        Self(
            code: jumpNotEqualImmediateCode, destination: destination, offset: offset,
            immediate: immediate)
    }

    /// Builds a `jumpNotEqualRegisterCode` instruction.
    public static func jumpIfNotEqual(
        _ destination: UInt8, register source: UInt8, by offset: Int16
    ) -> Self {
        Self(
            code: jumpNotEqualRegisterCode, destination: destination, source: source, offset: offset
        )
    }

    /// The `exitCode` instruction.
    public static let exit = Self(code: exitCode, destination: 0)
}

/// The bpf(2) calls for cgroup device programs (`BPF_PROG_TYPE_CGROUP_DEVICE`).
public enum BPF {
    /// Loads `instructions` as a cgroup device program and attaches it to the cgroup directory
    /// at `path` (`BPF_CGROUP_DEVICE`, `BPF_F_ALLOW_MULTI`, so programs of ancestor cgroups
    /// still run and a device must pass all of them). The kernel keeps the program while it
    /// is attached, which is until the cgroup is removed; both file descriptors are closed
    /// before this returns. Blocks while the kernel's verifier checks the program.
    ///
    /// NOTE: kernels before Linux 5.11 charge program memory to `RLIMIT_MEMLOCK`, which this
    /// does not raise; a load that exceeds it there fails with `EPERM`.
    ///
    /// - Throws: `SystemCallError` from `open` of the cgroup, from `bpf(BPF_PROG_LOAD)` or
    ///   from `bpf(BPF_PROG_ATTACH)`. A failed load carries the verifier's last message in the
    ///   subject, and its errno is `EPERM` without `CAP_BPF` or `CAP_SYS_ADMIN`, or `EINVAL`
    ///   or `EACCES` for a program the kernel rejects. Attaching fails with `EPERM` if an
    ///   ancestor cgroup has a program attached without `BPF_F_ALLOW_MULTI`.
    public static func attachDeviceProgram(
        _ instructions: [BPFInstruction], toCgroup path: String, license: String = "Apache"
    ) throws {
        let cgroup = try retryingInterrupts("open", path) {
            swd_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        }
        defer { close(cgroup) }

        let program = try load(instructions, license: license)
        defer { close(program) }

        if swd_bpf_attach_cgroup_device(program, cgroup) != 0 {
            throw SystemCallError(call: "bpf(BPF_PROG_ATTACH)", subject: path, errno: swd_errno())
        }
    }

    /// Counts the device programs attached to the cgroup at `path` itself, without those
    /// of its ancestors.
    ///
    /// - Throws: `SystemCallError` from `open` or `bpf(BPF_PROG_QUERY)`.
    public static func deviceProgramCount(cgroup path: String) throws -> Int {
        let cgroup = try retryingInterrupts("open", path) {
            swd_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        }
        defer { close(cgroup) }
        var count: UInt32 = 0
        if swd_bpf_count_cgroup_device(cgroup, &count) != 0 {
            throw SystemCallError(call: "bpf(BPF_PROG_QUERY)", subject: path, errno: swd_errno())
        }
        return Int(count)
    }

    /// Loads a device program and returns its close-on-exec file descriptor.
    private static func load(_ instructions: [BPFInstruction], license: String) throws -> Int32 {
        let encoded = instructions.map(\.encoded)
        var log = [CChar](repeating: 0, count: 16384)
        // libbpf's sys_bpf_prog_load (tools/lib/bpf/bpf.c) retries on EAGAIN, which the
        // verifier returns when a signal interrupts it. This retries up to five times.
        var attempt = 1
        while true {
            let fd = encoded.withUnsafeBufferPointer { code in
                log.withUnsafeMutableBufferPointer { buffer in
                    swd_bpf_load_cgroup_device(
                        code.baseAddress, UInt32(code.count), license, buffer.baseAddress,
                        UInt32(buffer.count))
                }
            }
            if fd >= 0 { return fd }
            let code = swd_errno()
            if code == EAGAIN && attempt < 5 {
                attempt += 1
                continue
            }
            let text = String(
                decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // The verifier ends its log with statistics; the reason is the line before them.
            let reason =
                text.split(separator: "\n").last {
                    !$0.hasPrefix("processed ") && !$0.hasPrefix("verification time")
                }.map { ": \($0)" } ?? ""
            throw SystemCallError(
                call: "bpf(BPF_PROG_LOAD)",
                subject: "cgroup device program of \(instructions.count) instructions\(reason)",
                errno: code)
        }
    }
}
