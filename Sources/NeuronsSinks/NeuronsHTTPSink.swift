public import AsyncHTTPClient
public import ConnectorDomain
public import Foundation
import NIOCore
import NIOHTTP1

/// The Neurons ingestion endpoint (SPEC §9): OAuth 2.0 client credentials (token cached until shortly
/// before it expires, fetched again once on `401`), each batch `POST`ed as JSON with an
/// `Idempotency-Key`. `408`, `429`, `5xx` and transport errors are retryable (with `Retry-After`);
/// other `4xx` are permanent.
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
            let retryAfter: TimeInterval?
            let text: String
            do {
                let response = try await httpClient.execute(request, timeout: .seconds(60))
                let collected = try await response.body.collect(upTo: 1 << 20)
                status = Int(response.status.code)
                retryAfter = response.headers.first(name: "Retry-After").flatMap(TimeInterval.init)
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
            case 408, 429, 500..<600:
                throw .retryable(reason: "HTTP \(status) \(text.prefix(200))", retryAfter: retryAfter)
            default:
                throw .permanent(reason: "HTTP \(status) \(text.prefix(500))")
            }
        }
    }

    /// Fetches a token, as `check-config --online` does: proves the endpoint and credentials work.
    public func checkToken() async throws(SinkError) {
        token = nil
        _ = try await currentToken()
    }

    struct TokenAnswer: Decodable {
        let access_token: String
        let expires_in: Int?
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
                if status == 429 || status >= 500 {
                    throw SinkError.retryable(reason: "token endpoint answered \(status)", retryAfter: nil)
                }
                // A wrong client id or secret: nothing will go through until the configuration is fixed;
                // keep the records and retry slowly rather than dropping them.
                throw SinkError.retryable(
                    reason: "token endpoint refused the client credentials (\(status))", retryAfter: 60)
            }
            let answer = try JSONDecoder().decode(TokenAnswer.self, from: Data(body.readableBytesView))
            tokensFetched += 1
            token = (answer.access_token, clock.now.addingTimeInterval(Double(answer.expires_in ?? 3600)))
            return answer.access_token
        } catch let error as SinkError {
            throw error
        } catch {
            throw .retryable(reason: "token request failed: \(error)", retryAfter: nil)
        }
    }
}
