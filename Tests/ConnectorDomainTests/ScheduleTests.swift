import ConnectorDomain
import ConnectorTestSupport
import Foundation
import Testing

/// Expected instants were computed independently with Python's `zoneinfo`.
@Suite("Schedule: Repeats and Start time (SPEC §7)")
struct ScheduleTests {
    func schedule(_ repeats: String, on: String? = nil, at time: String, in zone: String = "UTC") throws -> Schedule {
        try Schedule(repeats: repeats, on: on, startTime: time, timeZone: zone)
    }

    func next(_ schedule: Schedule, after: String, count: Int) -> [String] {
        schedule.occurrences(after: utc(after), count: count).map { Timestamp($0).iso8601 }
    }

    @Test func dailyAcrossSpringForwardInBerlinNeitherSkipsNorDoubles() throws {
        let daily = try schedule("daily", at: "02:00", in: "Europe/Berlin")
        // 02:00 does not exist on 2026-03-29: the run moves forward by the gap, to 03:00 CEST.
        #expect(
            next(daily, after: "2026-03-27T12:00:00Z", count: 3) == [
                "2026-03-28T01:00:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:00:00.000Z",
            ])
    }

    @Test func dailyAcrossFallBackInBerlinRunsOnceAtTheFirstOccurrence() throws {
        let daily = try schedule("daily", at: "02:30", in: "Europe/Berlin")
        #expect(
            next(daily, after: "2026-10-23T12:00:00Z", count: 3) == [
                "2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z",
            ])
    }

    @Test func dailyAcrossBothTransitionsInNewYork() throws {
        let spring = try schedule("daily", at: "02:30", in: "America/New_York")
        #expect(
            next(spring, after: "2026-03-06T12:00:00Z", count: 3) == [
                "2026-03-07T07:30:00.000Z", "2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z",
            ])
        let autumn = try schedule("daily", at: "01:30", in: "America/New_York")
        #expect(
            next(autumn, after: "2026-10-30T12:00:00Z", count: 3) == [
                "2026-10-31T05:30:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z",
            ])
    }

    @Test func everySixHoursFromTwoGivesFourWallClockTimes() throws {
        let sixHourly = try schedule("every 6 hours", at: "02:00", in: "UTC")
        #expect(
            next(sixHourly, after: "2026-01-01T00:00:00Z", count: 5) == [
                "2026-01-01T02:00:00.000Z", "2026-01-01T08:00:00.000Z", "2026-01-01T14:00:00.000Z",
                "2026-01-01T20:00:00.000Z", "2026-01-02T02:00:00.000Z",
            ])
    }

    @Test func everySixHoursKeepsWallClockTimesAcrossDST() throws {
        let sixHourly = try schedule("every 6 hours", at: "02:00", in: "Europe/Berlin")
        // 02:00 CET on 03-29 is in the gap (moved to 03:00 CEST = 01:00Z); then 08:00 CEST = 06:00Z.
        #expect(
            next(sixHourly, after: "2026-03-28T20:00:00Z", count: 3) == [
                "2026-03-29T01:00:00.000Z", "2026-03-29T06:00:00.000Z", "2026-03-29T12:00:00.000Z",
            ])
    }

    @Test func everyFifteenMinutesIsAnchoredToTheStartMinute() throws {
        let quarterly = try schedule("every 15 minutes", at: "00:05")
        #expect(
            next(quarterly, after: "2026-05-05T10:06:00Z", count: 4) == [
                "2026-05-05T10:20:00.000Z", "2026-05-05T10:35:00.000Z", "2026-05-05T10:50:00.000Z",
                "2026-05-05T11:05:00.000Z",
            ])
    }

    @Test func everyNinetyMinutesWrapsAtMidnight() throws {
        let schedule = try schedule("every 90 minutes", at: "00:00")
        #expect(
            next(schedule, after: "2026-05-05T21:00:00Z", count: 3) == [
                "2026-05-05T22:30:00.000Z", "2026-05-06T00:00:00.000Z", "2026-05-06T01:30:00.000Z",
            ])
    }

    @Test func hourlyRunsInBothHoursOfAFoldAndOnceInAGap() throws {
        let hourly = try schedule("hourly", at: "00:30", in: "Europe/Berlin")
        #expect(
            next(hourly, after: "2026-10-24T23:45:00Z", count: 3) == [
                "2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z", "2026-10-25T02:30:00.000Z",
            ])
        #expect(
            next(hourly, after: "2026-03-29T00:15:00Z", count: 3) == [
                "2026-03-29T00:30:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-29T02:30:00.000Z",
            ])
    }

    @Test func weeklyRunsOnItsWeekday() throws {
        let weekly = try schedule("weekly", on: "monday", at: "09:00")
        #expect(
            next(weekly, after: "2026-11-25T12:00:00Z", count: 2) == [
                "2026-11-30T09:00:00.000Z", "2026-12-07T09:00:00.000Z",
            ])
    }

    @Test func everyTwoWeeksSkipsAWeek() throws {
        let biweekly = try schedule("every 2 weeks", on: "fri", at: "22:00", in: "Europe/Berlin")
        let runs = biweekly.occurrences(after: utc("2026-01-01T00:00:00Z"), count: 6)
        for (earlier, later) in zip(runs, runs.dropFirst()) {
            let days = later.timeIntervalSince(earlier) / 86_400
            #expect(abs(days - 14) < 0.05, "14 days apart (±1 h of DST)")
        }
        #expect(next(biweekly, after: "2026-01-01T00:00:00Z", count: 1) == ["2026-01-09T21:00:00.000Z"])
    }

    @Test func monthlyOnTheLastDayHandlesMonthEndsAndLeapYears() throws {
        let monthly = try schedule("monthly", on: "last", at: "23:00")
        #expect(
            next(monthly, after: "2028-01-31T23:30:00Z", count: 4) == [
                "2028-02-29T23:00:00.000Z", "2028-03-31T23:00:00.000Z", "2028-04-30T23:00:00.000Z",
                "2028-05-31T23:00:00.000Z",
            ])
    }

    @Test func monthlyOnADayOfMonth() throws {
        let monthly = try schedule("monthly", on: "28", at: "02:00")
        #expect(
            next(monthly, after: "2026-02-28T03:00:00Z", count: 2) == [
                "2026-03-28T02:00:00.000Z", "2026-04-28T02:00:00.000Z",
            ])
    }

    @Test func everyThreeDaysIsThreeDaysApart() throws {
        let schedule = try schedule("every 3 days", at: "04:00", in: "America/New_York")
        let runs = schedule.occurrences(after: utc("2026-10-20T00:00:00Z"), count: 5)
        for (earlier, later) in zip(runs, runs.dropFirst()) {
            let hours = later.timeIntervalSince(earlier) / 3600
            #expect(hours == 72 || hours == 73, "three days apart, one hour more across the fall-back")
        }
    }

    @Test func firstStartRunsAtOnce() throws {
        let daily = try schedule("daily", at: "02:00")
        let now = utc("2026-06-01T10:00:00Z")
        #expect(daily.nextRun(lastDue: nil, now: now) == now)
    }

    @Test func missedRunsCatchUpOnceAtOnce() throws {
        let daily = try schedule("daily", at: "02:00")
        let now = utc("2026-06-10T10:00:00Z")
        // Down for a week: one run now, not seven.
        #expect(daily.nextRun(lastDue: utc("2026-06-03T02:00:00Z"), now: now) == now)
        // After that catch-up, back on the wall clock.
        #expect(daily.nextRun(lastDue: now, now: now.addingTimeInterval(1)) == utc("2026-06-11T02:00:00Z"))
    }

    @Test func aRunThatHappenedWaitsForTheNextDueTime() throws {
        let daily = try schedule("daily", at: "02:00")
        #expect(
            daily.nextRun(lastDue: utc("2026-06-10T02:00:00Z"), now: utc("2026-06-10T10:00:00Z"))
                == utc("2026-06-11T02:00:00Z"))
    }

    @Test(arguments: [
        ("every 3 minutes", nil as String?, "02:00", "UTC", ScheduleError.Field.repeats),
        ("fortnightly", nil, "02:00", "UTC", .repeats),
        ("every 0 hours", nil, "02:00", "UTC", .repeats),
        ("every 24 hours", nil, "02:00", "UTC", .repeats),
        ("every 2 fortnights", nil, "02:00", "UTC", .repeats),
        ("weekly", nil, "02:00", "UTC", .on),
        ("weekly", "someday", "02:00", "UTC", .on),
        ("monthly", "31", "02:00", "UTC", .on),
        ("monthly", nil, "02:00", "UTC", .on),
        ("daily", "monday", "02:00", "UTC", .on),
        ("daily", nil, "25:00", "UTC", .startTime),
        ("daily", nil, "2am", "UTC", .startTime),
        ("daily", nil, "02:00", "Mars/Olympus_Mons", .timeZone),
    ])
    func badScheduleValuesAreRejectedNamingTheField(
        _ repeats: String, _ on: String?, _ time: String, _ zone: String, _ field: ScheduleError.Field
    ) {
        #expect {
            try Schedule(repeats: repeats, on: on, startTime: time, timeZone: zone)
        } throws: { error in
            (error as? ScheduleError)?.field == field
        }
    }
}
