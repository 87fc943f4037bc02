import SwiftdSystem

/// Builds the cgroup v2 device program: eBPF that the kernel runs on each device open and
/// mknod in the cgroup, which returns 1 to allow and 0 to deny (`EPERM`).
///
/// The context is `struct bpf_cgroup_dev_ctx` (`<linux/bpf.h>`): a u32 whose low 16 bits are
/// the device type (`BPF_DEVCG_DEV_BLOCK` 1, `BPF_DEVCG_DEV_CHAR` 2) and whose high 16 bits are
/// the requested accesses, then the u32 major and the u32 minor. The program loads these into
/// registers 2 to 5, tests the rules in order, each as a block that jumps to the next on a
/// mismatch and returns 1 at its end, and finally returns 0.
package enum DeviceProgram {
    /// The register with the context pointer on entry; reused as scratch by access checks.
    private static let context: UInt8 = 1
    private static let type: UInt8 = 2
    private static let access: UInt8 = 3
    private static let major: UInt8 = 4
    private static let minor: UInt8 = 5

    /// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`.
    private static let blockType: Int32 = 1
    private static let characterType: Int32 = 2

    /// The program that allows what `rules` allow and denies everything else.
    ///
    /// This follows the v1 devices controller, so that both cgroup versions give a container
    /// the same devices. A request must fit within one rule, so an `rw` open needs a rule with
    /// both `r` and `w`. Rules for the same type and numbers add up their accesses, as v1
    /// merges them. A rule of type `a` allows every device whatever its numbers and access,
    /// as writing `a` to v1 `devices.allow` does.
    package static func instructions(allowing rules: [DeviceRule]) -> [BPFInstruction] {
        if rules.contains(where: { $0.kind == .all }) {
            return [.move32(0, 1), .exit]
        }
        var program: [BPFInstruction] = [
            .loadWord(into: type, from: context, offset: 0),
            .and32(type, 0xffff),
            .loadWord(into: access, from: context, offset: 0),
            .shiftRight32(access, 16),
            .loadWord(into: major, from: context, offset: 4),
            .loadWord(into: minor, from: context, offset: 8),
        ]
        for rule in merged(rules) {
            program += block(for: rule)
        }
        program += [.move32(0, 0), .exit]
        return program
    }

    /// Builds the block of one rule: its checks, each jumping past the block when it fails,
    /// then `return 1`.
    private static func block(for rule: DeviceRule) -> [BPFInstruction] {
        // Every jump goes to the first instruction after the block, so the offsets are set
        // once the block's length is known.
        var checks: [BPFInstruction] = []
        checks.append(.jumpIfNotEqual(type, rule.kind == .block ? blockType : characterType, by: 0))
        if rule.access != .all {
            // Skip unless the requested accesses are a subset of the rule's:
            // (requested & allowed) != requested.
            checks.append(.move32(context, register: access))
            checks.append(.and32(context, rule.access.rawValue))
            checks.append(.jumpIfNotEqual(context, register: access, by: 0))
        }
        if let number = rule.major {
            checks.append(.jumpIfNotEqual(major, Int32(bitPattern: number), by: 0))
        }
        if let number = rule.minor {
            checks.append(.jumpIfNotEqual(minor, Int32(bitPattern: number), by: 0))
        }
        var block = checks + [.move32(0, 1), .exit]
        for index in block.indices where isJump(block[index]) {
            block[index].offset = Int16(block.count - index - 1)
        }
        return block
    }

    private static func isJump(_ instruction: BPFInstruction) -> Bool {
        instruction.code == BPFInstruction.jumpNotEqualImmediateCode
            || instruction.code == BPFInstruction.jumpNotEqualRegisterCode
    }

    /// Joins rules with the same type and numbers into one with the union of their accesses,
    /// in the order of each key's first rule.
    private static func merged(_ rules: [DeviceRule]) -> [DeviceRule] {
        var result: [DeviceRule] = []
        for rule in rules {
            if let index = result.firstIndex(where: {
                $0.kind == rule.kind && $0.major == rule.major && $0.minor == rule.minor
            }) {
                result[index].access.formUnion(rule.access)
            } else {
                result.append(rule)
            }
        }
        return result
    }
}
