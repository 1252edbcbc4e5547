/// A table for people: a header of titles, then rows, columns two spaces apart and as wide as
/// their widest cell in terminal columns (``DisplayWidth``), long cells cut with `…`, numbers
/// aligned right, no trailing spaces. Cells are ``Sanitized`` first, so nothing an API answer
/// holds can move the cursor or break a row.
struct Table: Sendable {
    struct Column: Sendable {
        var title: String
        var rightAligned = false
        /// The widest a cell of this column may be, in terminal columns.
        var maxWidth = 40

        init(_ title: String, rightAligned: Bool = false, maxWidth: Int = 40) {
            self.title = title
            self.rightAligned = rightAligned
            self.maxWidth = max(1, maxWidth)
        }
    }

    var columns: [Column]
    var rows: [[String]] = []

    init(_ columns: [Column], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The lines of the table, header first; an empty table is its header alone.
    func render() -> String {
        let header = columns.map { Sanitized.text($0.title.uppercased(), maxWidth: $0.maxWidth) }
        let body = rows.map { row in
            columns.indices.map { index in
                Sanitized.text(index < row.count ? row[index] : "", maxWidth: columns[index].maxWidth)
            }
        }
        var widths = header.map { DisplayWidth.of($0) }
        for row in body {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], DisplayWidth.of(cell)) }
        }
        let lines = ([header] + body).map { cells in
            var line = ""
            for (index, cell) in cells.enumerated() {
                if index > 0 { line += "  " }
                line += DisplayWidth.pad(cell, to: widths[index], rightAligned: columns[index].rightAligned)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        return lines.joined(separator: "\n")
    }
}
