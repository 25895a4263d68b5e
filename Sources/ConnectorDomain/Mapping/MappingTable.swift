import Foundation

/// One row of the mapping table operators download: which Okta source feeds which target attribute.
public struct MappingTableRow: Sendable, Hashable {
    public var target: String
    public var source: String
    public var notes: String

    /// Creates a row.
    public init(target: String, source: String, notes: String) {
        self.target = target
        self.source = source
        self.notes = notes
    }
}

extension UserMapper {
    /// The mapping table in the order SPEC §8 lists it, with this mapper's overrides applied.
    public var table: [MappingTableRow] {
        var rows: [MappingTableRow] = [
            MappingTableRow(
                target: "User.FullName", source: "profile.displayName",
                notes: "else profile.firstName + \" \" + profile.lastName")
        ]
        for (profile, target) in Self.profileTargets {
            rows.append(MappingTableRow(target: target, source: "profile.\(profile)", notes: ""))
        }
        rows += [
            MappingTableRow(
                target: "User.AccountStatus", source: "status",
                notes: "STAGED, PROVISIONED, ACTIVE, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED or DEPROVISIONED"
            ),
            MappingTableRow(
                target: "User.LastLogon", source: "lastLogin",
                notes: "moved forward by user.session.start and SSO events between reconciles"),
            MappingTableRow(target: "User.LastPasswordChange", source: "passwordChanged", notes: ""),
            MappingTableRow(target: "User.Created", source: "created", notes: ""),
            MappingTableRow(target: "User.LastUpdated", source: "lastUpdated", notes: ""),
            MappingTableRow(
                target: "User.AssignedApps", source: "appLinks / apps' users",
                notes:
                    "list of {AppName, AppLabel, AppInstanceId}, sorted by AppInstanceId; absent when apps enrichment is off"
            ),
            MappingTableRow(
                target: "User.Devices", source: "devices",
                notes:
                    "list of {Device.Name, Device.Type, OS.Name, OS.Version, Device.Manufacturer, Device.Model, Device.SerialNumber}; "
                    + "Device.Type is Mobile for IOS/ANDROID and Computer for MACOS/WINDOWS; absent when devices enrichment is off"
            ),
            MappingTableRow(
                target: "User.Groups", source: "users' groups / groups' users",
                notes:
                    "list of {GroupName, GroupId} of every group type but BUILT_IN (Everyone), sorted by GroupName then GroupId; "
                    + "absent when groups enrichment is off"
            ),
            MappingTableRow(target: "Application.Okta.UserId", source: "id", notes: "the record key"),
            MappingTableRow(
                target: "Application.Okta.Profile.<attr>", source: "profile.<attr>",
                notes: "every other profile attribute, custom attributes included, with its JSON type"),
        ]
        for target in overrides.keys.sorted() {
            let source = overrides[target]!.description
            if let index = rows.firstIndex(where: { $0.target == target }) {
                rows[index] = MappingTableRow(target: target, source: source, notes: "override (mapping.overrides)")
            } else {
                rows.append(MappingTableRow(target: target, source: source, notes: "override (mapping.overrides)"))
            }
        }
        return rows
    }

    /// The table as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when needed).
    public var tableCSV: String {
        var lines = ["target attribute,Okta source,notes"]
        for row in table {
            lines.append([row.target, row.source, row.notes].map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The table as a Markdown table.
    public var tableMarkdown: String {
        var lines = ["| target attribute | Okta source | notes |", "| --- | --- | --- |"]
        for row in table {
            lines.append(
                "| `\(row.target)` | `\(row.source)` | \(row.notes.replacingOccurrences(of: "|", with: "\\|")) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
