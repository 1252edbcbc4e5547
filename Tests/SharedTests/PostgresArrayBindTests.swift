import Foundation
import Postgres
import Testing

@testable import Shared

/// `PostgresBind.textArray`: its type is the one the statement's cast names, so the literal is
/// parsed once at bind time rather than cast again for every row a generic plan meets.
@Suite("Array parameters take the type their cast names")
struct PostgresArrayBindTests {
    @Test("a prepared statement's array parameters are uuid[], bigint[] and jsonb[], not text[] cast per row")
    func parameterTypes() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        let ids = [UUID.random(), UUID.random()]
        try await postgres.withConnection { session in
            let rows = try await session.query(
                "SELECT u, n, j FROM unnest($1::uuid[], $2::bigint[], $3::jsonb[]) AS t(u, n, j) ORDER BY n",
                [.textArray(ids.map(\.lowercasedString)), .textArray(["1", nil]), .textArray([#"{"a":"\"quoted\""}"#, "[1,2]"])]
            )
            let all = Array(rows)
            #expect(try all.map { try $0.decode("u", as: UUID.self) } == ids)
            #expect(try all[0].decode("n", as: Int.self) == 1)
            #expect(try all[1].decodeIfPresent("n", as: Int.self) == nil)
            #expect(try all[0].decode("j", as: String.self) == #"{"a": "\"quoted\""}"#)
            // The statement was prepared with the types the casts name.
            let types = try await session.query(
                "SELECT parameter_types::text AS types FROM pg_prepared_statements WHERE statement LIKE 'SELECT u, n, j FROM unnest%'"
            )
            #expect(try types.first?.decode("types", as: String.self) == "{uuid[],bigint[],jsonb[]}")
        }
    }

    @Test("an element that is not of the named type is refused with 22P02, and the connection goes on")
    func badElement() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        await #expect {
            try await postgres.query("SELECT count(*) AS n FROM unnest($1::uuid[])", [.textArray(["not-a-uuid"])])
        } throws: { error in
            (error as? PostgresError)?.sqlState == "22P02"
        }
        let rows = try await postgres.query("SELECT cardinality($1::text[]) AS n", [.textArray(["a", "b", "c"])])
        #expect(try rows.first?.decode("n", as: Int.self) == 3)
    }

    @Test("an element holding U+0000 is refused before anything is sent, whatever type the cast names")
    func nulElement() async throws {
        let postgres = TestEnvironment.postgres(poolSize: 1)
        defer { postgres.shutdown() }
        for sql in ["SELECT cardinality($1::text[]) AS n", "SELECT cardinality($1::jsonb[]) AS n"] {
            await #expect {
                try await postgres.query(sql, [.textArray(["ok", "bad\u{0}tail"])])
            } throws: { error in
                guard case .invalidParameter = error as? PostgresError else { return false }
                return true
            }
        }
    }
}
