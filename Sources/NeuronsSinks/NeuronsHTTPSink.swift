public import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
import NIOCore
import NIOHTTP1

/// The Neurons ingestion endpoint (SPEC §9): OAuth 2.0 client credentials (token cached until shortly
/// before it expires, fetched again once on `401`), each batch `POST`ed as JSON with an
/// `Idempotency-Key`. `408`, `429`, `5xx` and transport errors are retryable (with `Retry-After`,
/// clamped by ``HeaderValues``); `401` after a fresh token, `403` and a token endpoint refusing the
/// client are ``SinkError/credentialsRejected(reason:)`` (the records stay queued); other `4xx` are
/// permanent.
public actor NeuronsHTTPSink: RecordSink {
    let endpoint: URL
    let tokenURL: URL
    let clientId: String
    let clientSecret: Secret
    let scope: String?
    let httpClient: HTTPClient
    let clock: any WallClock
    private var token: (value: String, expires: Date)?
    /// Tokens fetched so far (tests check the cache).
    public private(set) var tokensFetched = 0

    /// Creates the sink.
    public init(
        endpoint: URL, tokenURL: URL, clientId: String, clientSecret: Secret, scope: String?, httpClient: HTTPClient,
        clock: any WallClock
    ) {
        self.endpoint = endpoint
        self.tokenURL = tokenURL
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.scope = scope
        self.httpClient = httpClient
        self.clock = clock
    }

    public func deliver(_ batch: SinkBatch) async throws(SinkError) {
        var body =
            "{\"connector\":" + CanonicalJSON.string(.string(batch.connector)) + ",\"dataType\":\"users\",\"batchId\":"
            + CanonicalJSON.string(.string(batch.batchId)) + ",\"records\":["
        body += batch.records.map(\.json).joined(separator: ",") + "]}"
        var refreshed = false
        while true {
            let accessToken = try await currentToken()
            var request = HTTPClientRequest(url: endpoint.absoluteString)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Idempotency-Key", value: batch.batchId)
            request.body = .bytes(ByteBuffer(string: body))
            let status: Int
            let retryAfter: HeaderValues.Clamped<TimeInterval>?
            let text: String
            let location: String?
            do {
                let response = try await httpClient.execute(request, timeout: .seconds(60))
                location = response.headers.first(name: "Location").map { String($0.prefix(200)) }
                let collected = try await response.body.collect(upTo: 1 << 20)
                status = Int(response.status.code)
                retryAfter = HeaderValues.retryAfter(
                    response.headers.first(name: "Retry-After"), now: clock.now,
                    responseDate: response.headers.first(name: "Date").flatMap(HTTPDate.parse))
                text = String(buffer: collected)
            } catch {
                throw .retryable(reason: "\(error)", retryAfter: nil)
            }
            switch status {
            case 200..<300: return
            case 401 where !refreshed:
                // The token may have been revoked early: fetch a new one, once.
                token = nil
                refreshed = true
            case 401, 403:
                // A fresh token refused, or not allowed to write: the configuration is wrong, not the records.
                throw .credentialsRejected(reason: Self.credentialsHint("the ingestion endpoint answered \(status)"))
            case 300..<400:
                // Redirects are not followed (a 307/308 would re-send the batch and its token
                // elsewhere): the endpoint is misconfigured, not the records; they stay queued.
                throw .retryable(
                    reason: "HTTP \(status): the ingestion endpoint redirects"
                        + (location.map { " to \($0)" } ?? "")
                        + "; redirects are not followed, set sink.endpoint to the final https URL",
                    retryAfter: SinkError.credentialsRetryInterval)
            case 408, 429, 500..<600:
                var reason = "HTTP \(status) \(text.prefix(200))"
                if let retryAfter, retryAfter.wasClamped {
                    reason += " (Retry-After out of bounds, clamped to \(Int64(saturating: retryAfter.value)) s)"
                }
                throw .retryable(reason: reason, retryAfter: retryAfter?.value)
            default:
                throw .permanent(reason: "HTTP \(status) \(text.prefix(500))")
            }
        }
    }

    /// The operator's next step when the sink refuses the credentials.
    static func credentialsHint(_ what: String) -> String {
        "\(what): the sink rejects the connector's credentials; check sink.client_id, sink.client_secret and sink.token_url (and the app registration's scope)"
    }

    /// Fetches a token, as `check-config --online` does: proves the endpoint and credentials work.
    public func checkToken() async throws(SinkError) {
        token = nil
        _ = try await currentToken()
    }

    struct TokenAnswer: Decodable {
        let access_token: String
        /// Any number (decoded as `Double` so that a huge or fractional value is not a decoding
        /// error); clamped by ``HeaderValues/tokenLifetime(_:)``.
        let expires_in: Double?
    }

    struct TokenError: Decodable {
        let error: String?
    }

    private func currentToken() async throws(SinkError) -> String {
        if let token, token.expires.timeIntervalSince(clock.now) > 60 { return token.value }
        var fields = [
            ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", clientSecret.reveal()),
        ]
        if let scope { fields.append(("scope", scope)) }
        let form = URLFormEncoding.form(fields)
        var request = HTTPClientRequest(url: tokenURL.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            let status = Int(response.status.code)
            guard status == 200 else {
                if status == 408 || status == 429 || status >= 500 {
                    let retryAfter = HeaderValues.retryAfter(
                        response.headers.first(name: "Retry-After"), now: clock.now,
                        responseDate: response.headers.first(name: "Date").flatMap(HTTPDate.parse))
                    throw SinkError.retryable(
                        reason: "token endpoint answered \(status)", retryAfter: retryAfter?.value)
                }
                // A wrong client id or secret (`401`/`400 invalid_client`, RFC 6749 §5.2), or any other
                // refusal: nothing will go through until the configuration is fixed; keep the records
                // and retry slowly rather than dropping them.
                let error = (try? JSONDecoder().decode(TokenError.self, from: Data(body.readableBytesView)))?.error
                let code = error.map { " \(String($0.prefix(60)))" } ?? ""
                throw SinkError.credentialsRejected(
                    reason: Self.credentialsHint(
                        "the token endpoint \(tokenURL.absoluteString) answered \(status)\(code)"))
            }
            let answer = try JSONDecoder().decode(TokenAnswer.self, from: Data(body.readableBytesView))
            tokensFetched += 1
            let lifetime = HeaderValues.tokenLifetime(answer.expires_in).value
            token = (answer.access_token, clock.now.addingTimeInterval(lifetime))
            return answer.access_token
        } catch let error as SinkError {
            throw error
        } catch {
            throw .retryable(reason: "token request failed: \(error)", retryAfter: nil)
        }
    }
}
