import Testing

@testable import Saasctl

/// Tables line up by terminal columns, whatever the text: wide, combining, emoji, hostile.
@Suite struct TableTests {
    @Test func columnsAlignAndNumbersGoRight() {
        let table = Table(
            [Table.Column("team"), Table.Column("credits", rightAligned: true), Table.Column("status")],
            rows: [
                ["a", "5", "active"], ["longer-team", "1200", "suspended"],
            ]
        )
        #expect(
            table.render() == """
                TEAM         CREDITS  STATUS
                a                  5  active
                longer-team     1200  suspended
                """
        )
    }

    @Test func noTrailingSpacesAndMissingCellsAreEmpty() {
        let lines = Table([Table.Column("a"), Table.Column("b")], rows: [["x"], ["y", ""]]).render().split(separator: "\n")
        for line in lines { #expect(!line.hasSuffix(" ")) }
        #expect(lines == ["A  B", "x", "y"])
    }

    @Test func wideCharactersCountTwoColumns() {
        let table = Table([Table.Column("name"), Table.Column("n", rightAligned: true)], rows: [["株式会社", "1"], ["abc", "22"]])
        #expect(
            table.render() == """
                NAME       N
                株式会社   1
                abc       22
                """
        )
    }

    @Test func combiningMarksTakeNoColumn() {
        let composed = "Cafe\u{301}"  // é as e + U+0301
        #expect(DisplayWidth.of(composed) == 4)
        #expect(DisplayWidth.of("a\u{0308}\u{0323}b") == 2)
        let table = Table([Table.Column("name"), Table.Column("x")], rows: [[composed, "1"], ["Cafe", "2"]])
        let lines = table.render().split(separator: "\n").map(String.init)
        #expect(lines[1] == "Cafe\u{301}  1")
        #expect(lines[2] == "Cafe  2")
    }

    @Test func widths() {
        #expect(DisplayWidth.of("hello") == 5)
        #expect(DisplayWidth.of("日本") == 4)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.of("ｆｕｌｌ") == 8)  // fullwidth Latin
        #expect(DisplayWidth.of("👍") == 2)
        #expect(DisplayWidth.of("👍🏽") == 2)  // with a skin tone: one cluster
        #expect(DisplayWidth.of("👨‍👩‍👧") == 2)  // a ZWJ family: one cluster
        #expect(DisplayWidth.of("🇫🇷") == 2)
        #expect(DisplayWidth.of("❤️") == 2)  // text heart + VS16
        #expect(DisplayWidth.of("a\u{200B}b") == 2)  // zero-width space
        #expect(DisplayWidth.of("\u{301}") == 0)  // a lone combining mark
    }

    @Test func longCellsAreCutWithAnEllipsis() {
        #expect(DisplayWidth.truncate("abcdefghij", to: 5) == "abcd…")
        #expect(DisplayWidth.truncate("abcde", to: 5) == "abcde")
        // A wide character that would straddle the edge goes whole.
        #expect(DisplayWidth.truncate("日本語です", to: 6) == "日本…")
        #expect(DisplayWidth.of(DisplayWidth.truncate("日本語です", to: 6)) == 5)
        // A combining mark stays with its base.
        #expect(DisplayWidth.truncate("e\u{301}e\u{301}e\u{301}e\u{301}", to: 3) == "e\u{301}e\u{301}…")
        let table = Table([Table.Column("c", maxWidth: 6)], rows: [["a-very-long-cell"]])
        #expect(table.render() == "C\na-ver…")
    }

    @Test func controlCharactersCannotBreakRowsOrMoveTheCursor() {
        let hostile = "line1\nline2\r\t\u{1B}[2J\u{7}\u{202E}evil"
        let table = Table([Table.Column("x"), Table.Column("y")], rows: [[hostile, "1"]])
        let rendered = table.render()
        #expect(rendered.split(separator: "\n").count == 2)
        #expect(!rendered.contains("\u{1B}"))
        #expect(!rendered.contains("\u{7}"))
        #expect(!rendered.contains("\u{202E}"))
        #expect(rendered.contains("line1 line2"))
    }

    @Test func fieldsRenderJSONValues() {
        let item: JSONValue = [
            "n": 3, "x": .number(0.125), "flag": true, "list": .array(["a", "b"]), "none": .null,
            "at": "2026-11-26T18:47:10.266Z", "id": "c8de899a-dce2-4323-8d6c-f3660b1e8981", "nested": ["k": "v"],
        ]
        #expect(Field("n", "n", .number).cell(item) == "3")
        #expect(Field("x", "x").cell(item) == "0.125")
        #expect(Field("f", "flag").cell(item) == "yes")
        #expect(Field("l", "list").cell(item) == "a, b")
        #expect(Field("none", "none").cell(item) == "-")
        #expect(Field("missing", "missing").cell(item) == "-")
        #expect(Field("at", "at", .time).cell(item) == "2026-11-26 18:47:10")
        #expect(Field("id", "id", .shortID).cell(item) == "c8de899a")
        #expect(Field("k", "nested.k").cell(item) == "v")
        #expect(Double(2).formatted() == "2")
        #expect(Double(0.1 + 0.2).formatted() == "0.3")
    }

    @Test func detailsFlattenObjectsAndTabulateLists() {
        let job: JSONValue = [
            "job_id": "j1", "usage": ["total_tokens": 76], "calls": .array([["model": "m", "attempt": 1]]),
        ]
        let text = Render.details(job, nested: ["calls": [Field("model", "model"), Field("attempt", "attempt", .number)]])
        #expect(
            text == """
                FIELD               VALUE
                calls               1 (below)
                job_id              j1
                usage.total_tokens  76

                calls (1):
                MODEL  ATTEMPT
                m            1
                """
        )
    }

    @Test func theProgressBarFillsByFraction() {
        #expect(
            ProgressBar.line(done: 1, total: 4, note: "failed 0") == "[" + String(repeating: "█", count: 7) + String(repeating: "░", count: 21)
                + "] 1/4  failed 0"
        )
        #expect(ProgressBar.line(done: 3, total: 3, note: "") == "[" + String(repeating: "█", count: 28) + "] 3/3")
        // Nothing to wait for (a worker with no job in flight) is a full bar, not a division by zero.
        #expect(ProgressBar.line(done: 0, total: 0, note: "0 in flight").hasPrefix("[" + String(repeating: "█", count: 28) + "] 0/0"))
        #expect(ProgressBar.line(done: 9, total: 3, note: "").hasPrefix("[" + String(repeating: "█", count: 28)))
    }
}
