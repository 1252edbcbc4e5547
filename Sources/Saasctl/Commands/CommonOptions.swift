import ArgumentParser

/// `--json`: the API's answer as it came (pretty, keys sorted) instead of a table.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the API's JSON answer (pretty, keys sorted) instead of a table.")
    var json = false

    /// Prints one object: its JSON, or its fields as a table.
    func show(_ value: JSONValue, nested: [String: [Field]] = [:]) {
        Terminal.out(json ? value.pretty : Render.details(value, nested: nested))
    }
}

/// Paging for lists: one page of `--limit`, a page from `--cursor`, or `--all` of them.
struct ListOptions: ParsableArguments {
    @Option(help: "Rows per page (1–100; the API's default is 50).")
    var limit: Int?

    @Option(help: "Start from this `next_cursor` of an earlier page.")
    var cursor: String?

    @Flag(help: "Follow `next_cursor` until the last page.")
    var all = false

    func validate() throws {
        if let limit, !(1...100).contains(limit) { throw ValidationError("--limit must be between 1 and 100") }
    }
}

/// A list route read page by page.
struct Lister {
    /// The most pages `--all` reads: 100,000 rows at 100 a page; a cursor that never ends is a fault.
    static let maxPages = 1000

    let client: APIClient
    let path: String
    /// The answer's list key (`teams`, `jobs`, …).
    let key: String
    var query: [(String, String)] = []

    /// The rows of one page, or of every page with `--all`, and the cursor that follows them.
    func read(_ options: ListOptions) async throws(CommandFailure) -> (items: [JSONValue], next: String?) {
        var items: [JSONValue] = []
        var cursor = options.cursor
        var seen: Set<String> = []
        for _ in 0..<Self.maxPages {
            var pageQuery = query
            if let limit = options.limit { pageQuery.append(("limit", String(limit))) }
            if let cursor { pageQuery.append(("cursor", cursor)) }
            let page = try await client.call(.GET, path, query: pageQuery)
            guard let rows = page[path: key]?.arrayValue else {
                throw .unavailable("the API's answer has no `\(key)` list")
            }
            items += rows
            let next = page[path: "next_cursor"]?.stringValue
            guard options.all, let next else { return (items, next) }
            guard seen.insert(next).inserted else { throw .unavailable("the API repeated a cursor; stopping") }
            cursor = next
        }
        throw .unavailable("more than \(Self.maxPages) pages; use --limit and --cursor")
    }

    /// Reads and prints: the JSON list (`{"<key>": [...], "next_cursor": …}`) or a table, with a
    /// note on stderr when more pages follow.
    func print(_ options: ListOptions, output: OutputOptions, fields: [Field]) async throws(CommandFailure) {
        let (items, next) = try await read(options)
        if output.json {
            Terminal.out(JSONValue.object([key: .array(items), "next_cursor": next.map { .string($0) } ?? .null]).pretty)
            return
        }
        Terminal.out(Render.list(items, fields))
        if let next { Terminal.err("(more: --cursor \(Sanitized.text(next, maxWidth: 200)), or --all)") }
    }
}

/// What every command that talks to the API does first.
protocol APICommand: AsyncParsableCommand {
    var connection: ConnectionOptions { get }
    /// The command's work, given a client.
    func run(_ client: APIClient) async throws
}

extension APICommand {
    func run() async throws {
        let settings = try connection.resolve()
        try await APIClient.with(settings) { client in try await run(client) }
    }
}

/// Parses a JSON object given on the command line (`--metadata`).
func parseObjectOption(_ text: String, name: String) throws -> JSONValue {
    guard let value = JSONValue.parse(Array(text.utf8)), case .object = value else {
        throw ValidationError("\(name) must be a JSON object")
    }
    return value
}
