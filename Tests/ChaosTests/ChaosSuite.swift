import Testing

/// Every chaos and failover suite, one test at a time: each starts real processes (simulators,
/// `serve` replicas, PostgreSQL servers) and kills them, and several at once on a two-core machine
/// would starve one another and the rest of the test run into timing failures, rather than show
/// what a fault does.
@Suite("Chaos and failover, one test at a time", .serialized)
struct ChaosSuite {}
