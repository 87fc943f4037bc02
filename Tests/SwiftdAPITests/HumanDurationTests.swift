import Testing

@testable import SwiftdAPI

@Suite("human durations")
struct HumanDurationTests {
    @Test(
        "each unit and its boundaries",
        arguments: [
            (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
            (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
            (5399, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
            (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (59 * 86400, "8 weeks"),
            (60 * 86400, "2 months"), (729 * 86400, "24 months"), (730 * 86400, "2 years"),
            (1068 * 86400, "2 years"),
        ] as [(Double, String)])
    func units(seconds: Double, text: String) {
        #expect(humanDuration(seconds) == text)
    }
}
