import ConnectorDomain
import Foundation
import Testing

@Suite("Okta's clock offset and LastLogon-only changes")
struct ClockAndLastLogonTests {
    @Test func theOffsetIsTheMedianOfTheLastSamples() throws {
        let estimate = ClockOffsetEstimate()
        #expect(estimate.seconds == nil)
        let local = Date(timeIntervalSince1970: 1_780_000_000)
        // Okta 120 s behind; Date truncates to the second, the call takes 200 ms.
        for step in 0..<9 {
            let sent = local.addingTimeInterval(Double(step) * 7.3)
            let server = sent.addingTimeInterval(-120 + 0.1).timeIntervalSince1970.rounded(.down)
            estimate.record(
                serverDate: Date(timeIntervalSince1970: server), sentAt: sent, receivedAt: sent.addingTimeInterval(0.2))
        }
        // One answer that hung for 30 s does not move it.
        estimate.record(
            serverDate: local.addingTimeInterval(-120), sentAt: local, receivedAt: local.addingTimeInterval(30))
        let seconds = try #require(estimate.seconds)
        #expect(abs(seconds + 120) <= 0.5)
    }

    @Test func onlyTheLastSamplesCount() {
        let estimate = ClockOffsetEstimate()
        let local = Date(timeIntervalSince1970: 1_780_000_000)
        for _ in 0..<ClockOffsetEstimate.window {
            estimate.record(serverDate: local.addingTimeInterval(-60.5), sentAt: local, receivedAt: local)
        }
        // Okta's clock was corrected: after a window of new samples, the old ones are gone.
        for _ in 0..<ClockOffsetEstimate.window {
            estimate.record(serverDate: local.addingTimeInterval(-0.5), sentAt: local, receivedAt: local)
        }
        #expect(estimate.seconds == 0)
    }

    @Test func aDateFarFromAnyClockIsLeftOut() {
        let estimate = ClockOffsetEstimate()
        let local = Date(timeIntervalSince1970: 1_780_000_000)
        // A proxy answering with the epoch, and one a year ahead: neither is Okta's clock.
        estimate.record(serverDate: Date(timeIntervalSince1970: 0), sentAt: local, receivedAt: local)
        estimate.record(serverDate: local.addingTimeInterval(365 * 86_400), sentAt: local, receivedAt: local)
        #expect(estimate.seconds == nil)
        estimate.record(serverDate: local.addingTimeInterval(-30.5), sentAt: local, receivedAt: local)
        #expect(estimate.seconds == -30)
    }

    @Test func aChangeOfLastLogonAloneIsToldApart() {
        let stored = NeuronsRecord(
            key: "00u1",
            attributes: [
                "User.LastLogon": "2026-12-01T08:00:00.000Z", "User.JobTitle": "Engineer", "User.Apps": .array(["A"]),
            ])
        var signedIn = stored
        signedIn.attributes["User.LastLogon"] = "2026-12-07T09:00:00.000Z"
        #expect(signedIn.differsInLastLogonOnly(from: stored.canonicalAttributesJSON))
        var promoted = signedIn
        promoted.attributes["User.JobTitle"] = "Lead"
        #expect(!promoted.differsInLastLogonOnly(from: stored.canonicalAttributesJSON))
        // The same LastLogon: not a LastLogon change at all.
        var retitled = stored
        retitled.attributes["User.JobTitle"] = "Lead"
        #expect(!retitled.differsInLastLogonOnly(from: stored.canonicalAttributesJSON))
        // A first sign-in (no LastLogon before) alone.
        var never = stored
        never.attributes["User.LastLogon"] = nil
        #expect(signedIn.differsInLastLogonOnly(from: never.canonicalAttributesJSON))
        #expect(!signedIn.differsInLastLogonOnly(from: "not json"))
    }
}
