import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Query parameters as Okta's clients send them: `+` or `%20` for spaces, percent-encoding.
struct QueryItems {
    private(set) var values: [String: String] = [:]

    init(_ query: String?) {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            values[name] = value
        }
    }

    subscript(name: String) -> String? { values[name] }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

}

extension HTTPField.Name {
    static let xRateLimitLimit = HTTPField.Name("X-Rate-Limit-Limit")!
    static let xRateLimitRemaining = HTTPField.Name("X-Rate-Limit-Remaining")!
    static let xRateLimitReset = HTTPField.Name("X-Rate-Limit-Reset")!
    static let xOktaRequestId = HTTPField.Name("X-Okta-Request-Id")!
    static let xOktaRetryFor = HTTPField.Name("X-Okta-Retry-For")!
    static let xOktaRetryCount = HTTPField.Name("X-Okta-Retry-Count")!
    static let link = HTTPField.Name("Link")!
    static let oktaVerificationChallenge = HTTPField.Name("x-okta-verification-challenge")!
}

/// JSON responses.
enum JSONResponse {
    static func make(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func encode(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return make(Array(data), status: status)
    }

    /// An Okta error response (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`).
    static func oktaError(
        _ status: HTTPResponse.Status, code: String, summary: String, causes: [String] = [], headers: HTTPFields = [:]
    ) -> Response {
        let errorId = "oae" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(22))
        return make(
            OktaRepresentations.error(code: code, summary: summary, id: errorId, causes: causes), status: status,
            headers: headers)
    }

    static func notFound(_ what: String, kind: String) -> Response {
        oktaError(.notFound, code: "E0000007", summary: "Not found: Resource not found: \(what) (\(kind))")
    }

    static func invalid(_ reason: String) -> Response {
        oktaError(.badRequest, code: "E0000001", summary: "Api validation failed: \(reason)", causes: [reason])
    }
}

extension Request {
    /// The whole body, up to a limit.
    func bodyBytes(limit: Int = 1 << 20) async throws -> [UInt8] {
        var copy = self
        let buffer = try await copy.collectBody(upTo: limit)
        return Array(buffer.readableBytesView)
    }
}
