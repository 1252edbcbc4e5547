import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The dashboard's swift-mustache templates and stylesheet, read once at start from the API's
/// resources (`Resources/dashboard/`, `Bundle.module`), and the one place pages become responses.
///
/// Every value reaches the HTML through `{{ }}`, which escapes it: team aliases, job metadata and
/// upstream error texts are a tenant's or an upstream's words. No template uses `{{{ }}}`.
struct DashboardTemplates: Sendable {
    let library: MustacheLibrary
    let stylesheet: ByteBuffer

    enum LoadError: Error, CustomStringConvertible {
        case missingFolder
        case unreadable(String)
        case invalid(String, any Error)

        var description: String {
            switch self {
            case .missingFolder: return "the API's resources have no dashboard folder"
            case .unreadable(let name): return "dashboard resource \(name) cannot be read"
            case .invalid(let name, let error): return "dashboard template \(name) does not parse: \(error)"
            }
        }
    }

    /// The folder of the templates: `Resources/dashboard` of the API's resource bundle (whose
    /// `resourceURL` Foundation may already place inside `Resources/`, hence both lookups).
    static var folder: URL? {
        Bundle.module.url(forResource: "dashboard", withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "dashboard", withExtension: nil)
    }

    /// Reads and parses every `*.mustache` file of the folder (each registered under its name, so
    /// pages name `layout` as their parent) and the stylesheet.
    static func load(from folder: URL? = folder) throws -> DashboardTemplates {
        guard let folder, let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw LoadError.missingFolder
        }
        var library = MustacheLibrary()
        for name in names.sorted() where name.hasSuffix(".mustache") {
            guard let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) else {
                throw LoadError.unreadable(name)
            }
            do {
                library.register(try MustacheTemplate(string: text), named: String(name.dropLast(".mustache".count)))
            } catch {
                throw LoadError.invalid(name, error)
            }
        }
        guard let css = FileManager.default.contents(atPath: folder.appendingPathComponent("dashboard.css").path) else {
            throw LoadError.unreadable("dashboard.css")
        }
        return DashboardTemplates(library: library, stylesheet: ByteBuffer(bytes: css))
    }

    /// `template` rendered with `view` as an HTML answer.
    func page(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(view, withTemplate: template) else {
            return Response(
                status: .internalServerError,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "missing template \(template)\n"))
            )
        }
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
