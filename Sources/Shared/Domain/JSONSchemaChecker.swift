import Foundation

/// Checks a JSON value against a JSON Schema: the subset OpenAI's structured outputs are written
/// in, so that a job's `response_format` holds for the answer it stores whatever the model did.
///
/// Keywords: `type` (a name or a list; `integer` is any whole number, `1.0` included), `enum`,
/// `const` (numbers compare by value: `1` equals `1.0`), `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum` (numbers, or draft 4's booleans), `multipleOf`,
/// `minLength`/`maxLength` (in Unicode code points, as JSON Schema counts characters), `pattern`
/// (``SchemaPattern``), `items`, `prefixItems` (or draft 4's array `items` with
/// `additionalItems`), `minItems`/`maxItems`, `properties`, `required`, `additionalProperties`
/// (a boolean or a schema; not applied beside `patternProperties`, which is not checked),
/// `minProperties`/`maxProperties`, `allOf`, `anyOf`, `oneOf`, `not`, and `$ref` within the
/// schema (``SchemaReference``: `#`, `#/$defs/…`, `#/definitions/…`). Other keywords (`format`,
/// `uniqueItems`, `if`, …) are ignored, as JSON Schema ignores unknown ones; so is a `$ref` or a
/// `pattern` the checker cannot use (submit refuses those: ``ResponseFormatRules``).
///
/// Bounded whatever the schema and the value: at most ``Limits/depth`` nested checks at once (so
/// the stack is bounded, even for a schema that refers to itself without end), at most
/// ``Limits/steps`` steps in all, and a budget for pattern matching. A check that reaches a
/// bound reports a violation: an answer that cannot be checked is not accepted.
public struct JSONSchemaChecker: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Nested checks at once: one per member or item entered, per `$ref` followed and per
        /// `allOf`/`anyOf`/`oneOf`/`not` branch tried.
        public var depth: Int
        /// Checks, members, items and `enum` comparisons in all.
        public var steps: Int
        /// ICU's progress callbacks over all of a check's `pattern` matches (a few thousand
        /// backtracking steps each; 400 is some tens of milliseconds).
        public var patternProgress: Int

        public init(depth: Int = 128, steps: Int = 1_000_000, patternProgress: Int = 400) {
            self.depth = depth
            self.steps = steps
            self.patternProgress = patternProgress
        }

        public static let standard = Limits()
    }

    public let schema: JSONValue
    public let limits: Limits

    public init(schema: JSONValue, limits: Limits = .standard) {
        self.schema = schema
        self.limits = limits
    }

    /// The first violation of the schema by `value`, or nil when `value` conforms.
    public func violation(of value: JSONValue) -> SchemaViolation? {
        var walk = Walk(limits: limits)
        guard let failure = check(schema, value, depth: 0, &walk) else { return nil }
        return SchemaViolation(path: JSONPathStep.render(failure.path), reason: failure.reason)
    }

    // MARK: - One schema against one value

    private func check(_ schema: JSONValue, _ value: JSONValue, depth: Int, _ walk: inout Walk) -> Failure? {
        if let stop = walk.spend(1) { return stop }
        guard depth <= limits.depth else {
            return walk.abort("too deeply nested to check (more than \(limits.depth) levels)")
        }
        let keywords: [String: JSONValue]
        switch schema {
        case .bool(false): return walk.fail("no value is allowed here")
        case .object(let members): keywords = members
        default: return nil  // `true`, or not a schema
        }
        if case .string(let reference)? = keywords["$ref"], let target = SchemaReference.resolve(reference, in: self.schema) {
            if let failure = check(target, value, depth: depth + 1, &walk) { return failure }
        }
        if let failure = checkType(keywords["type"], value, &walk) { return failure }
        if let failure = checkConstants(keywords, value, &walk) { return failure }
        switch value {
        case .integer, .number:
            if let failure = checkNumber(keywords, value, &walk) { return failure }
        case .string(let string):
            if let failure = checkString(keywords, string, &walk) { return failure }
        case .array(let items):
            if let failure = checkArray(keywords, items, depth: depth, &walk) { return failure }
        case .object(let members):
            if let failure = checkObject(keywords, members, depth: depth, &walk) { return failure }
        case .null, .bool:
            break
        }
        return checkComposition(keywords, value, depth: depth, &walk)
    }

    private static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "integer", "string"]

    private func checkType(_ type: JSONValue?, _ value: JSONValue, _ walk: inout Walk) -> Failure? {
        let names: [String]
        switch type {
        case .string(let name)?: names = [name]
        case .array(let list)?: names = list.compactMap(\.stringValue)
        default: return nil
        }
        let known = names.filter(Self.typeNames.contains)
        guard !known.isEmpty, !known.contains(where: { Self.value(value, isOfType: $0) }) else { return nil }
        return walk.fail("expected \(known.joined(separator: " or ")), got \(Self.typeName(of: value))")
    }

    private func checkConstants(_ keywords: [String: JSONValue], _ value: JSONValue, _ walk: inout Walk) -> Failure? {
        if let constant = keywords["const"] {
            guard let same = equal(constant, value, depth: 0, &walk) else { return walk.exhausted }
            if !same { return walk.fail("expected \(Self.brief(constant)), got \(Self.brief(value))") }
        }
        if case .array(let options)? = keywords["enum"] {
            var found = false
            for option in options {
                guard let same = equal(option, value, depth: 0, &walk) else { return walk.exhausted }
                if same {
                    found = true
                    break
                }
            }
            if !found {
                let shown = options.prefix(5).map(Self.brief).joined(separator: ", ")
                let more = options.count > 5 ? ", … (\(options.count) values)" : ""
                return walk.fail("expected one of \(shown)\(more), got \(Self.brief(value))")
            }
        }
        return nil
    }

    private func checkNumber(_ keywords: [String: JSONValue], _ value: JSONValue, _ walk: inout Walk) -> Failure? {
        guard let number = SchemaNumber(value) else { return nil }
        // draft 4 spelt exclusive bounds as booleans beside `minimum` and `maximum`
        let minimumExclusive = keywords["exclusiveMinimum"] == .bool(true)
        let maximumExclusive = keywords["exclusiveMaximum"] == .bool(true)
        if let minimum = SchemaNumber(keywords["minimum"]) {
            if minimumExclusive ? number <= minimum : number < minimum {
                return walk.fail("expected \(minimumExclusive ? "more than" : "at least") \(minimum), got \(number)")
            }
        }
        if let bound = SchemaNumber(keywords["exclusiveMinimum"]), number <= bound {
            return walk.fail("expected more than \(bound), got \(number)")
        }
        if let maximum = SchemaNumber(keywords["maximum"]) {
            if maximumExclusive ? number >= maximum : number > maximum {
                return walk.fail("expected \(maximumExclusive ? "less than" : "at most") \(maximum), got \(number)")
            }
        }
        if let bound = SchemaNumber(keywords["exclusiveMaximum"]), number >= bound {
            return walk.fail("expected less than \(bound), got \(number)")
        }
        if let divisor = SchemaNumber(keywords["multipleOf"]), !number.isMultiple(of: divisor) {
            return walk.fail("expected a multiple of \(divisor), got \(number)")
        }
        return nil
    }

    private func checkString(_ keywords: [String: JSONValue], _ string: String, _ walk: inout Walk) -> Failure? {
        let minLength = Self.count(keywords["minLength"])
        let maxLength = Self.count(keywords["maxLength"])
        if minLength != nil || maxLength != nil {
            if let stop = walk.spend(1 + string.utf8.count / 256) { return stop }
            let length = string.unicodeScalars.count
            if let minLength, length < minLength {
                return walk.fail("expected at least \(minLength) characters, got \(length)")
            }
            if let maxLength, length > maxLength {
                return walk.fail("expected at most \(maxLength) characters, got \(length)")
            }
        }
        if case .string(let pattern)? = keywords["pattern"], let regex = walk.regex(pattern) {
            if let stop = walk.spend(1 + string.utf8.count / 256) { return stop }
            switch SchemaPattern.matches(regex, string, budget: &walk.patternBudget) {
            case true?: break
            case false?: return walk.fail("does not match pattern '\(Self.cut(pattern))'")
            case nil: return walk.abort("too costly to match against pattern '\(Self.cut(pattern))'")
            }
        }
        return nil
    }

    private func checkArray(_ keywords: [String: JSONValue], _ items: [JSONValue], depth: Int, _ walk: inout Walk) -> Failure? {
        if let minItems = Self.count(keywords["minItems"]), items.count < minItems {
            return walk.fail("expected at least \(minItems) items, got \(items.count)")
        }
        if let maxItems = Self.count(keywords["maxItems"]), items.count > maxItems {
            return walk.fail("expected at most \(maxItems) items, got \(items.count)")
        }
        // 2020-12: `prefixItems`, then `items` for the rest; draft 4: an array `items`, then
        // `additionalItems`
        let prefix: [JSONValue]
        let rest: JSONValue?
        if case .array(let schemas)? = keywords["prefixItems"] {
            (prefix, rest) = (schemas, keywords["items"])
        } else if case .array(let schemas)? = keywords["items"] {
            (prefix, rest) = (schemas, keywords["additionalItems"])
        } else {
            (prefix, rest) = ([], keywords["items"])
        }
        guard !prefix.isEmpty || rest != nil else { return nil }
        for (index, item) in items.enumerated() {
            guard let schema = index < prefix.count ? prefix[index] : rest else { break }
            if schema == .bool(false) && index >= prefix.count {
                return walk.fail("expected at most \(prefix.count) items, got \(items.count)")
            }
            walk.path.append(.index(index))
            let failure = check(schema, item, depth: depth + 1, &walk)
            walk.path.removeLast()
            if let failure { return failure }
        }
        return nil
    }

    private func checkObject(_ keywords: [String: JSONValue], _ members: [String: JSONValue], depth: Int, _ walk: inout Walk) -> Failure? {
        if case .array(let required)? = keywords["required"] {
            if let stop = walk.spend(required.count) { return stop }
            for case .string(let name) in required where members[name] == nil {
                return walk.fail("missing required property '\(Self.cut(name))'")
            }
        }
        if let minProperties = Self.count(keywords["minProperties"]), members.count < minProperties {
            return walk.fail("expected at least \(minProperties) properties, got \(members.count)")
        }
        if let maxProperties = Self.count(keywords["maxProperties"]), members.count > maxProperties {
            return walk.fail("expected at most \(maxProperties) properties, got \(members.count)")
        }
        let properties = keywords["properties"]?.objectValue ?? [:]
        let additional = keywords["patternProperties"] == nil ? keywords["additionalProperties"] : nil
        guard !properties.isEmpty || additional != nil else { return nil }
        if let stop = walk.spend(members.count) { return stop }
        // in key order, so that the violation reported is the same on every run
        for name in members.keys.sorted() {
            guard let member = members[name] else { continue }
            guard let schema = properties[name] ?? additional else { continue }
            if properties[name] == nil && schema == .bool(false) {
                return walk.fail("unexpected property '\(Self.cut(name))'")
            }
            walk.path.append(.key(name))
            let failure = check(schema, member, depth: depth + 1, &walk)
            walk.path.removeLast()
            if let failure { return failure }
        }
        return nil
    }

    private func checkComposition(_ keywords: [String: JSONValue], _ value: JSONValue, depth: Int, _ walk: inout Walk) -> Failure? {
        if case .array(let schemas)? = keywords["allOf"] {
            for schema in schemas {
                if let failure = check(schema, value, depth: depth + 1, &walk) { return failure }
            }
        }
        if case .array(let schemas)? = keywords["anyOf"], !schemas.isEmpty {
            var failures: [Failure] = []
            for schema in schemas {
                guard let failure = check(schema, value, depth: depth + 1, &walk) else { return nil }
                if failure.aborted { return failure }
                failures.append(failure)
            }
            return closest(failures, or: "matches none of the anyOf schemas (got \(Self.typeName(of: value)))", &walk)
        }
        if case .array(let schemas)? = keywords["oneOf"], !schemas.isEmpty {
            var failures: [Failure] = []
            var matched = 0
            for schema in schemas {
                if let failure = check(schema, value, depth: depth + 1, &walk) {
                    if failure.aborted { return failure }
                    failures.append(failure)
                } else {
                    matched += 1
                    if matched > 1 { return walk.fail("matches more than one of the oneOf schemas") }
                }
            }
            if matched == 0 {
                return closest(failures, or: "matches none of the oneOf schemas (got \(Self.typeName(of: value)))", &walk)
            }
        }
        if let schema = keywords["not"] {
            let failure = check(schema, value, depth: depth + 1, &walk)
            if let failure, failure.aborted { return failure }
            if failure == nil { return walk.fail("matches the schema under 'not'") }
        }
        return nil
    }

    /// Of the branches that failed, the one that got furthest into the value (a nullable object
    /// whose member is wrong reports that member); when none got past the value itself, `reason`.
    private func closest(_ failures: [Failure], or reason: String, _ walk: inout Walk) -> Failure {
        let deepest = failures.max { $0.path.count < $1.path.count }
        if let deepest, deepest.path.count > walk.path.count { return deepest }
        return walk.fail(reason)
    }

    /// JSON Schema equality: numbers by value, objects regardless of member order; nil when the
    /// check's budget ran out.
    private func equal(_ a: JSONValue, _ b: JSONValue, depth: Int, _ walk: inout Walk) -> Bool? {
        if walk.spend(1) != nil || depth > limits.depth { return nil }
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.integer, _), (.number, _):
            guard let x = SchemaNumber(a), let y = SchemaNumber(b) else { return false }
            return x == y
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (left, right) in zip(x, y) {
                guard let same = equal(left, right, depth: depth + 1, &walk) else { return nil }
                if !same { return false }
            }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, left) in x {
                guard let right = y[key] else { return false }
                guard let same = equal(left, right, depth: depth + 1, &walk) else { return nil }
                if !same { return false }
            }
            return true
        default:
            return false
        }
    }

    // MARK: - Names in messages

    /// A non-negative whole count (`minLength`, `maxItems`, …); nil for anything else.
    static func count(_ json: JSONValue?) -> Int? {
        switch json {
        case .integer(let i)? where i >= 0: return i
        case .number(let d)? where d >= 0 && d.rounded() == d && d < 1e15: return Int(d)
        default: return nil
        }
    }

    private static func value(_ value: JSONValue, isOfType type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("number", .integer), ("number", .number), ("integer", .integer): return true
        case ("integer", .number(let d)): return d.isFinite && d.rounded() == d
        default: return false
        }
    }

    static func typeName(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// A scalar as JSON, cut short; containers by their kind, so a message never holds a document.
    private static func brief(_ value: JSONValue) -> String {
        switch value {
        case .array: return "an array"
        case .object: return "an object"
        case .number, .integer: return SchemaNumber(value).map { "\($0)" } ?? "a number"
        default: return cut(JSONText.encode(value))
        }
    }

    private static func cut(_ text: String) -> String {
        text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}

/// A violation as found, before its path is spelt; `aborted` when a bound ended the check, which
/// `anyOf`, `oneOf` and `not` pass on rather than read as "this branch does not match".
private struct Failure {
    var path: [JSONPathStep]
    var reason: String
    var aborted: Bool
}

/// What one check carries down: the path so far, the budgets left, the patterns compiled.
private struct Walk {
    var path: [JSONPathStep] = []
    var stepsLeft: Int
    var patternBudget: Int
    var patterns: [String: NSRegularExpression?] = [:]
    let stepLimit: Int

    init(limits: JSONSchemaChecker.Limits) {
        stepsLeft = limits.steps
        stepLimit = limits.steps
        patternBudget = limits.patternProgress
    }

    /// Takes `steps` from the budget; the failure that ends the check when it is spent.
    mutating func spend(_ steps: Int) -> Failure? {
        stepsLeft -= steps
        return stepsLeft < 0 ? exhausted : nil
    }

    var exhausted: Failure {
        Failure(path: [], reason: "too large to check (more than \(stepLimit) steps)", aborted: true)
    }

    func fail(_ reason: String) -> Failure {
        Failure(path: path, reason: reason, aborted: false)
    }

    func abort(_ reason: String) -> Failure {
        Failure(path: path, reason: reason, aborted: true)
    }

    /// `pattern` compiled once per check; nil when it does not compile (then it is not applied).
    mutating func regex(_ pattern: String) -> NSRegularExpression? {
        if let compiled = patterns[pattern] { return compiled }
        let compiled = SchemaPattern.compile(pattern)
        patterns[pattern] = compiled
        return compiled
    }
}

/// A JSON number as a schema compares it: integers exactly, anything else as a `Double`.
struct SchemaNumber: Comparable, CustomStringConvertible {
    private enum Value {
        case integer(Int)
        case double(Double)
    }

    private let value: Value

    init?(_ json: JSONValue?) {
        switch json {
        case .integer(let i)?: value = .integer(i)
        case .number(let d)? where d.isFinite: value = .double(d)
        default: return nil
        }
    }

    private var double: Double {
        switch value {
        case .integer(let i): return Double(i)
        case .double(let d): return d
        }
    }

    static func == (a: SchemaNumber, b: SchemaNumber) -> Bool {
        if case .integer(let x) = a.value, case .integer(let y) = b.value { return x == y }
        return a.double == b.double
    }

    static func < (a: SchemaNumber, b: SchemaNumber) -> Bool {
        if case .integer(let x) = a.value, case .integer(let y) = b.value { return x < y }
        return a.double < b.double
    }

    func isMultiple(of divisor: SchemaNumber) -> Bool {
        if case .integer(let x) = value, case .integer(let m) = divisor.value, m > 0 { return x % m == 0 }
        guard divisor.double > 0 else { return true }
        let quotient = double / divisor.double
        guard quotient.isFinite else { return false }
        return abs(quotient - quotient.rounded()) <= 1e-9 * max(1, abs(quotient))
    }

    /// Whole numbers without a fraction (`3`, not `3.0`), as a reader of the message wrote them.
    var description: String {
        switch value {
        case .integer(let i): return String(i)
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return String(Int(d))
        case .double(let d): return String(d)
        }
    }
}
