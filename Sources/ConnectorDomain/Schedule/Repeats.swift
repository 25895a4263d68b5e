/// How often the full reconcile runs: the connector's *Repeats* option (SPEC §7).
public enum Repeats: Sendable, Hashable, CustomStringConvertible {
    /// Every N minutes (N ≥ 5, less than a day), at wall-clock times congruent to the start time.
    case minutes(Int)
    /// Every N hours (`hourly` is 1), at wall-clock times congruent to the start time.
    case hours(Int)
    /// Every N days (`daily` is 1) at the start time; N > 1 counts days from 1970-01-01.
    case days(Int)
    /// Every N weeks (`weekly` is 1) on a weekday; N > 1 counts weeks from Monday 1970-01-05.
    case weeks(Int, on: Weekday)
    /// Once a month on a day of the month.
    case monthly(on: DayOfMonth)

    /// Parses `hourly`, `daily`, `weekly`, `monthly` or `every N minutes|hours|days|weeks`,
    /// with `on` naming the weekday (weekly) or day of month (monthly).
    /// - Parameters:
    ///   - text: The `repeats` value.
    ///   - on: The `on` value, if any.
    /// - Throws: ``ScheduleError`` naming the field at fault.
    public init(parsing text: String, on: String?) throws(ScheduleError) {
        let words = text.lowercased().split(separator: " ").map(String.init)
        func requireNoOn(_ kind: String) throws(ScheduleError) {
            if let on {
                throw ScheduleError(field: .on, value: on, reason: "`on` is only for weekly and monthly, not \(kind)")
            }
        }
        func weekday() throws(ScheduleError) -> Weekday {
            guard let on else {
                throw ScheduleError(
                    field: .on, value: "", reason: "weekly schedules need `on: <weekday>` (monday … sunday)")
            }
            guard let day = Weekday(parsing: on) else {
                throw ScheduleError(field: .on, value: on, reason: "expected a weekday, monday … sunday")
            }
            return day
        }
        switch words {
        case ["hourly"]:
            try requireNoOn("hourly")
            self = .hours(1)
        case ["daily"]:
            try requireNoOn("daily")
            self = .days(1)
        case ["weekly"]:
            self = .weeks(1, on: try weekday())
        case ["monthly"]:
            guard let on else {
                throw ScheduleError(field: .on, value: "", reason: "monthly schedules need `on: <1-28 or last>`")
            }
            guard let day = DayOfMonth(parsing: on) else {
                throw ScheduleError(field: .on, value: on, reason: "expected a day of month from 1 to 28, or `last`")
            }
            self = .monthly(on: day)
        case let parts where parts.count == 3 && parts[0] == "every":
            guard let count = Int(parts[1]), count >= 1 else {
                throw ScheduleError(
                    field: .repeats, value: text, reason: "N in `every N <unit>` must be a whole number ≥ 1")
            }
            switch parts[2] {
            case "minute", "minutes":
                try requireNoOn("minutes")
                guard count >= 5, count < 1440 else {
                    throw ScheduleError(
                        field: .repeats, value: text, reason: "every N minutes needs 5 ≤ N < 1440 (use hours or days)")
                }
                self = .minutes(count)
            case "hour", "hours":
                try requireNoOn("hours")
                guard count < 24 else {
                    throw ScheduleError(field: .repeats, value: text, reason: "every N hours needs N < 24 (use days)")
                }
                self = .hours(count)
            case "day", "days":
                try requireNoOn("days")
                guard count <= 366 else {
                    throw ScheduleError(field: .repeats, value: text, reason: "every N days needs N ≤ 366")
                }
                self = .days(count)
            case "week", "weeks":
                guard count <= 53 else {
                    throw ScheduleError(field: .repeats, value: text, reason: "every N weeks needs N ≤ 53")
                }
                self = .weeks(count, on: try weekday())
            default:
                throw ScheduleError(
                    field: .repeats, value: text, reason: "the unit must be minutes, hours, days or weeks")
            }
        default:
            throw ScheduleError(
                field: .repeats, value: text,
                reason: "expected hourly, daily, weekly, monthly or `every N minutes|hours|days|weeks`")
        }
    }

    public var description: String {
        switch self {
        case .minutes(let count): return "every \(count) minutes"
        case .hours(1): return "hourly"
        case .hours(let count): return "every \(count) hours"
        case .days(1): return "daily"
        case .days(let count): return "every \(count) days"
        case .weeks(1, let day): return "weekly on \(day)"
        case .weeks(let count, let day): return "every \(count) weeks on \(day)"
        case .monthly(let day): return "monthly on \(day)"
        }
    }
}

/// A day of the week, ISO numbered (Monday is 1).
public enum Weekday: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

    /// Parses a weekday name (`monday`, `Mon`, ...), case-insensitively.
    public init?(parsing text: String) {
        let lowered = text.lowercased()
        guard lowered.count >= 3, let day = Self.allCases.first(where: { $0.description.hasPrefix(lowered) }) else {
            return nil
        }
        self = day
    }

    public var description: String {
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][rawValue - 1]
    }
}

/// The day of a monthly run: 1 to 28 (every month has them) or the last day of the month.
public enum DayOfMonth: Sendable, Hashable, CustomStringConvertible {
    case day(Int)
    case last

    /// Parses `1` … `28` or `last`.
    public init?(parsing text: String) {
        if text.lowercased() == "last" {
            self = .last
        } else if let day = Int(text), (1...28).contains(day) {
            self = .day(day)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .day(let day): return "day \(day)"
        case .last: return "the last day"
        }
    }
}

/// A wall-clock time of day, `HH:MM`.
public struct TimeOfDay: Sendable, Hashable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    /// Creates a time of day.
    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    /// Parses `HH:MM` (24-hour clock).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, (1...2).contains(parts[0].count),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    /// Minutes since midnight.
    public var minutesOfDay: Int { hour * 60 + minute }

    public var description: String {
        (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }
}

/// A schedule field that could not be understood.
public struct ScheduleError: Error, Sendable, Hashable {
    /// The schedule keys, as the configuration file names them.
    public enum Field: String, Sendable {
        case repeats, on, startTime = "start_time", timeZone = "time_zone"
    }

    public var field: Field
    public var value: String
    public var reason: String

    /// Creates an error.
    public init(field: Field, value: String, reason: String) {
        self.field = field
        self.value = value
        self.reason = reason
    }
}
