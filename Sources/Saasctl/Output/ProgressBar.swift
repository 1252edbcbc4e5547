/// A progress line on stderr: on a terminal one line redrawn in place
/// (`[██████░░░░░░] 2/3  failed 0`), elsewhere (a log, a pipe) a plain line per change, so
/// nothing collects carriage returns.
struct ProgressBar: Sendable {
    static let barWidth = 28

    var interactive: Bool
    private var lastLine: String?

    init(interactive: Bool = Terminal.stderrIsTTY) {
        self.interactive = interactive
    }

    /// The bar of `done` out of `total`, with `note` after it.
    static func line(done: Int, total: Int, note: String) -> String {
        let fraction = total > 0 ? min(1, max(0, Double(done) / Double(total))) : 1
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
        return "[\(bar)] \(done)/\(total)" + (note.isEmpty ? "" : "  \(note)")
    }

    /// Shows the current state (on a terminal, redraws; elsewhere, prints `plain` when it changed).
    mutating func update(done: Int, total: Int, note: String, plain: String) {
        if interactive {
            Terminal.errRaw("\r\u{1B}[2K" + Self.line(done: done, total: total, note: note))
        } else if plain != lastLine {
            Terminal.err(plain)
            lastLine = plain
        }
    }

    /// Ends the bar's line on a terminal.
    func finish() {
        if interactive { Terminal.errRaw("\n") }
    }
}
