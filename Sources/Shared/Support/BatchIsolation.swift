/// One bad item never fails its neighbours (SYSTEM.md, guarantee 11). Grouped work — many
/// submits or settlements in one transaction — fails whole when PostgreSQL refuses something one
/// item carries; this finds that item by halving the batch (about 2·log₂ n extra transactions
/// for one bad item, instead of one per item) and lets the caller decide what becomes of it alone.
public enum BatchIsolation {
    /// Runs `batch` over `items`; when it throws an error that `isItemError` blames on the
    /// content, runs each half again, down to single items, whose error goes to `alone`.
    /// Errors not blamed on the content (a lost connection) are thrown as they are.
    public static func run<Item: Sendable, Output: Sendable>(
        _ items: [Item],
        isItemError: (any Error) -> Bool,
        batch: ([Item]) async throws -> [Output],
        alone: (Item, any Error) async throws -> Output
    ) async throws -> [Output] {
        guard !items.isEmpty else { return [] }
        do {
            return try await batch(items)
        } catch  where isItemError(error) {
            if items.count == 1 { return [try await alone(items[0], error)] }
            let middle = items.count / 2
            let first = try await run(Array(items[..<middle]), isItemError: isItemError, batch: batch, alone: alone)
            let second = try await run(Array(items[middle...]), isItemError: isItemError, batch: batch, alone: alone)
            return first + second
        }
    }
}
