import Foundation
import Hummingbird
import Shared

/// Field rules shared by the controllers. Each failure is a 422 whose sentence names the field.
enum Validate {
    /// `organization_id`, `team_id`, `group_name`, provider names: 1–64 of letters, digits, `-_.`.
    static func identifier(_ value: String, field: String) throws(APIError) {
        guard (1...64).contains(value.utf8.count),
            value.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 })
        else {
            throw .invalidIdentifier(field)
        }
    }

    /// Lengths are counted in Unicode scalars (code points), as PostgreSQL's `length(...)`
    /// checks count them: "e" and 150 combining accents is one `Character` but 151 code points.
    static func length(_ value: String) -> Int { value.unicodeScalars.count }

    static func name(_ value: String, field: String, max: Int = 200) throws(APIError) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, length(value) <= max else {
            throw .lengthNotBetweenOneAnd(max, field: field)
        }
    }

    static func optionalName(_ value: String?, field: String, max: Int = 200) throws(APIError) {
        if let value, length(value) > max {
            throw .longerThan(max, field: field)
        }
    }

    /// Metadata objects are at most 16 KiB of JSON.
    static func metadata(_ value: JSONObject?, field: String = "metadata") throws(APIError) {
        guard let value else { return }
        guard JobMetadata.fits(value) else {
            throw .metadataTooLarge(field)
        }
    }

    static func range(_ value: Int, _ range: ClosedRange<Int>, field: String) throws(APIError) {
        guard range.contains(value) else {
            throw .notBetween(range.lowerBound, range.upperBound, field: field)
        }
    }

    /// A path parameter; an impossible identifier cannot name anything, so it is a 404 later —
    /// but 10 KB of it is refused here without touching the database.
    static func pathIdentifier(_ value: String) -> Bool {
        (1...64).contains(value.utf8.count)
    }
}

/// `limit` (default 50, at most 100) and `cursor` of list routes.
struct ListQuery {
    var limit: Int
    var position: String?

    init(_ request: Hummingbird.Request) throws(APIError) {
        let query = request.uri.queryParameters
        if let raw = query["limit"] {
            guard let value = Int(String(raw)), value >= 1 else {
                throw .limitInvalid
            }
            limit = min(value, 100)
        } else {
            limit = 50
        }
        if let raw = query["cursor"], !raw.isEmpty {
            guard let position = Cursor.decode(String(raw)) else {
                throw .cursorInvalid
            }
            self.position = position
        }
    }
}
