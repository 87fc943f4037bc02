import SwiftdExec
import SwiftdSystem
import Testing

/// A device request as the kernel passes it to the program (`struct bpf_cgroup_dev_ctx`).
struct DeviceRequest: CustomStringConvertible {
    var block: Bool
    var major: UInt32
    var minor: UInt32
    var access: DeviceRule.Access

    /// Parses `c 1:3 rw`: one device and the accesses requested.
    init(_ text: String) throws {
        let rule = try DeviceRule(parsing: text)
        block = rule.kind == .block
        major = try #require(rule.major)
        minor = try #require(rule.minor)
        access = rule.access
    }

    var description: String { "\(block ? "b" : "c") \(major):\(minor) \(access.rawValue)" }
}

/// Runs a device program the way the kernel would, for the instructions the generator emits.
/// Returns the program's result (1 allow, 0 deny), or nil after recording an issue for an
/// instruction it does not know, a jump out of the program, or a read through anything but
/// the untouched context register.
func evaluate(_ program: [BPFInstruction], _ request: DeviceRequest) -> UInt64? {
    let accessType = UInt32(request.block ? 1 : 2) | UInt32(request.access.rawValue) << 16
    let context = [0: accessType, 4: request.major, 8: request.minor]
    var registers = [UInt64](repeating: 0, count: 11)
    var contextIntact = true
    var pc = 0
    for _ in 0..<10_000 {
        guard program.indices.contains(pc) else {
            Issue.record("pc \(pc) outside the program of \(program.count) instructions")
            return nil
        }
        let instruction = program[pc]
        let destination = Int(instruction.destination)
        let source = Int(instruction.source)
        let immediate = instruction.immediate
        pc += 1
        switch instruction.code {
        case BPFInstruction.loadWordCode:
            guard source == 1, contextIntact, let value = context[Int(instruction.offset)] else {
                Issue.record("load from r\(source)+\(instruction.offset) is not a context field")
                return nil
            }
            registers[destination] = UInt64(value)
        case BPFInstruction.andImmediate32Code:
            registers[destination] = UInt64(
                UInt32(truncatingIfNeeded: registers[destination]) & UInt32(bitPattern: immediate))
        case BPFInstruction.shiftRightImmediate32Code:
            registers[destination] = UInt64(
                UInt32(truncatingIfNeeded: registers[destination]) >> UInt32(immediate))
        case BPFInstruction.moveImmediate32Code:
            registers[destination] = UInt64(UInt32(bitPattern: immediate))
        case BPFInstruction.moveRegister32Code:
            registers[destination] = UInt64(UInt32(truncatingIfNeeded: registers[source]))
        case BPFInstruction.jumpNotEqualImmediateCode:
            // BPF_JMP compares 64 bits against the sign-extended immediate.
            if registers[destination] != UInt64(bitPattern: Int64(immediate)) {
                pc += Int(instruction.offset)
            }
        case BPFInstruction.jumpNotEqualRegisterCode:
            if registers[destination] != registers[source] { pc += Int(instruction.offset) }
        case BPFInstruction.exitCode:
            return registers[0]
        default:
            Issue.record("unknown instruction \(instruction)")
            return nil
        }
        if destination == 1 && instruction.code != BPFInstruction.jumpNotEqualRegisterCode
            && instruction.code != BPFInstruction.jumpNotEqualImmediateCode
        {
            contextIntact = false
        }
    }
    Issue.record("the program did not exit within 10000 steps")
    return nil
}

/// Reports whether the program built from `rules` allows each request, in order.
func decisions(_ rules: [String], _ requests: [String]) throws -> [Bool] {
    let program = DeviceProgram.instructions(allowing: try rules.map(DeviceRule.init(parsing:)))
    return try requests.map { evaluate(program, try DeviceRequest($0)) == 1 }
}

@Suite("DeviceProgram")
struct DeviceProgramTests {
    @Test("default rules allow standard devices")
    func defaultRules() throws {
        let cases: [(String, Bool)] = [
            ("c 1:3 rw", true),  // /dev/null
            ("c 1:5 r", true),  // /dev/zero
            ("c 1:9 rw", true),  // /dev/urandom
            ("c 5:2 rw", true),  // /dev/ptmx
            ("c 136:7 rw", true),  // /dev/pts/7: minor wildcard
            ("c 10:200 rw", true),  // /dev/net/tun
            ("c 4:1 m", true),  // mknod of any character device
            ("b 8:0 m", true),  // mknod of any block device
            ("c 4:1 r", false),  // /dev/tty1
            ("c 1:1 rw", false),  // /dev/mem
            ("b 8:0 r", false),  // /dev/sda
            ("b 1:3 rw", false),  // block, with the numbers of /dev/null
            ("c 137:7 rw", false),
            ("c 4:1 rm", false),  // mknod is allowed, read is not, and both must fit one rule
        ]
        let results = try decisions(Device.defaultRules, cases.map(\.0))
        for (index, (request, expected)) in cases.enumerated() {
            #expect(results[index] == expected, "\(request)")
        }
    }

    @Test("access must fit one rule")
    func accessSubsets() throws {
        let results = try decisions(
            ["c 1:3 r", "c 1:5 rw"],
            [
                "c 1:3 r", "c 1:3 w", "c 1:3 rw", "c 1:3 m", "c 1:5 r", "c 1:5 w", "c 1:5 rw",
                "c 1:5 rwm",
            ])
        #expect(results == [true, false, false, false, true, true, true, false])
    }

    @Test("rules for one device merge")
    func mergesAccess() throws {
        let rules = ["c 1:3 r", "c 1:3 w"]
        #expect(try decisions(rules, ["c 1:3 rw", "c 1:3 m"]) == [true, false])
        let program = DeviceProgram.instructions(allowing: try rules.map(DeviceRule.init(parsing:)))
        let exits = program.filter { $0.code == BPFInstruction.exitCode }
        #expect(exits.count == 2, "one block and the final deny")
    }

    @Test("wildcards match any number")
    func wildcards() throws {
        let results = try decisions(
            ["c *:5 r", "b 7:* rw", "c *:* m"],
            [
                "c 1:5 r", "c 99:5 r", "c 99:6 r", "b 7:0 rw", "b 7:123 r", "b 8:0 r", "c 42:42 m",
                "b 42:42 m",
            ])
        #expect(results == [true, true, false, true, true, false, true, false])
    }

    @Test("type a allows every device")
    func typeAll() throws {
        let rules = try ["c 1:3 r", "a 1:3 r"].map(DeviceRule.init(parsing:))
        #expect(DeviceProgram.instructions(allowing: rules) == [.move32(0, 1), .exit])
        #expect(try decisions(["a"], ["b 8:0 rwm", "c 4:1 rw"]) == [true, true])
    }

    @Test("empty rule list denies everything")
    func emptyList() throws {
        #expect(try decisions([], ["c 1:3 r", "b 8:0 m"]) == [false, false])
    }

    @Test("emits checks in order with offsets")
    func exactInstructions() throws {
        let program = DeviceProgram.instructions(allowing: [try DeviceRule(parsing: "c 1:3 r")])
        let expected: [BPFInstruction] = [
            .loadWord(into: 2, from: 1, offset: 0),
            .and32(2, 0xffff),
            .loadWord(into: 3, from: 1, offset: 0),
            .shiftRight32(3, 16),
            .loadWord(into: 4, from: 1, offset: 4),
            .loadWord(into: 5, from: 1, offset: 8),
            .jumpIfNotEqual(2, 2, by: 7),
            .move32(1, register: 3),
            .and32(1, 2),
            .jumpIfNotEqual(1, register: 3, by: 4),
            .jumpIfNotEqual(4, 1, by: 3),
            .jumpIfNotEqual(5, 3, by: 2),
            .move32(0, 1),
            .exit,
            .move32(0, 0),
            .exit,
        ]
        #expect(program == expected)
    }

    @Test("skips access check for rwm")
    func fullAccessBlock() throws {
        let program = DeviceProgram.instructions(allowing: [try DeviceRule(parsing: "b 7:* rwm")])
        #expect(
            Array(program[6...]) == [
                .jumpIfNotEqual(2, 1, by: 3), .jumpIfNotEqual(4, 7, by: 2), .move32(0, 1), .exit,
                .move32(0, 0), .exit,
            ])
    }

    @Test(
        "encodes struct bpf_insn bytes", .enabled(if: isLittleEndian, "checks little-endian layout")
    )
    func encoding() {
        #expect(
            BPFInstruction.loadWord(into: 2, from: 1, offset: 4).encoded == 0x0000_0000_0004_1261)
        #expect(BPFInstruction.jumpIfNotEqual(4, 1, by: 3).encoded == 0x0000_0001_0003_0455)
        #expect(BPFInstruction.move32(0, -1).encoded == 0xffff_ffff_0000_00b4)
        #expect(
            BPFInstruction.jumpIfNotEqual(1, register: 3, by: -2).encoded == 0x0000_0000_fffe_315d)
        #expect(BPFInstruction.exit.encoded == 0x95)
    }
}

let isLittleEndian = 1.littleEndian == 1

@Suite("DeviceRule")
struct DeviceRuleTests {
    @Test("parses types, numbers and access")
    func parses() throws {
        #expect(
            try DeviceRule(parsing: "c 1:5 rwm")
                == DeviceRule(kind: .character, major: 1, minor: 5, access: .all))
        #expect(
            try DeviceRule(parsing: "b *:7 r")
                == DeviceRule(kind: .block, major: nil, minor: 7, access: .read))
        #expect(
            try DeviceRule(parsing: "c 136:*  wm")
                == DeviceRule(kind: .character, major: 136, minor: nil, access: [.write, .mknod]))
        #expect(
            try DeviceRule(parsing: "a")
                == DeviceRule(kind: .all, major: nil, minor: nil, access: .all))
        #expect(try DeviceRule(parsing: "a *:* rwm").kind == .all)
    }

    @Test(
        "rejects malformed rules",
        arguments: [
            "", "x 1:3 r", "c 1 r", "c 1:3", "c 1:3 q", "c -1:3 r", "c 1:3:4 r", "c 1: r",
            "c 2147483648:0 r", "c 1:3 r extra",
        ])
    func rejects(text: String) {
        #expect(throws: ExecError.self) { try DeviceRule(parsing: text) }
    }
}
