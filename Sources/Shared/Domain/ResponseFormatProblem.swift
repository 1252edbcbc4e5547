/// Why submit refuses a `response_format` (``ResponseFormatRules``): the field, as a path from
/// the request body (`response_format.json_schema.schema.properties.age.minimum`), and what it
/// must be. The API spells the 422's sentence from these (`APIError+Details`).
public struct ResponseFormatProblem: Error, Sendable, Hashable {
    public enum Requirement: Sendable, Hashable {
        /// `is required`
        case present
        /// `must be an object`
        case object
        /// `must be one of text, json_object, json_schema`
        case formatType
        /// `must be 1-64 characters of letters, digits, '_' or '-'` (OpenAI's rule for names)
        case name
        /// `must be a boolean`
        case boolean
        /// `must be a schema (an object or a boolean)`
        case schema
        /// `must be a non-empty array of schemas`
        case schemaList
        /// `must be an object of schemas`
        case schemaMap
        /// `must be one of string, number, integer, boolean, object, array, null, or an array of them`
        case typeNames
        /// `must be an array of strings`
        case stringList
        /// `must be a non-empty array`
        case nonEmptyArray
        /// `must be a number`
        case number
        /// `must be a positive number`
        case positiveNumber
        /// `must be a number or a boolean` (draft 4's exclusive bounds)
        case numberOrBoolean
        /// `must be a non-negative integer`
        case count
        /// `must be a valid regular expression of at most N characters`
        case pattern(maxCharacters: Int)
        /// `must refer to a schema inside this one ('#' or '#/$defs/…')`
        case reference
        /// `must not lead back to the same schema without entering a property or an item`
        case referenceLoop
        /// `must nest at most N levels`
        case maxNesting(Int)
        /// `must be at most N KiB of JSON`
        case maxKiB(Int)
    }

    public var field: String
    public var requirement: Requirement

    public init(field: String, requirement: Requirement) {
        self.field = field
        self.requirement = requirement
    }
}
