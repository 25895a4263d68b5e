import Foundation
import Mustache

/// The console's Mustache templates (`Templates/*.mustache`), built into the binary as resources
/// (`.embedInCode`: nothing to ship beside it) and parsed once. The engine escapes every `{{value}}`
/// for HTML; only `{{{body}}}`, a page rendered from its own template, is inserted as it is.
enum ConsoleTemplates {
    /// Every template by name, as `{{> name}}` includes it.
    static let sources: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache, "style": PackageResources.style_mustache,
        "csrf": PackageResources.csrf_mustache, "button": PackageResources.button_mustache,
        "sign-in": PackageResources.sign_in_mustache, "message": PackageResources.message_mustache,
        "not-found": PackageResources.not_found_mustache, "overview": PackageResources.overview_mustache,
        "connector": PackageResources.connector_mustache, "run": PackageResources.run_mustache,
        "dead-letters": PackageResources.dead_letters_mustache, "actions": PackageResources.actions_mustache,
        "chart": PackageResources.chart_mustache, "drift-chart": PackageResources.drift_chart_mustache,
        "last-run": PackageResources.last_run_mustache, "run-line": PackageResources.run_line_mustache,
        "hook-state": PackageResources.hook_state_mustache,
        "rate-limits": PackageResources.rate_limits_mustache, "runs-table": PackageResources.runs_table_mustache,
    ]

    /// The parsed templates. A template that does not parse is a defect of the build, found by the
    /// first test that renders any page.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, bytes) in sources {
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                preconditionFailure("console template \(name).mustache does not parse: \(error)")
            }
        }
        return library
    }()

    /// Renders a template with a model (a struct whose properties the template names).
    static func render(_ model: Any, _ template: String) -> String {
        guard let text = library.render(model, withTemplate: template) else {
            preconditionFailure("no console template named \(template)")
        }
        return text
    }
}
