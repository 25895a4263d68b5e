import ConnectorStore
import Foundation

/// Where the PostgreSQL store is: parsed from `postgres://user[:password]@host[:port]/database?sslmode=…`
/// (`postgresql://` too). The password may also come from elsewhere (`password_file`, `${ENV}`);
/// it never appears in ``description`` or an error.
public struct PostgreSQLLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is secured (libpq's names).
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP (a database on the same host or a private network).
        case disable
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, the certificate checked against the system roots or `ca_file`, and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of the CA that signed the server's certificate (for `verify-full`).
    public var caFile: String?

    /// Creates a location.
    public init(
        host: String, port: Int = 5432, user: String, password: String?, database: String,
        sslMode: SSLMode = .verifyFull, caFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.caFile = caFile
    }

    /// Parses a URL.
    /// - Throws: ``StoreError/cannotOpen(location:reason:)`` naming what is wrong (never the password).
    public init(url: String) throws {
        func fail(_ reason: String) -> StoreError {
            .cannotOpen(location: Self.redacted(url), reason: reason)
        }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"),
            let components = URLComponents(string: url)
        else {
            throw fail("expected postgres://user@host:5432/database?sslmode=verify-full")
        }
        guard let host = components.host, !host.isEmpty else { throw fail("the URL has no host") }
        guard let user = components.user, !user.isEmpty else { throw fail("the URL has no user name") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw fail("the URL names no database (…/NAME)") }
        var sslMode = SSLMode.verifyFull
        var caFile: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = SSLMode(rawValue: value) else {
                    throw fail(
                        "sslmode \(item.value ?? "") is not supported; use "
                            + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                sslMode = mode
            case "sslrootcert":
                caFile = item.value
            default:
                throw fail("unknown URL parameter \(item.name); expected sslmode or sslrootcert")
            }
        }
        guard let port = components.port ?? Optional(5432), (1...65535).contains(port) else {
            throw fail("the port must be from 1 to 65535")
        }
        self.init(
            host: host, port: port, user: user, password: components.password?.removingPercentEncoding,
            database: database, sslMode: sslMode, caFile: caFile)
    }

    /// The URL with the password replaced, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "<redacted>"
        return components.string ?? "postgres://…"
    }

    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" }
}
