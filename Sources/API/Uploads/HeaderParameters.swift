/// A header value of the `value; name=token; name="quoted"` shape (RFC 9110's parameters, as
/// `Content-Type` and `Content-Disposition` carry them): the leading value, lower-cased, and the
/// parameters by lower-cased name (the first of a name wins). Read scalar by scalar, so that a
/// combining mark after a quote cannot hide the quote inside one `Character`.
struct HeaderParameters: Sendable, Equatable {
    var value: String
    var parameters: [String: String]

    init(_ header: String) {
        var scanner = Scanner(rest: header.unicodeScalars[...])
        value = scanner.token(until: ";").lowercased()
        parameters = [:]
        while scanner.skip(";") {
            let name = scanner.token(until: "=;").lowercased()
            guard scanner.skip("=") else { continue }
            let parameter = scanner.parameterValue()
            if !name.isEmpty && parameters[name] == nil { parameters[name] = parameter }
        }
    }

    subscript(_ name: String) -> String? { parameters[name] }

    /// Reads a header value left to right.
    private struct Scanner {
        var rest: Substring.UnicodeScalarView

        mutating func skip(_ scalar: Unicode.Scalar) -> Bool {
            skipSpaces()
            guard rest.first == scalar else { return false }
            rest.removeFirst()
            return true
        }

        mutating func skipSpaces() {
            while let first = rest.first, first == " " || first == "\t" { rest.removeFirst() }
        }

        /// Everything up to one of `stops` (not included), without the spaces around it.
        mutating func token(until stops: String) -> String {
            skipSpaces()
            var token = rest.prefix { !stops.unicodeScalars.contains($0) }
            rest.removeFirst(token.count)
            while let last = token.last, last == " " || last == "\t" { token.removeLast() }
            return String(token)
        }

        /// A token or a quoted string. In a quoted string a backslash escapes only `"` and `\`:
        /// browsers send `"` as `%22` and leave backslashes alone (a Windows path stays whole),
        /// while curl escapes both.
        mutating func parameterValue() -> String {
            skipSpaces()
            guard rest.first == "\"" else { return token(until: ";") }
            rest.removeFirst()
            var value = String.UnicodeScalarView()
            while let scalar = rest.popFirst() {
                switch scalar {
                case "\"":
                    _ = token(until: ";")  // anything after the closing quote is ignored
                    return String(value)
                case "\\" where rest.first == "\"" || rest.first == "\\":
                    value.append(rest.removeFirst())
                default:
                    value.append(scalar)
                }
            }
            return String(value)  // no closing quote: what was there
        }
    }
}
