import Foundation

/// The opaque `next_cursor` of lists: the position after the last row served, base64-encoded so
/// clients treat it as a token rather than something to build.
public enum Cursor {
    public static func encode(_ position: String) -> String {
        Data(position.utf8).base64EncodedString()
    }

    /// The position, or nil for a cursor this service did not make.
    public static func decode(_ cursor: String) -> String? {
        guard let data = Data(base64Encoded: cursor) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}

/// One page of a list and where the next one starts.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}
