/// One statement with its bound parameters, as a value: what a pipeline sends (see
/// ``PostgresSession/pipeline(_:)`` and ``PostgresClient/withPipelinedTransaction(isolation:maxAttempts:kind:_:)``).
/// Like ``PostgresSession/query(_:_:)``, the SQL is constant text and values are only ever bound.
public struct PostgresStatement: Sendable, Hashable {
    public let sql: String
    public let binds: [PostgresBind]

    public init(_ sql: String, _ binds: [PostgresBind] = []) {
        self.sql = sql
        self.binds = binds
    }
}

/// What the body of ``PostgresClient/withPipelinedTransaction(isolation:maxAttempts:kind:_:)``
/// hands back: its last writes, which travel with `COMMIT` in one pipeline (one round trip), and
/// how to make the transaction's value from their rows once it committed.
///
/// The writes are whatever the body no longer needs an answer from to decide what comes next:
/// ledger rows, job rows, the statements after the lock-and-read. Taking them as a value (rather
/// than letting the body commit) keeps a statement from ever running after `COMMIT` outside the
/// transaction, and keeps the transaction's semantics those of ``PostgresClient/withTransaction(isolation:maxAttempts:kind:_:)``.
public struct PostgresCommit<Value> {
    public let statements: [PostgresStatement]
    let finish: ([PostgresRows]) throws -> Value

    /// `finish` gets the statements' rows, in order, after the commit. It runs once the
    /// transaction committed: whatever it throws is no reason to run the transaction again, so
    /// keep it to decoding.
    public init(_ statements: [PostgresStatement], finish: @escaping ([PostgresRows]) throws -> Value) {
        self.statements = statements
        self.finish = finish
    }

    /// Statements whose rows nobody reads, then `value`.
    public init(_ statements: [PostgresStatement], value: Value) {
        self.init(statements) { _ in value }
    }
}
