import ArgumentParser

/// `okta-benchmarks`: the benchmark programs of SPEC §14. Each prints its figures and the ratio to
/// a baseline measured in the same run. Build with `-c release` for meaningful numbers.
@main
struct BenchmarksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "okta-benchmarks",
        abstract: "Benchmarks of okta-connector (run a release build).",
        subcommands: [
            IngestBenchmark.self, ForwardBenchmark.self, SimulatorBenchmark.self, ReconcileBenchmark.self,
            ReconcileRunBenchmark.self, PollingBenchmark.self, OAuthBenchmark.self, OAuthRunBenchmark.self,
            HookDayBenchmark.self, HookDayRunBenchmark.self,
        ]
    )
}
