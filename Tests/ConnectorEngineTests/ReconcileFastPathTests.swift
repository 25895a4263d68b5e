import ConnectorConfiguration
import ConnectorDomain
import ConnectorEngine
import ConnectorStore
import ConnectorTestSupport
import Foundation
import Logging
import OktaClient
import OktaSimulator
import Testing

/// The unchanged reconcile's fast path (raw digests) against the full path: the same pages, the
/// same records, hashes, snapshots and outbox, byte for byte.
@Suite("Reconcile fast path: raw user digests (SPEC §6)", .timeLimit(.minutes(5)))
struct ReconcileFastPathTests {
    /// Profile values that stress a JSON reader: escapes, surrogate pairs, numbers of every kind,
    /// nested objects and arrays, nulls and empty strings.
    static let awkwardProfiles: [[String: JSONValue]] = [
        ["title": "Chief \"Quoted\" \\ Officer\n\t/slash", "nickName": "Zoë 日本 🚀", "costCenter": ""],
        ["employeeNumber": 42, "badge": -7, "zero": 0, "big": .integer(Int64.max), "small": .integer(Int64.min)],
        ["ratio": 0.25, "whole": 3.0, "tiny": 1e-9, "huge": 1.5e300, "negative": -0.5],
        ["flags": [true, false, nil, "x", 1, 2.5, ["nested": ["deep": [1, 2, 3]]]], "nothing": nil],
        ["address": ["street": "1 Main", "lines": ["a", "b"], "geo": ["lat": 1.25, "lon": -3]], "manager": nil],
        ["control": "bell\u{07} nul\u{01} del\u{7F} line\u{2028}sep", "emoji": "👩‍👩‍👧"],
    ]

    @Test func everyListedPageReadsExactlyAsTheDecoderReadsIt() async throws {
        try await withConnector(users: 450) { harness in
            let org = harness.simulator.org
            let active = org.allUsers().filter { $0.status == .active }
            for (index, profile) in Self.awkwardProfiles.enumerated() {
                _ = try org.updateProfile(id: active[index].id, changes: profile)
            }
            var users = 0
            var fastReads = 0
            for try await page in harness.client().listUserPages(statuses: harness.settings.userStatuses) {
                let decoded = try JSONCoding.decoder().decode([OktaUser].self, from: Data(page.bytes))
                let read = try page.decodeAll()
                #expect(read == decoded)
                for (index, user) in decoded.enumerated() {
                    users += 1
                    let raw = page.users[index]
                    #expect(raw.id == user.id)
                    #expect(raw.status == user.status)
                    #expect(raw.digest?.count == 32)
                    if page.readsDirectly(at: index) { fastReads += 1 }
                    let snapshot = UserSnapshot(user: user, apps: [], devices: [])
                    let record = harness.settings.mapper.record(for: snapshot)
                    let forms = record.canonicalForms
                    #expect(forms.json == record.canonicalAttributesJSON)
                    #expect(forms.hash == record.contentHash)
                    #expect(snapshot.encodedJSON == (try JSONCoding.string(snapshot)))
                }
            }
            #expect(users == harness.expectedHashes().count)
            // Only the awkward numbers (exponents, 64-bit extremes) need the decoder.
            #expect(fastReads >= users - 3, "the usual shape needs no decoder")
        }
    }

    @Test func digestsIgnoreLinksAndSeeEveryOtherByte() throws {
        let page = Array(
            """
            [{"id":"00u1","status":"ACTIVE","profile":{"a":1},"_links":{"self":{"href":"https://a.okta.com/x"}}},
             {"id":"00u1","status":"ACTIVE","profile":{"a":1},"_links":{"self":{"href":"https://b.okta.com/y"}}},
             {"id":"00u1","status":"ACTIVE","profile":{"a":2},"_links":{"self":{"href":"https://a.okta.com/x"}}},
             {"id":"00u1","status":"ACTIVE","profile":{"a":1}},
             {"id":"00u\\u0031","status":"ACTIVE"},
             {"id":"00u2","id":"00u3","status":"ACTIVE"}]
            """.utf8)
        let parsed = try OktaUserPage(parsing: page)
        #expect(parsed.users.count == 6)
        #expect(parsed.users[0].digest == parsed.users[1].digest, "links differ only")
        #expect(parsed.users[0].digest != parsed.users[2].digest, "a profile value differs")
        #expect(parsed.users[0].digest != parsed.users[3].digest, "no links at all")
        #expect(parsed.users[4].digest == nil && parsed.users[4].id == nil, "an escaped id goes to the decoder")
        #expect(parsed.users[5].digest == nil, "a key given twice goes to the decoder")
        #expect(try parsed.decodeUser(at: 4).id == "00u1")
        for malformed in ["{}", "[{\"id\":\"a\"", "[1]", "[{\"id\":\"a\",}]", "[{}] x"] {
            #expect(throws: OktaUserPage.Malformed.self) { try OktaUserPage(parsing: Array(malformed.utf8)) }
        }
        // An id that is not valid UTF-8 is never read with replacement characters: the object goes to
        // the decoder, which refuses it.
        var invalid = Array(#"[{"id":"00u"#.utf8) + [0xC3, 0x28] + Array(#"","status":"ACTIVE"}]"#.utf8)
        let invalidPage = try OktaUserPage(parsing: invalid)
        #expect(invalidPage.users[0].id == nil && invalidPage.users[0].digest == nil)
        #expect(throws: (any Error).self) { try invalidPage.decodeUser(at: 0) }
        invalid = Array(#"[{"id":"00u1","status":"ACT"#.utf8) + [0xFF] + Array(#""}]"#.utf8)
        #expect(try OktaUserPage(parsing: invalid).users[0].status == nil)
        // Not JSON, so not a page: numbers and escapes are checked as JSON writes them.
        for bad in [
            #"[{"id":"a","n":1-2}]"#, #"[{"id":"a","n":01}]"#, #"[{"id":"a","n":1.}]"#, #"[{"id":"a","n":1e}]"#,
            #"[{"id":"a","n":-}]"#, #"[{"id":"a","s":"\x"}]"#, #"[{"id":"a","s":"\u12G4"}]"#,
        ] {
            #expect(throws: OktaUserPage.Malformed.self, "\(bad)") { try OktaUserPage(parsing: Array(bad.utf8)) }
        }
        #expect(
            try OktaUserPage(parsing: Array(#"[{"id":"a","status":"ACTIVE","n":-0.5e+3,"s":"\u00e9\n"}]"#.utf8)).users
                .count == 1)

        // Numbers as the decoder types them, whichever reads them.
        let numbers = [
            "0", "-0", "7", "-12", "3.0", "-3.00", "0.5", "-0.25", "1e2", "2.5E-3", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "123456789012345678.0",
            "0.1000000000000000055511151231257827", "92233720368547758.7", "123456789012345.0000001",
            "-4503599627370497.5",
        ]
        let profile = numbers.enumerated().map { "\"n\($0.offset)\":\($0.element)" }.joined(separator: ",")
        let numeric = try OktaUserPage(
            parsing: Array(#"[{"id":"00u9","status":"ACTIVE","profile":{\#(profile)}}]"#.utf8))
        let expected = try JSONCoding.decoder().decode([OktaUser].self, from: Data(numeric.bytes))
        #expect(try numeric.decodeAll() == expected)
        #expect(try numeric.decodeAll().first?.profile["n4"] == .integer(3))
        // Each number alone, so that the direct reader, not the decoder, reads those it takes.
        let direct: Set = ["0", "-0", "7", "-12", "3.0", "-3.00", "0.5", "-0.25", "9223372036854775807"]
        for number in numbers {
            let single = try OktaUserPage(
                parsing: Array(#"[{"id":"00u9","status":"ACTIVE","profile":{"n":\#(number)}}]"#.utf8))
            let expected = try JSONCoding.decoder().decode([OktaUser].self, from: Data(single.bytes))
            #expect(try single.decodeAll() == expected, "\(number)")
            if direct.contains(number) { #expect(single.readsDirectly(at: 0), "\(number) is read directly") }
        }
        // A user the direct reader refuses is decoded with the decoder's own error.
        let bad = try OktaUserPage(parsing: Array(#"[{"id":"00u1","status":"ACTIVE","created":"yesterday"}]"#.utf8))
        #expect(throws: DecodingError.self) { try bad.decodeUser(at: 0) }
    }

    @Test(arguments: StoreBackend.available, [EnrichSettings.Plan.bulk, .perUser])
    func theFastPathStoresAndQueuesExactlyWhatTheFullPathDoes(_ backend: StoreBackend, _ plan: EnrichSettings.Plan)
        async throws
    {
        try await withConnector(users: 240, plan: plan, backend: backend) { harness in
            let fullStore = try await backend.makeStore()
            let full = fullStore.store
            func reconcile(_ store: any StateStore, compareEveryUser: Bool, logs: CapturedLogs? = nil)
                async throws -> RunRecord
            {
                try await Reconciler(
                    connector: harness.settings, client: harness.client(), store: store, clock: harness.clock,
                    logger: logs?.logger(level: .info) ?? quietLogger
                ).run(ReconcileOptions(trigger: .manual, compareEveryUser: compareEveryUser))
            }
            let firstFast = try await reconcile(harness.store, compareEveryUser: false)
            let firstFull = try await reconcile(full, compareEveryUser: true)
            #expect(firstFast.counts == firstFull.counts)

            // Changes of every kind, some of them invisible to the record (a login moves lastLogin only
            // for the record; a profile value the mapping keeps as it is).
            let org = harness.simulator.org
            let before = harness.expectedHashes()
            let active = org.allUsers().filter { $0.status == .active }
            for (index, profile) in Self.awkwardProfiles.enumerated() {
                _ = try org.updateProfile(id: active[index].id, changes: profile)
            }
            try org.assignApp(userId: active[10].id, appIndex: (active[10].directApps.first.map { ($0 + 1) % 24 }) ?? 3)
            try org.addDevice(userId: active[11].id, platform: "MACOS", displayName: "New Mac", osVersion: "15.1")
            _ = try org.apply(.suspend, to: active[12].id)
            try org.recordLogin(userId: active[13].id)

            let logs = CapturedLogs()
            let secondFast = try await reconcile(harness.store, compareEveryUser: false, logs: logs)
            let secondFull = try await reconcile(full, compareEveryUser: true)
            #expect(secondFast.outcome == .succeeded, "\(secondFast.errors)")
            #expect(secondFast.counts == secondFull.counts)
            let after = harness.expectedHashes()
            #expect(secondFast.counts.updated == after.filter { before[$0.key] != $0.value }.count)
            #expect(secondFast.counts.updated >= Self.awkwardProfiles.count + 3)
            let skipped = secondFast.counts.unchanged
            #expect(skipped > 200)
            #expect(
                logs.contains("unchanged_by_digest=\(skipped)"),
                "every unchanged user took the fast path: \(logs.all.filter { $0.contains("finished") })")

            // Byte for byte: every user row and every queued change.
            let slug = harness.settings.slug
            let fastUsers = try await everyUser(harness.store, slug)
            let fullUsers = try await everyUser(full, slug)
            #expect(fastUsers.count == fullUsers.count)
            for (fast, slow) in zip(fastUsers, fullUsers) {
                #expect(fast.userId == slow.userId)
                #expect(fast.recordJSON == slow.recordJSON, "\(fast.userId)")
                #expect(fast.recordHash == slow.recordHash, "\(fast.userId)")
                #expect(fast.snapshot == slow.snapshot, "\(fast.userId)")
                #expect(fast.version == slow.version && fast.status == slow.status && fast.isPresent == slow.isPresent)
            }
            let fastQueue = try await harness.store.pendingOutbox(connector: slug, limit: 10_000)
            let fullQueue = try await full.pendingOutbox(connector: slug, limit: 10_000)
            #expect(fastQueue.map(\.userId) == fullQueue.map(\.userId))
            #expect(fastQueue.map(\.recordJSON) == fullQueue.map(\.recordJSON))
            #expect(fastQueue.map(\.version) == fullQueue.map(\.version))
            #expect(try await harness.storedHashes() == harness.expectedHashes())
        }
    }

    @Test(arguments: StoreBackend.available)
    func aUserChangedByAnEventAfterItsDigestWasStoredTakesTheFullPath(_ backend: StoreBackend) async throws {
        try await withConnector(users: 60, backend: backend) { harness in
            _ = try await harness.reconcile()
            let slug = harness.settings.slug
            let user = try #require(harness.simulator.org.allUsers().first { $0.status == .active })
            // An event applier's write (no digest) replaces the reconcile's read of the user.
            let stored = try #require(try await harness.store.user(connector: slug, id: user.id))
            var snapshot = stored.snapshot
            snapshot.user.profile["title"] = "Changed by an event"
            _ = try await harness.store.commit(
                UserWriteBatch(
                    connector: slug,
                    changes: [.upsert(snapshot: snapshot, record: harness.settings.mapper.record(for: snapshot))],
                    at: Timestamp(Date())))
            #expect(try await harness.store.rawDigests(connector: slug, userIds: [user.id]).isEmpty)
            let run = try await harness.reconcile()
            #expect(run.counts.updated == 1, "the listing puts back what Okta has")
            #expect(try await harness.storedHashes() == harness.expectedHashes())
            #expect(try await harness.store.rawDigests(connector: slug, userIds: [user.id]).count == 1)
        }
    }

    @Test func pageIdsAreReadWithoutDecodingAndLeaveAnythingUnusualToTheDecoder() throws {
        let page = #"[{"id":"0ua1","scope":"USER","profile":{"id":"not-this-one"}},{"status":"ACTIVE","id":"0ua2"}]"#
        #expect(try OktaPageIds.read(Array(page.utf8)) == ["0ua1", "0ua2"])
        #expect(try OktaPageIds.read(Array("[]".utf8)) == [])
        for unusual in [
            #"[{"id":"0ua1"},{"scope":"USER"}]"#, #"[{"id":"0u\u0061"}]"#, #"[{"id":"a","id":"b"}]"#, #"[{"id":7}]"#,
            #"[{"i\u0064":"a"}]"#,
        ] {
            #expect(try OktaPageIds.read(Array(unusual.utf8)) == nil, "\(unusual)")
        }
        for malformed in ["{}", "[1]", #"[{"id":"a"}"#, #"[{"id":"a"}] x"#, #"[{"id":"a","n":1-2}]"#] {
            #expect(throws: OktaUserPage.Malformed.self) { try OktaPageIds.read(Array(malformed.utf8)) }
        }
    }

    func everyUser(_ store: any StateStore, _ connector: String) async throws -> [StoredUser] {
        var users: [StoredUser] = []
        var after: String?
        while true {
            let page = try await store.presentUsers(connector: connector, after: after, limit: 1000)
            users += page
            guard let last = page.last else { return users }
            after = last.userId
        }
    }
}
