import Shared

/// An object of an upstream's answer, its members read by `Decodable`'s rules from the value
/// ``JSONValueReader`` read: a member declared optional may be missing or `null`, but one of the
/// wrong type — or a required one missing — makes the whole answer malformed, as decoding it
/// into a `Decodable` struct did. Reading the text once into a ``JSONValue`` and taking the
/// members from it costs a fraction of `JSONDecoder` (issue 13).
struct ReplyFields {
    /// The answer is not of the shape the provider documents.
    struct Malformed: Error {}

    let members: [String: JSONValue]

    init(_ value: JSONValue?) throws(Malformed) {
        guard case .object(let members)? = value else { throw Malformed() }
        self.members = members
    }

    /// A member that must be an object.
    func object(_ key: String) throws(Malformed) -> ReplyFields {
        try ReplyFields(members[key])
    }

    /// A member that must be an array.
    func array(_ key: String) throws(Malformed) -> [JSONValue] {
        guard case .array(let elements)? = members[key] else { throw Malformed() }
        return elements
    }

    /// A member that must be a string.
    func string(_ key: String) throws(Malformed) -> String {
        guard case .string(let text)? = members[key] else { throw Malformed() }
        return text
    }

    /// A string that may be missing or `null`.
    func optionalString(_ key: String) throws(Malformed) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw Malformed()
        }
    }

    /// An object that may be missing or `null`.
    func optionalObject(_ key: String) throws(Malformed) -> [String: JSONValue]? {
        switch members[key] {
        case nil, .null?: return nil
        case .object(let members)?: return members
        default: throw Malformed()
        }
    }

    /// Any value, nil when missing or `null`.
    func optionalValue(_ key: String) -> JSONValue? {
        switch members[key] {
        case nil, .null?: return nil
        case let value?: return value
        }
    }
}
