import Foundation

/// Bar charts as inline SVG, with a value axis, a category axis and the values on the bars: the
/// console draws them on the server, so they need no script and no external asset.
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

    /// A bar chart.
    /// - Parameters:
    ///   - id: The element id (the chart's accessible name comes from its `<title>`).
    ///   - title: What the chart shows.
    ///   - bars: The bars, left to right.
    ///   - valueAxis: The value axis's name (`drift`, `events`).
    ///   - categoryAxis: The category axis's name (`run`, `minute`).
    ///   - labelEvery: A category label on every n-th bar (and the last).
    /// - Returns: The SVG element.
    static func bars(
        id: String, title: String, bars: [Bar], valueAxis: String, categoryAxis: String, labelEvery: Int = 1
    ) -> String {
        let left = 52
        let top = 16
        let plotHeight = 140
        let barWidth = bars.count > 40 ? 12 : 22
        let plotWidth = max(200, bars.count * barWidth)
        let width = left + plotWidth + 12
        let height = top + plotHeight + 44
        let maximum = niceCeiling(bars.map(\.value).max() ?? 0)
        let escapedTitle = StatusPage.escape(title)
        var svg =
            "<svg class=\"chart\" id=\"\(id)\" role=\"img\" aria-labelledby=\"\(id)-title\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
            + "<title id=\"\(id)-title\">\(escapedTitle)</title>"
        // The value axis: 0, half and the top, with grid lines.
        for tick in [0, maximum / 2, maximum] {
            let y = top + plotHeight - Int(Double(tick) / Double(max(1, maximum)) * Double(plotHeight))
            svg +=
                "<line class=\"grid\" x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotWidth)\" y2=\"\(y)\"/>"
                + "<text class=\"tick\" x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(tick)</text>"
        }
        svg +=
            "<line class=\"axis\" x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\"/>"
            + "<line class=\"axis\" x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\"/>"
            + "<text class=\"axis-name\" x=\"12\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 12 \(top + plotHeight / 2))\">\(StatusPage.escape(valueAxis))</text>"
            + "<text class=\"axis-name\" x=\"\(left + plotWidth / 2)\" y=\"\(height - 4)\" text-anchor=\"middle\">"
            + "\(StatusPage.escape(categoryAxis))</text>"
        for (index, bar) in bars.enumerated() {
            // Values come from stored rows: kept within the chart whatever they are.
            let share = min(1, max(0, Double(bar.value) / Double(max(1, maximum))))
            let barHeight = bar.value > 0 ? max(2, Int(share * Double(plotHeight))) : 0
            let x = left + index * barWidth + 2
            let y = top + plotHeight - barHeight
            svg +=
                "<rect class=\"bar \(bar.tone)\" x=\"\(x)\" y=\"\(y)\" width=\"\(barWidth - 4)\" height=\"\(barHeight)\">"
                + "<title>\(StatusPage.escape(bar.title))</title></rect>"
            if bar.value > 0 && (barWidth >= 20 || bar.value == maximum || bar.value * 4 >= maximum) {
                svg +=
                    "<text class=\"value\" x=\"\(x + (barWidth - 4) / 2)\" y=\"\(y - 3)\" text-anchor=\"middle\">\(bar.value)</text>"
            }
            if index % max(1, labelEvery) == 0 || index == bars.count - 1 {
                svg +=
                    "<text class=\"tick\" x=\"\(x + (barWidth - 4) / 2)\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">"
                    + "\(StatusPage.escape(bar.label))</text>"
            }
        }
        return svg + "</svg>"
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
