import Foundation
import Postgres

extension PostgresClient {
    /// Runs `body` with a table of the calling test's own (`prefix_` and 8 random hex digits),
    /// dropped at the end whether `body` succeeds or throws.
    func withScratchTable<T: Sendable>(prefix: String, columns: String, _ body: (String) async throws -> T) async throws -> T {
        let table = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        // Table names cannot be bound parameters; this one is generated above, never user input.
        try await withConnection { try await $0.executeScript("CREATE TABLE \(table) (\(columns))") }
        do {
            let result = try await body(table)
            try await withConnection { try await $0.executeScript("DROP TABLE \(table)") }
            return result
        } catch {
            _ = try? await withConnection { try await $0.executeScript("DROP TABLE \(table)") }
            throw error
        }
    }
}
