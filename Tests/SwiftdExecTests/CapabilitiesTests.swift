import SwiftdCapabilities
import SwiftdExec
import SwiftdSystem
import Testing

@Suite("Capabilities")
struct CapabilitiesTests {
    @Test("maps names to numbers in any spelling and back")
    func namesAndNumbers() throws {
        #expect(try Capabilities.number(named: "CAP_NET_RAW") == 13)
        #expect(try Capabilities.number(named: "net_raw") == 13)
        #expect(try Capabilities.number(named: "Cap_Chown") == 0)
        #expect(Capabilities.name(of: 13) == "CAP_NET_RAW")
        #expect(Capabilities.name(of: 21) == "CAP_SYS_ADMIN")
    }

    @Test("rejects an unknown name, naming it")
    func unknownName() {
        #expect(throws: CapabilityError(unknownName: "NET_MAGIC")) {
            _ = try Capabilities.number(named: "NET_MAGIC")
        }
        #expect(throws: CapabilityError(unknownName: "13")) {
            _ = try Capabilities.number(named: "13")
        }
        #expect(CapabilityError(unknownName: "X").message == "unknown capability: \"X\"")
        #expect(CapabilityError(unknownName: "X").kind == .invalidArgument)
    }

    @Test("Docker's default set is 00000000a80425fb")
    func dockerDefault() {
        #expect(CapabilitySet.dockerDefault.mask == 0xa804_25fb)
        #expect(CapabilitySet.dockerDefault.description == "00000000a80425fb")
        #expect(CapabilitySet.dockerDefault.names.count == 14)
        let spec = ContainerSpec(id: "x", rootfs: "/", arguments: ["true"])
        #expect(spec.capabilities == 0xa804_25fb)
    }

    @Test("adds and drops by name, and ALL")
    func addAndDrop() throws {
        let base = CapabilitySet.dockerDefault
        let added = try base.adding(["SYS_ADMIN"])
        #expect(added.contains(21))
        #expect(try added.dropping(["CAP_SYS_ADMIN", "net_raw"]).contains(13) == false)
        #expect(try base.dropping(["ALL"]).mask == 0)
        #expect(try CapabilitySet(mask: 0).adding(["ALL"]) == CapabilitySet.all)
        #expect(throws: CapabilityError(unknownName: "BOGUS")) {
            _ = try base.adding(["CHOWN", "BOGUS"])
        }
    }

    @Test("reads the last capability the kernel supports")
    func lastSupported() throws {
        let text = try FileSystem.readString("/proc/sys/kernel/cap_last_cap")
        #expect(Capabilities.lastSupported() == Int(text.filter { !$0.isWhitespace }))
        #expect(CapabilitySet.all.contains(Capabilities.lastSupported()))
        #expect(!CapabilitySet.all.contains(Capabilities.lastSupported() + 1))
    }
}

@Suite("ExitStatus")
struct ExitStatusTests {
    @Test("decodes wait statuses")
    func decodes() {
        #expect(ExitStatus(waitStatus: 3 << 8) == ExitStatus(code: 3))
        #expect(ExitStatus(waitStatus: 9) == ExitStatus(code: 137, signal: 9))
        #expect(ExitStatus(waitStatus: 15 | 0x80) == ExitStatus(code: 143, signal: 15))
    }
}
