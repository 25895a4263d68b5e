/// The error body of every Okta API error (`errorCode`, `errorSummary`, `errorId`, ...).
public struct OktaErrorBody: Sendable, Hashable, Codable {
    public var errorCode: String
    public var errorSummary: String
    public var errorLink: String?
    public var errorId: String?
    public var errorCauses: [Cause]?

    /// One cause in `errorCauses`.
    public struct Cause: Sendable, Hashable, Codable {
        public var errorSummary: String?

        /// Creates a cause.
        public init(errorSummary: String?) { self.errorSummary = errorSummary }
    }

    /// Creates an error body.
    public init(
        errorCode: String, errorSummary: String, errorLink: String? = nil, errorId: String? = nil,
        errorCauses: [Cause]? = []
    ) {
        self.errorCode = errorCode
        self.errorSummary = errorSummary
        self.errorLink = errorLink
        self.errorId = errorId
        self.errorCauses = errorCauses
    }
}
