import ConnectorDomain
import ConnectorStore
import Foundation

/// Bar charts as inline SVG (`chart.mustache`), with a value axis, a category axis and the values on
/// the bars: the console draws them on the server, so they need no script and no external asset.
/// Here is the geometry; the template writes the elements.
enum ConsoleCharts {
    /// One bar.
    struct Bar {
        var label: String
        var value: Int
        /// A CSS class for the fill (`ok`, `warn`, `bad`, `info`).
        var tone: String
        /// What the bar's tooltip says.
        var title: String
    }

    /// A chart laid out: what the template reads.
    struct Chart {
        struct Tick {
            var left: Int
            var right: Int
            var y: Int
            var labelX: Int
            var labelY: Int
            var value: Int
        }

        struct PlacedBar {
            var tone: String
            var title: String
            var x: Int
            var y: Int
            var barWidth: Int
            var barHeight: Int
            var labelX: Int
            var valueY: Int
            var categoryY: Int
            /// The value written on the bar, when there is room.
            var valueLabel: Int?
            /// The category written under the bar, on every n-th bar and the last.
            var categoryLabel: String?
        }

        var id: String
        var title: String
        var width: Int
        var height: Int
        var left: Int
        var right: Int
        var top: Int
        var bottom: Int
        var middle: Int
        var centre: Int
        var categoryAxisY: Int
        var valueAxis: String
        var categoryAxis: String
        var ticks: [Tick]
        var bars: [PlacedBar]
    }

    /// A bar chart.
    /// - Parameters:
    ///   - id: The element id (the chart's accessible name comes from its `<title>`).
    ///   - title: What the chart shows.
    ///   - bars: The bars, left to right.
    ///   - valueAxis: The value axis's name (`drift`, `events`).
    ///   - categoryAxis: The category axis's name (`run`, `minute`).
    ///   - labelEvery: A category label on every n-th bar (and the last).
    /// - Returns: The chart, laid out.
    static func chart(
        id: String, title: String, bars: [Bar], valueAxis: String, categoryAxis: String, labelEvery: Int = 1
    ) -> Chart {
        let (left, top, plotHeight) = (52, 16, 140)
        let barWidth = bars.count > 40 ? 12 : 22
        let plotWidth = max(200, bars.count * barWidth)
        let height = top + plotHeight + 44
        let bottom = top + plotHeight
        let maximum = niceCeiling(bars.map(\.value).max() ?? 0)
        let ticks = [0, maximum / 2, maximum].map { tick in
            let y = bottom - Int(Double(tick) / Double(max(1, maximum)) * Double(plotHeight))
            return Chart.Tick(left: left, right: left + plotWidth, y: y, labelX: left - 6, labelY: y + 4, value: tick)
        }
        let placed = bars.enumerated().map { index, bar in
            // Values come from stored rows: kept within the chart whatever they are.
            let share = min(1, max(0, Double(bar.value) / Double(max(1, maximum))))
            let barHeight = bar.value > 0 ? max(2, Int(share * Double(plotHeight))) : 0
            let x = left + index * barWidth + 2
            let y = bottom - barHeight
            let roomForValue = bar.value > 0 && (barWidth >= 20 || bar.value == maximum || bar.value * 4 >= maximum)
            let labelled = index % max(1, labelEvery) == 0 || index == bars.count - 1
            return Chart.PlacedBar(
                tone: bar.tone, title: bar.title, x: x, y: y, barWidth: barWidth - 4, barHeight: barHeight,
                labelX: x + (barWidth - 4) / 2, valueY: y - 3, categoryY: bottom + 16,
                valueLabel: roomForValue ? bar.value : nil, categoryLabel: labelled ? bar.label : nil)
        }
        return Chart(
            id: id, title: title, width: left + plotWidth + 12, height: height, left: left, right: left + plotWidth,
            top: top, bottom: bottom, middle: top + plotHeight / 2, centre: left + plotWidth / 2,
            categoryAxisY: height - 4, valueAxis: valueAxis, categoryAxis: categoryAxis, ticks: ticks, bars: placed)
    }

    /// A bar chart as an SVG element (the parameters of ``chart(id:title:bars:valueAxis:categoryAxis:labelEvery:)``).
    static func bars(
        id: String, title: String, bars: [Bar], valueAxis: String, categoryAxis: String, labelEvery: Int = 1
    ) -> String {
        ConsoleTemplates.render(
            chart(
                id: id, title: title, bars: bars, valueAxis: valueAxis, categoryAxis: categoryAxis,
                labelEvery: labelEvery),
            "chart")
    }

    /// Drift per complete, written run (succeeded, or held with its whole listing); an interrupted,
    /// cancelled or failed run saw only part of Okta, so its drift is not plotted. `nil` when there
    /// is none yet.
    static func drift(_ runs: [RunRecord], id: String, compact: Bool) -> Chart? {
        let complete = runs.filter { ($0.outcome == .succeeded || $0.outcome == .held) && !$0.dryRun }
        let finished = complete.prefix(compact ? 15 : 30).reversed()
        guard !finished.isEmpty else { return nil }
        let bars = finished.map { run in
            Bar(
                label: "#\(run.id)", value: run.drift,
                tone: run.outcome == .succeeded ? "ok" : "warn",
                title: "run \(run.id) \(run.outcome.rawValue): drift \(run.drift)")
        }
        return chart(
            id: id, title: "Drift per run (changes events should have delivered)", bars: Array(bars),
            valueAxis: "drift", categoryAxis: "run", labelEvery: finished.count > 15 ? 2 : 1)
    }

    /// Events received in each minute of the last hour.
    static func events(_ minutes: [(minute: Date, events: Int)]) -> Chart {
        let bars = minutes.map { minute in
            let label = String(Timestamp(minute.minute).iso8601.dropFirst(11).prefix(5))
            return Bar(label: label, value: minute.events, tone: "info", title: "\(label) UTC: \(minute.events) events")
        }
        return chart(
            id: "events", title: "Events received per minute over the last hour", bars: bars, valueAxis: "events",
            categoryAxis: "minute (UTC)", labelEvery: 10)
    }

    /// The top of the value axis: at least 1, rounded up to 1, 2 or 5 times a power of ten (even, so
    /// that its half is a whole tick).
    static func niceCeiling(_ value: Int) -> Int {
        guard value > 2 else { return 2 }
        // Stored counts are far below this; the cap keeps the arithmetic from overflowing.
        let value = min(value, 1_000_000_000_000)
        var magnitude = 1
        while magnitude <= value / 10 { magnitude *= 10 }
        for step in [1, 2, 5, 10] where step * magnitude >= value {
            let ceiling = step * magnitude
            return ceiling % 2 == 0 ? ceiling : ceiling + 1
        }
        return 10 * magnitude
    }
}
