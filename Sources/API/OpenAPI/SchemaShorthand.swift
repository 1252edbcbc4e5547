import OpenAPIKit

/// Short spellings for the schemas of the catalogue, so that each component reads like the
/// answer it describes. Properties are required unless marked `.optional`; answers' objects
/// allow properties they do not list (API.md: "more fields are welcome").
extension JSONSchema {
    /// A reference to `#/components/schemas/<name>`.
    static func ref(_ name: String) -> JSONSchema { .reference(.component(named: name)) }

    /// A component's reference that may also be `null`.
    static func nullableRef(_ name: String) -> JSONSchema {
        .any(of: [.ref(name), .null()])
    }

    static func text(_ description: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil) -> JSONSchema {
        .string(description: description, minLength: minLength, maxLength: maxLength, pattern: pattern)
    }

    static func nullableText(_ description: String? = nil) -> JSONSchema {
        .string(nullable: true, description: description)
    }

    static func oneOfText(_ values: [String], description: String? = nil) -> JSONSchema {
        .string(description: description, allowedValues: values.map { AnyCodable($0) })
    }

    static var uuid: JSONSchema { .string(format: .other("uuid")) }
    static var nullableUUID: JSONSchema { .string(format: .other("uuid"), nullable: true) }
    static var timestamp: JSONSchema { .string(format: .dateTime, description: "RFC 3339, UTC, milliseconds") }
    static var nullableTimestamp: JSONSchema { .string(format: .dateTime, nullable: true) }

    static func count(_ description: String? = nil) -> JSONSchema { .integer(description: description) }
    static var nullableInteger: JSONSchema { .integer(nullable: true) }
    static func int(_ range: ClosedRange<Int>, _ description: String? = nil) -> JSONSchema {
        .integer(description: description, maximum: (range.upperBound, exclusive: false), minimum: (range.lowerBound, exclusive: false))
    }
    static func number(_ range: ClosedRange<Double>, _ description: String? = nil) -> JSONSchema {
        .number(description: description, maximum: (range.upperBound, exclusive: false), minimum: (range.lowerBound, exclusive: false))
    }
    static var money: JSONSchema { .number(description: "USD") }
    static var nullableMoney: JSONSchema { .number(nullable: true, description: "USD") }

    /// Any JSON object (metadata and the like).
    static var anyObject: JSONSchema { .object(description: "any JSON object") }
    /// Any JSON value, `null` included.
    static func anyValue(_ description: String) -> JSONSchema { .fragment(description: description) }

    static func list(_ items: JSONSchema, minItems: Int? = nil, maxItems: Int? = nil) -> JSONSchema {
        .array(minItems: minItems, maxItems: maxItems, items: items)
    }

    /// An object with these properties (each required unless marked `.optional`).
    static func record(_ description: String? = nil, _ properties: OrderedDictionary<String, JSONSchema>) -> JSONSchema {
        .object(description: description, properties: properties)
    }

    /// `{"<things>": [...], "next_cursor": "<opaque>" | null}`.
    static func page(_ name: String, of item: String) -> JSONSchema {
        .record("A page, newest first; `next_cursor` is null on the last one.", [name: .list(.ref(item)), "next_cursor": .nullableText("opaque")])
    }

    /// One event of a `text/event-stream` answer, as a client parses it (OpenAPI 3.1 has no
    /// item schema for streams, so fuzzers check each event against the answer's schema).
    static var serverSentEvent: JSONSchema {
        .record(
            "One server-sent event; `data` is JSON text",
            [
                "data": .text(), "event": JSONSchema.text().optional, "id": JSONSchema.text().optional,
                "retry": JSONSchema.integer().optional,
            ]
        )
    }

    /// The property may be left out.
    var optional: JSONSchema { optionalSchemaObject() }
}
