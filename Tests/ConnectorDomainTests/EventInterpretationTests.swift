import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Testing

@Suite("Event interpretation (SPEC §5)")
struct EventInterpretationTests {
    func event(_ type: String, result: String? = "SUCCESS", actorType: String = "User") -> OktaLogEvent {
        OktaLogEvent(
            uuid: UUID().uuidString, published: ts("2026-01-01T10:00:00.000Z"), eventType: type,
            actor: .init(id: "00uActor", type: actorType),
            target: [.init(id: "0oaApp", type: "AppInstance"), .init(id: "00uTarget", type: "User")],
            outcomeResult: result)
    }

    @Test(arguments: ["user.session.start", "user.authentication.sso", "user.authentication.auth_via_mfa"])
    func loginEventsMoveLastLoginOfTheActorWithoutARefresh(_ type: String) {
        #expect(
            event(type).interpretation
                == .apply(userId: "00uActor", effect: EventEffect(lastLoginAt: ts("2026-01-01T10:00:00.000Z"))))
    }

    @Test(arguments: ["user.account.update_password", "user.account.reset_password"])
    func passwordEventsMovePasswordChangedAndRefreshStatus(_ type: String) {
        #expect(
            event(type).interpretation
                == .apply(
                    userId: "00uTarget",
                    effect: EventEffect(passwordChangedAt: ts("2026-01-01T10:00:00.000Z"), refresh: [.user])))
    }

    @Test(arguments: [
        "user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.reactivate", "user.lifecycle.deactivate",
        "user.lifecycle.suspend", "user.lifecycle.unsuspend", "user.account.lock", "user.account.unlock",
        "user.account.unlock_by_admin", "user.account.update_profile",
    ])
    func lifecycleAndProfileEventsRefreshTheUser(_ type: String) {
        #expect(event(type).interpretation == .apply(userId: "00uTarget", effect: EventEffect(refresh: [.user])))
    }

    /// A claim checked with Okta before anything is removed (SPEC §20).
    @Test func deleteInitiatedAsksForARead() {
        #expect(
            event("user.lifecycle.delete.initiated").interpretation
                == .apply(userId: "00uTarget", effect: EventEffect(refresh: [.user], remove: true)))
    }

    @Test(arguments: [
        "application.user_membership.add", "application.user_membership.remove", "application.user_membership.update",
    ])
    func membershipEventsRefreshAssignedApps(_ type: String) {
        #expect(event(type).interpretation == .apply(userId: "00uTarget", effect: EventEffect(refresh: [.apps])))
    }

    /// A group membership changes the user's groups and the apps assigned through the group.
    @Test(arguments: ["group.user_membership.add", "group.user_membership.remove"])
    func groupMembershipEventsRefreshGroupsAndApps(_ type: String) {
        #expect(
            event(type).interpretation == .apply(userId: "00uTarget", effect: EventEffect(refresh: [.apps, .groups])))
    }

    /// Not hook-eligible: System Log polling reads it, and the user is read again.
    @Test func aPrimaryEmailChangeRefreshesTheUser() {
        #expect(
            event("user.account.update_primary_email").interpretation
                == .apply(userId: "00uTarget", effect: EventEffect(refresh: [.user])))
    }

    @Test(arguments: [
        "device.enrollment.create", "device.user.add", "device.user.remove", "device.lifecycle.activate",
        "device.lifecycle.deactivate", "device.lifecycle.suspend", "device.lifecycle.unsuspend",
        "device.lifecycle.delete",
    ])
    func deviceEventsRefreshDevices(_ type: String) {
        #expect(event(type).interpretation == .apply(userId: "00uTarget", effect: EventEffect(refresh: [.devices])))
    }

    @Test(arguments: ["FAILURE", "SKIPPED", "DENY", "UNKNOWN"])
    func unsuccessfulEventsChangeNothing(_ result: String) {
        #expect(event("user.lifecycle.activate", result: result).interpretation == .notSuccessful)
        #expect(event("user.session.start", result: result).interpretation == .notSuccessful)
    }

    @Test func unknownTypesAreRecognisedAsSuch() {
        #expect(event("policy.lifecycle.update").interpretation == .unknownType)
    }

    @Test func sessionEventsOfNonUserActorsHaveNoSubject() {
        #expect(event("user.session.start", actorType: "SystemPrincipal").interpretation == .noSubjectUser)
    }

    @Test func subscribedTypesAreAllEligibleForEventHooks() throws {
        guard let folder = SharedOktaData.require("", test: "subscribedTypesAreAllEligibleForEventHooks") else {
            return
        }
        let eligible = Set(
            try String(
                contentsOf: folder.appendingPathComponent("event-hook-eligible-event-types.txt"), encoding: .utf8
            )
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
        for type in OktaLogEvent.subscribedEventTypes {
            #expect(eligible.contains(type), "\(type) is not eligible for event hooks")
        }
    }

    @Test func documentedSampleDeliveryDecodesAndApplies() throws {
        guard let folder = SharedOktaData.require("event-hooks", test: "documentedSampleDeliveryDecodesAndApplies")
        else {
            return
        }
        let data = try Data(contentsOf: folder.appendingPathComponent("delivery-user.session.start.json"))
        let delivery = try JSONCoding.decoder().decode(EventHookDelivery.self, from: data)
        #expect(delivery.eventType == EventHookDelivery.envelopeEventType)
        #expect(!delivery.events.isEmpty)
        for event in delivery.events {
            guard case .apply(let userId, let effect) = event.interpretation else {
                Issue.record("the sample's events apply to a user: \(event.interpretation)")
                continue
            }
            #expect(!userId.isEmpty)
            #expect(effect.lastLoginAt == event.published)
        }
        let single = try Data(contentsOf: folder.appendingPathComponent("logevent-user.lifecycle.deactivate.json"))
        let deactivate = try JSONCoding.decoder().decode(OktaLogEvent.self, from: single)
        if case .apply(_, let effect) = deactivate.interpretation {
            #expect(effect.refresh == [.user])
        } else {
            Issue.record("deactivate applies to its target user: \(deactivate.interpretation)")
        }
    }

    @Test func envelopeWithoutEventsFailsToDecode() {
        #expect(throws: DecodingError.self) {
            try decodeJSON(EventHookDelivery.self, #"{"eventType":"com.okta.event_hook","eventId":"x","data":{}}"#)
        }
        #expect(throws: DecodingError.self) {
            try decodeJSON(
                EventHookDelivery.self,
                #"{"eventType":"com.okta.event_hook","eventId":"x","data":{"events":[{"uuid":"u","eventType":"t"}]}}"#)
        }
    }

    @Test func slugsAreURLSafe() {
        #expect(ConnectorSlug.make(from: "Okta production") == "okta-production")
        #expect(ConnectorSlug.make(from: "  ACME / EU (staging) ") == "acme-eu-staging")
        #expect(ConnectorSlug.make(from: "Zoë's Org") == "zo-s-org")
        #expect(ConnectorSlug.make(from: "—") == "")
    }
}
