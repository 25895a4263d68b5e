public import Foundation

/// When a connector's full reconcile runs: *Repeats* and *Start time* in a time zone (SPEC §7).
///
/// Runs happen at wall-clock times. A daily (or longer) run whose time does not exist on a
/// daylight-saving day moves forward by the gap, and one whose time happens twice runs at the first;
/// so DST neither skips nor doubles it. Sub-daily schedules run at every instant whose wall-clock
/// time is one of their slots.
public struct Schedule: Sendable, Hashable, CustomStringConvertible {
    public var repeats: Repeats
    public var startTime: TimeOfDay
    public var timeZone: TimeZone

    /// Creates a schedule.
    public init(repeats: Repeats, startTime: TimeOfDay, timeZone: TimeZone) {
        self.repeats = repeats
        self.startTime = startTime
        self.timeZone = timeZone
    }

    /// Parses the three schedule keys.
    /// - Parameters:
    ///   - repeats: `hourly`, `daily`, `weekly`, `monthly` or `every N <unit>`.
    ///   - on: The weekday or day of month, for weekly and monthly.
    ///   - startTime: `HH:MM`.
    ///   - timeZone: An IANA time zone name; `nil` means UTC.
    /// - Throws: ``ScheduleError`` naming the field at fault.
    public init(repeats: String, on: String?, startTime: String, timeZone: String?) throws(ScheduleError) {
        let parsedRepeats = try Repeats(parsing: repeats, on: on)
        guard let time = TimeOfDay(parsing: startTime) else {
            throw ScheduleError(field: .startTime, value: startTime, reason: "expected HH:MM on a 24-hour clock")
        }
        let zoneName = timeZone ?? "UTC"
        guard Self.isKnownTimeZone(zoneName), let zone = TimeZone(identifier: zoneName) else {
            throw ScheduleError(
                field: .timeZone, value: zoneName, reason: "not an IANA time zone name (e.g. Europe/Berlin, UTC)")
        }
        self.init(repeats: parsedRepeats, startTime: time, timeZone: zone)
    }

    static func isKnownTimeZone(_ name: String) -> Bool {
        name == "UTC" || name == "GMT" || TimeZone.knownTimeZoneIdentifiers.contains(name)
    }

    public var description: String {
        "\(repeats) at \(startTime) \(timeZone.identifier)"
    }

    /// When the next run is due, given when the last scheduled run was due and the time now.
    ///
    /// No run yet means an initial run now; a due time missed while the process was down means one
    /// catch-up run now (never a pile of them); otherwise the next due time. Manual runs are not
    /// passed here, so they do not move the schedule.
    /// - Parameters:
    ///   - lastDue: The due time of the last scheduled run (or its start), `nil` when none succeeded yet.
    ///   - now: The time now.
    /// - Returns: The instant the next run is due; `now` when it is due at once.
    public func nextRun(lastDue: Date?, now: Date) -> Date {
        guard let lastDue else { return now }
        let due = occurrence(after: lastDue)
        return due <= now ? now : due
    }

    /// The next `count` due times after an instant.
    public func occurrences(after instant: Date, count: Int) -> [Date] {
        var result: [Date] = []
        var cursor = instant
        for _ in 0..<count {
            cursor = occurrence(after: cursor)
            result.append(cursor)
        }
        return result
    }

    /// The first due time strictly after an instant.
    /// - Parameter instant: The instant to search from.
    /// - Returns: The next due time.
    public func occurrence(after instant: Date) -> Date {
        let after = Int64((instant.timeIntervalSince1970).rounded(.down))
        let localSeconds = after + Int64(timeZone.secondsFromGMT(for: instant))
        let firstDay = Int(localSeconds.floorDivided(by: 86_400).quotient) - 1
        var day = firstDay
        // Long enough for every N weeks and for monthly; the loop returns long before.
        let lastDay = firstDay + 7 * 54 + 62
        var best: Int64?
        var firstFoundOn: Int?
        while day <= lastDay {
            let date = CivilDate(daysSinceEpoch: day)
            if isScheduled(date) {
                for slot in slots() {
                    for candidate in instants(of: date, minutesOfDay: slot) where candidate > after {
                        if best == nil || candidate < best! { best = candidate }
                    }
                }
            }
            if best != nil, firstFoundOn == nil { firstFoundOn = day }
            // One more local day is looked at: across a DST change, a slot of the next day can move
            // before one of this day.
            if let firstFoundOn, day >= firstFoundOn + 1 { break }
            day += 1
        }
        return Date(timeIntervalSince1970: Double(best ?? after + 86_400))
    }

    /// Whether a run happens on a local date.
    func isScheduled(_ date: CivilDate) -> Bool {
        switch repeats {
        case .minutes, .hours: return true
        case .days(let count): return count == 1 || date.daysSinceEpoch.modulo(count) == 0
        case .weeks(let count, let weekday):
            guard date.isoWeekday == weekday.rawValue else { return false }
            // Weeks counted from Monday 1970-01-05 (day 4 after the epoch).
            return count == 1 || ((date.daysSinceEpoch - 4).floorDiv(7)).modulo(count) == 0
        case .monthly(.day(let day)): return date.day == day
        case .monthly(.last): return date.day == CivilDate.daysInMonth(year: date.year, month: date.month)
        }
    }

    /// The wall-clock minutes of day at which runs happen on a scheduled day.
    func slots() -> [Int] {
        let step: Int
        switch repeats {
        case .minutes(let count): step = count
        case .hours(let count): step = count * 60
        default: return [startTime.minutesOfDay]
        }
        var slots: [Int] = []
        var minute = startTime.minutesOfDay.modulo(step)
        while minute < 1440 {
            slots.append(minute)
            minute += step
        }
        return slots
    }

    /// The instants (Unix seconds) at which a wall-clock time happens on a local date.
    ///
    /// Usually one; none in a spring-forward gap, where the time is moved forward by the gap; two in
    /// an autumn fold, where daily and longer schedules take only the first.
    func instants(of date: CivilDate, minutesOfDay: Int) -> [Int64] {
        let local = Int64(date.daysSinceEpoch) * 86_400 + Int64(minutesOfDay) * 60
        let offsetBefore = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - 86_400))))
        let offsetAfter = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local + 86_400))))
        var found: [Int64] = []
        for offset in [offsetBefore, offsetAfter] {
            let candidate = local - offset
            let actual = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(candidate))))
            if candidate + actual == local, !found.contains(candidate) { found.append(candidate) }
        }
        found.sort()
        if found.isEmpty {
            // In the gap: read the wall time with the offset in force before it, which lands just after.
            return [local - offsetBefore]
        }
        switch repeats {
        case .minutes, .hours: return found
        default: return [found[0]]
        }
    }
}

extension Int {
    func modulo(_ divisor: Int) -> Int { ((self % divisor) + divisor) % divisor }
    func floorDiv(_ divisor: Int) -> Int { (self - modulo(divisor)) / divisor }
}
