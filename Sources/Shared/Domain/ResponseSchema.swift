/// What a job's `response_format` asks of its answer's `content`, for the worker to hold the
/// final answer to it (a document job's reduce step): a JSON object (`json_object`), or JSON that
/// fits a schema (`json_schema`).
///
/// `text`, an absent or `null` format, and types this service does not know ask for nothing.
/// Submit refuses malformed formats (``ResponseFormatRules``); one accepted earlier is read as
/// leniently as it can be: a `json_schema` without a usable schema asks for any JSON value.
public struct ResponseSchema: Sendable, Hashable {
    public enum Requirement: Sendable, Hashable {
        /// `json_object`: any JSON object.
        case jsonObject
        /// `json_schema`: a JSON value that fits the schema.
        case schema(JSONValue)
    }

    public var requirement: Requirement

    public init(requirement: Requirement) {
        self.requirement = requirement
    }

    /// The requirement of `responseFormat`; nil when it asks for nothing.
    public init?(responseFormat: JSONValue?) {
        guard case .object(let format)? = responseFormat else { return nil }
        switch format["type"]?.stringValue {
        case "json_object":
            requirement = .jsonObject
        case "json_schema":
            switch format["json_schema"]?.objectValue?["schema"] {
            case let schema? where schema.objectValue != nil || schema == .bool(true) || schema == .bool(false):
                requirement = .schema(schema)
            default:
                requirement = .schema(.object([:]))
            }
        default:
            return nil
        }
    }

    /// The content to keep — its JSON text, without a surrounding code fence (``AnswerJSON``) —
    /// when it fits; else the first violation (``SchemaViolation/jobMessage`` is the failed
    /// job's error message).
    ///
    /// Bounded in time and stack whatever the content and the schema (``JSONSchemaChecker``).
    public func check(_ content: String) throws(SchemaViolation) -> String {
        let answer = try AnswerJSON.parse(content)
        switch requirement {
        case .jsonObject:
            guard case .object = answer.value else {
                throw SchemaViolation(path: "$", reason: "expected object, got \(JSONSchemaChecker.typeName(of: answer.value))")
            }
        case .schema(let schema):
            if let violation = JSONSchemaChecker(schema: schema).violation(of: answer.value) { throw violation }
        }
        return answer.text
    }
}

extension JobWork {
    /// What the job's `response_format` asks of its final answer; nil when nothing.
    public var responseSchema: ResponseSchema? { ResponseSchema(responseFormat: responseFormat) }

    /// The tokens a document's calls spend on instructions: the job's own, plus what the worker
    /// adds — the schema of the final answer, spelled out in its prompt, and the request for
    /// page references of an uploaded document. Planned into every call's room (a bound from
    /// above: only the final call carries the schema), so the final call fits its context and the
    /// reservation covers it.
    public var documentInstructionTokens: Int {
        var tokens = Billing.estimateTokens(instructions ?? "")
        switch responseSchema?.requirement {
        case .schema(let schema)?: tokens += Billing.estimateTokens(JSONText.encode(schema)) + 32
        case .jsonObject?: tokens += 16
        case nil: break
        }
        if upload != nil { tokens += 48 }
        return tokens
    }
}
