import SwiftdNetwork
import Testing

@Suite("IPAM validation")
struct IPAMValidationTests {
    @Test("valid settings have no problems")
    func validSettings() {
        let problems = IPAMValidation.problems(
            subnet: "10.1.0.0/16", ipRange: "10.1.2.0/24", gateway: "10.1.0.1",
            auxiliaryAddresses: ["printer": "10.1.0.2"])
        #expect(problems.isEmpty)
        #expect(IPAMValidation.message(problems) == nil)
    }

    @Test("problems use dockerd's messages")
    func dockerdMessages() {
        let cases: [(subnet: String, range: String?, gateway: String?, expected: [String])] = [
            ("", "10.1.2.0/24", nil, ["invalid subnet : invalid CIDR block notation"]),
            ("10.1.2.3/24", nil, nil, ["invalid subnet 10.1.2.3/24: it should be 10.1.2.0/24"]),
            (
                "10.1.2.0/24", "10.1.0.0/16", nil,
                [
                    "invalid ip-range 10.1.0.0/16: CIDR block is bigger than its parent subnet "
                        + "10.1.2.0/24"
                ]
            ),
            (
                "10.1.2.0/24", "10.9.0.0/25", nil,
                [
                    "invalid ip-range 10.9.0.0/25: parent subnet 10.1.2.0/24 doesn't contain "
                        + "ip-range"
                ]
            ),
            (
                "10.1.2.0/24", "fd00::/64", nil,
                ["invalid ip-range fd00::/64: parent subnet is an IPv4 block"]
            ),
            ("10.1.2.0/24", nil, "10.1.2", ["invalid gateway 10.1.2: invalid address"]),
            (
                "10.1.2.0/24", nil, "fd00::1",
                ["invalid gateway fd00::1: parent subnet is an IPv4 block"]
            ),
        ]
        for (subnet, range, gateway, expected) in cases {
            let problems = IPAMValidation.problems(subnet: subnet, ipRange: range, gateway: gateway)
            #expect(problems == expected, "\(subnet) \(range ?? "-") \(gateway ?? "-")")
        }
    }

    @Test("several problems become a list")
    func joinedMessage() {
        let problems = IPAMValidation.problems(
            subnet: "10.1.2.3/24", ipRange: nil, gateway: "10.9.9.9",
            auxiliaryAddresses: ["b": "10.1.2.9", "a": "10.8.0.1"])
        #expect(
            IPAMValidation.message(problems)
                == "invalid network config:\n"
                + "* invalid subnet 10.1.2.3/24: it should be 10.1.2.0/24\n"
                + "* invalid gateway 10.9.9.9: parent subnet 10.1.2.3/24 doesn't contain this "
                + "address\n"
                + "* invalid auxiliary address a: parent subnet 10.1.2.3/24 doesn't contain this "
                + "address")
        #expect(
            IPAMValidation.message(["invalid subnet x: invalid CIDR block notation"])
                == "invalid network config:\ninvalid subnet x: invalid CIDR block notation")
    }
}

@Suite("IPAM allocation")
struct IPAMAllocationTests {
    @Test("auxiliary addresses that dockerd cannot reserve")
    func auxiliaryConflicts() {
        let used = ": Address already in use"
        let cases: [(range: String?, gateway: String?, aux: [String: String], expected: String?)] = [
            (nil, nil, ["printer": "10.5.0.9"], nil),
            (nil, nil, ["router": "10.5.0.1"], "failed to allocate secondary ip address (router:10.5.0.1)" + used),
            (nil, "10.5.0.7", ["a": "10.5.0.7"], "failed to allocate secondary ip address (a:10.5.0.7)" + used),
            (nil, "10.5.0.7", ["a": "10.5.0.1"], nil),
            (nil, nil, ["net": "10.5.0.0"], "failed to allocate secondary ip address (net:10.5.0.0)" + used),
            (nil, nil, ["all": "10.5.0.255"], "failed to allocate secondary ip address (all:10.5.0.255)" + used),
            // The second name in order repeats the first.
            (nil, nil, ["b": "10.5.0.9", "a": "10.5.0.9"], "failed to allocate secondary ip address (b:10.5.0.9)" + used),
            // Outside the range, libnetwork reserves nothing and reports nothing.
            ("10.5.0.128/25", nil, ["router": "10.5.0.1"], nil),
            ("10.5.0.128/25", nil, ["all": "10.5.0.255"], "failed to allocate secondary ip address (all:10.5.0.255)" + used),
            (nil, "10.5.0.0", [:], "failed to allocate gateway (10.5.0.0)" + used),
            (nil, "10.5.0.255", [:], "failed to allocate gateway (10.5.0.255)" + used),
        ]
        for (range, gateway, aux, expected) in cases {
            let problem = IPAMValidation.allocationProblem(
                subnet: "10.5.0.0/24", ipRange: range, gateway: gateway, auxiliaryAddresses: aux)
            #expect(problem == expected, "range \(range ?? "-") gateway \(gateway ?? "-") \(aux)")
        }
    }
}
