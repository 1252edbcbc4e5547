import CLibPQ
import DedicatedThreads
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One libpq connection. Every method blocks and must run on `thread` (asserted in debug builds);
/// ``PostgresClient`` is the async face over it. The only file that touches libpq's C types.
final class PostgresConnection: @unchecked Sendable {
    let thread: DedicatedThread
    private let configuration: PostgresConfiguration
    private var connection: OpaquePointer?
    /// Statements prepared on this connection, by SQL text. Our SQL is constant text with bound
    /// parameters, so the set is small; past `maxPrepared` new statements run unnamed.
    private var prepared: [String: String] = [:]
    private let maxPrepared = 512
    /// Set between ``begin(_:)`` and ``commit()``/``rollback()``.
    private(set) var transactionOpen = false
    /// Times this connection waited for the server (a statement, a prepare, a whole pipeline),
    /// and times a caller handed it work (``PostgresSession``): for tests that count round trips.
    var roundTrips = 0
    var handOffs = 0

    init(configuration: PostgresConfiguration, thread: DedicatedThread) {
        self.configuration = configuration
        self.thread = thread
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    /// Connects, or replaces a connection the server closed while it sat idle
    /// (`pg_terminate_backend`, a restart): an idle connection has nothing to read, so a readable
    /// socket means the server said goodbye.
    func connectIfNeeded() throws(PostgresError) {
        thread.assertCurrent()
        if let connection {
            if PQstatus(connection) == CONNECTION_OK && !socketHasInput(connection) { return }
            // Never reconnect under an open transaction: its statements would silently run
            // outside it. The transaction fails instead, and is retried whole by its owner.
            if transactionOpen {
                close()
                throw .connectionLost("connection closed during a transaction")
            }
            close()
        }
        // The URL is expanded first; the keywords after it add what every session needs: UTC and
        // ISO dates (so timestamps decode without guessing) and a name in pg_stat_activity.
        let keywords = ["dbname", "application_name", "options", "connect_timeout"]
        let values = [
            configuration.url, configuration.applicationName, "-c TimeZone=UTC -c DateStyle=ISO -c client_min_messages=warning",
            String(max(1, Int(configuration.connectTimeout.rounded(.up)))),
        ]
        let newConnection: OpaquePointer? = Self.withCStrings(keywords) { k in
            Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let newConnection else {
            throw .connectFailed("cannot allocate a libpq connection")
        }
        guard PQstatus(newConnection) == CONNECTION_OK else {
            let message = Self.message(PQerrorMessage(newConnection))
            PQfinish(newConnection)
            throw .connectFailed(message)
        }
        connection = newConnection
    }

    /// A NULL-terminated array of C strings, as libpq's `*Params` functions want.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    func close() {
        if let connection { PQfinish(connection) }
        connection = nil
        prepared.removeAll()
        transactionOpen = false
    }

    /// Runs one statement with bound parameters (prepared once per connection, then executed).
    /// With `begin`, the transaction's `BEGIN` goes first, in the same round trip.
    func query(_ sql: String, _ binds: [PostgresBind], begin: String? = nil) throws(PostgresError) -> PostgresRows {
        thread.assertCurrent()
        if binds.contains(where: \.containsNUL) {
            // The transaction starts even so: its owner sees the error and rolls it back.
            if let begin { try self.begin(begin) }
            throw .invalidParameter("text must not contain NUL characters")
        }
        if let begin { return try pipeline([PostgresStatement(sql, binds)], begin: begin)[0] }
        try connectIfNeeded()
        guard let connection else { throw .connectionLost("no connection") }
        let wire = binds.map(\.wire)
        roundTrips += 1
        let result: OpaquePointer? = withParameters(wire) { values, lengths, formats in
            if let name = prepared[sql] {
                return PQexecPrepared(connection, name, Int32(binds.count), values, lengths, formats, 0)
            }
            if prepared.count < maxPrepared {
                let name = "s\(prepared.count)"
                let types = binds.map { Oid($0.typeOID) }
                roundTrips += 1
                let prepareResult = PQprepare(connection, name, sql, Int32(binds.count), types)
                let status = PQresultStatus(prepareResult)
                guard status == PGRES_COMMAND_OK else { return prepareResult }
                PQclear(prepareResult)
                prepared[sql] = name
                return PQexecPrepared(connection, name, Int32(binds.count), values, lengths, formats, 0)
            }
            let types = binds.map { Oid($0.typeOID) }
            return PQexecParams(connection, sql, Int32(binds.count), types, values, lengths, formats, 0)
        }
        return try consume(result, connection: connection)
    }

    /// Runs SQL text without parameters, possibly several statements (migrations, `BEGIN`,
    /// `COMMIT`). Never used for values: those are bound with ``query(_:_:)``.
    @discardableResult
    func executeSimple(_ sql: String) throws(PostgresError) -> PostgresRows {
        thread.assertCurrent()
        guard let connection else { throw .connectionLost("no connection") }
        roundTrips += 1
        return try consume(PQexec(connection, sql), connection: connection)
    }

    func begin(_ sql: String) throws(PostgresError) {
        try connectIfNeeded()
        try executeSimple(sql)
        transactionOpen = true
    }

    /// Commits. A broken connection here leaves the outcome unknown, which callers must not guess.
    func commit() throws(PostgresError) {
        thread.assertCurrent()
        defer { transactionOpen = false }
        guard let connection else { throw .connectionLost("no connection") }
        if PQtransactionStatus(connection) == PQTRANS_INERROR {
            // COMMIT of an aborted transaction "succeeds" as a rollback; say what happened.
            _ = try? executeSimple("ROLLBACK")
            throw .server(sqlState: "25P02", message: "current transaction is aborted, commit was a rollback", detail: nil)
        }
        do {
            try executeSimple("COMMIT")
        } catch .connectionLost(let message) {
            throw .commitOutcomeUnknown(message)
        }
    }

    /// Rolls back, dropping the connection if even that fails.
    func rollback() {
        thread.assertCurrent()
        transactionOpen = false
        guard connection != nil else { return }
        if (try? executeSimple("ROLLBACK")) == nil { close() }
    }

    /// Runs `statements` as one pipeline: every statement (prepared like ``query(_:_:)``, a new
    /// one prepared within the pipeline) is sent before the first answer is read, so they cost one
    /// round trip together. Inside a transaction they run in it, and a failure leaves it aborted
    /// for its owner to roll back; outside one, they are one implicit transaction (all or none).
    ///
    /// With `begin`, the transaction's `BEGIN` goes first in the same pipeline (see
    /// ``PostgresSession``: a transaction's first statement carries it).
    func pipeline(_ statements: [PostgresStatement], begin: String? = nil) throws(PostgresError) -> [PostgresRows] {
        thread.assertCurrent()
        do {
            try Self.refuseNUL(statements)
        } catch {
            if let begin { try self.begin(begin) }
            throw error
        }
        try connectIfNeeded()
        guard let connection else { throw .connectionLost("no connection") }
        if begin != nil { transactionOpen = true }
        return try runPipeline(statements, begin: begin, commit: false, connection)
    }

    /// Sends `statements` and then `COMMIT` as one pipeline (one round trip), ending the
    /// transaction whatever happens, as ``commit()`` does: when a statement fails the rest and
    /// `COMMIT` are skipped by the server (`PGRES_PIPELINE_ABORTED`), the transaction is rolled
    /// back here and the first statement's error is thrown (with its SQLSTATE); a connection lost
    /// before `COMMIT` was sent is ``PostgresError/connectionLost(_:)`` (nothing committed, safe to
    /// run again), one lost after it was sent and before its answer is
    /// ``PostgresError/commitOutcomeUnknown(_:)``.
    ///
    /// With `begin` (a transaction with no statement before these), the whole transaction —
    /// `BEGIN`, the statements, `COMMIT` — is this one round trip.
    func commit(pipelining statements: [PostgresStatement], begin: String? = nil) throws(PostgresError) -> [PostgresRows] {
        thread.assertCurrent()
        defer { transactionOpen = false }
        do {
            try Self.refuseNUL(statements)
            try connectIfNeeded()
        } catch {
            if begin == nil { rollback() }  // else nothing was sent: there is no transaction to end
            throw error
        }
        guard let connection else { throw .connectionLost("no connection") }
        if begin != nil {
            transactionOpen = true
        } else if PQtransactionStatus(connection) == PQTRANS_INERROR {
            rollback()
            throw .server(sqlState: "25P02", message: "current transaction is aborted, commit was a rollback", detail: nil)
        }
        do {
            return try runPipeline(statements, begin: begin, commit: true, connection)
        } catch {
            // A statement failed, so COMMIT was skipped and the transaction is aborted, still open:
            // end it now, since its owner sees a failed commit and will not.
            if let open = self.connection, PQtransactionStatus(open) != PQTRANS_IDLE { rollback() }
            throw error
        }
    }

    private static func refuseNUL(_ statements: [PostgresStatement]) throws(PostgresError) {
        for statement in statements where statement.binds.contains(where: \.containsNUL) {
            throw .invalidParameter("text must not contain NUL characters")
        }
    }

    /// One step of a pipeline, in the order its answer comes back.
    private enum PipelineStep {
        case begin
        case prepare(sql: String, name: String)
        case execute
        case commit
    }

    /// Sends everything, then reads every answer up to the pipeline's sync point, then leaves
    /// pipeline mode — or closes the connection: it is never left in pipeline mode. The sending
    /// is non-blocking and drains answers meanwhile, so a large pipeline cannot deadlock with a
    /// server that is blocked writing answers nobody reads.
    private func runPipeline(
        _ statements: [PostgresStatement],
        begin: String? = nil,
        commit: Bool,
        _ connection: OpaquePointer
    ) throws(PostgresError) -> [PostgresRows] {
        roundTrips += 1
        var commitSent = false
        var committed = false
        /// The connection broke: whether COMMIT may have run decides what the caller may do.
        func lost(_ message: String) -> PostgresError {
            close()
            return commitSent && !committed ? .commitOutcomeUnknown(message) : .connectionLost(message)
        }
        guard PQenterPipelineMode(connection) == 1 else { throw lost(Self.message(PQerrorMessage(connection))) }
        guard PQsetnonblocking(connection, 1) == 0 else { throw lost(Self.message(PQerrorMessage(connection))) }
        var steps: [PipelineStep] = []
        if let begin {
            guard PQsendQueryParams(connection, begin, 0, nil, nil, nil, nil, 0) == 1 else {
                throw lost(Self.message(PQerrorMessage(connection)))
            }
            steps.append(.begin)
        }
        var naming: [String: String] = [:]
        for statement in statements {
            let types = statement.binds.map { Oid($0.typeOID) }
            let count = Int32(statement.binds.count)
            var name = prepared[statement.sql] ?? naming[statement.sql]
            if name == nil, prepared.count + naming.count < maxPrepared {
                let newName = "s\(prepared.count + naming.count)"
                guard PQsendPrepare(connection, newName, statement.sql, count, types) == 1 else {
                    throw lost(Self.message(PQerrorMessage(connection)))
                }
                naming[statement.sql] = newName
                steps.append(.prepare(sql: statement.sql, name: newName))
                name = newName
            }
            let sent: Int32 = withParameters(statement.binds.map(\.wire)) { values, lengths, formats in
                if let name { return PQsendQueryPrepared(connection, name, count, values, lengths, formats, 0) }
                return PQsendQueryParams(connection, statement.sql, count, types, values, lengths, formats, 0)
            }
            guard sent == 1 else { throw lost(Self.message(PQerrorMessage(connection))) }
            steps.append(.execute)
        }
        if commit {
            commitSent = true  // from here on, part of it may reach the server
            guard PQsendQueryParams(connection, "COMMIT", 0, nil, nil, nil, nil, 0) == 1 else {
                throw lost(Self.message(PQerrorMessage(connection)))
            }
            steps.append(.commit)
        }
        // Outside a transaction the statements are an implicit one that commits at the sync
        // point: once it may reach the server, a lost connection leaves the outcome unknown.
        if !commit && !transactionOpen { commitSent = true }
        guard PQpipelineSync(connection) == 1 else { throw lost(Self.message(PQerrorMessage(connection))) }
        while true {
            let flushed = PQflush(connection)
            if flushed == 0 { break }
            guard flushed == 1 else { throw lost(Self.message(PQerrorMessage(connection))) }
            var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN | POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, -1)
            if descriptor.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0, PQconsumeInput(connection) == 0 {
                throw lost(Self.message(PQerrorMessage(connection)))
            }
        }
        guard PQsetnonblocking(connection, 0) == 0 else { throw lost(Self.message(PQerrorMessage(connection))) }

        var rows: [PostgresRows] = []
        rows.reserveCapacity(statements.count)
        var firstError: PostgresError?
        for step in steps {
            guard let result = PQgetResult(connection) else { throw lost(Self.message(PQerrorMessage(connection))) }
            let status = PQresultStatus(result)
            switch status {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                switch step {
                case .begin: break
                case .prepare(let sql, let name): prepared[sql] = name
                case .execute: rows.append(Self.rows(result))
                case .commit: committed = true
                }
                PQclear(result)
            case PGRES_PIPELINE_ABORTED:
                PQclear(result)  // skipped after an earlier failure, which is the error to report
            default:
                let (error, connectionBroke) = Self.failure(result, connection)
                PQclear(result)
                if connectionBroke { throw lost(Self.message(PQerrorMessage(connection))) }
                if firstError == nil { firstError = error }
            }
            // Each step's answers end with a NULL (the sync point's does not).
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        let sync = PQgetResult(connection)
        let synced = sync.map { PQresultStatus($0) == PGRES_PIPELINE_SYNC } ?? false
        if let sync { PQclear(sync) }
        guard synced, PQexitPipelineMode(connection) == 1 else {
            if committed {
                // COMMIT answered: the transaction is durable whatever became of the connection.
                close()
                return rows
            }
            throw lost(Self.message(PQerrorMessage(connection)))
        }
        if let firstError { throw firstError }
        return rows
    }

    /// A failed result as an error, and whether it means the connection is gone.
    private static func failure(_ result: OpaquePointer, _ connection: OpaquePointer) -> (PostgresError, connectionBroke: Bool) {
        if PQstatus(connection) != CONNECTION_OK {
            return (.connectionLost(message(PQerrorMessage(connection))), true)
        }
        let state = field(result, "C") ?? "XX000"
        let text = field(result, "M") ?? message(PQresultErrorMessage(result))
        if state.hasPrefix("08") || state == PostgresError.Code.adminShutdown {
            return (.connectionLost(text), true)
        }
        return (.server(sqlState: state, message: text, detail: field(result, "D")), false)
    }

    private func socketHasInput(_ connection: OpaquePointer) -> Bool {
        var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    private func consume(_ result: OpaquePointer?, connection: OpaquePointer) throws(PostgresError) -> PostgresRows {
        guard let result else {
            let message = Self.message(PQerrorMessage(connection))
            close()
            throw .connectionLost(message)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return Self.rows(result)
        default:
            if PQstatus(connection) != CONNECTION_OK {
                let message = Self.message(PQerrorMessage(connection))
                close()
                throw .connectionLost(message)
            }
            let state = Self.field(result, "C") ?? "XX000"
            let message = Self.field(result, "M") ?? Self.message(PQresultErrorMessage(result))
            if state.hasPrefix("08") || state == PostgresError.Code.adminShutdown {
                close()
                throw .connectionLost(message)
            }
            throw .server(sqlState: state, message: message, detail: Self.field(result, "D"))
        }
    }

    private static func rows(_ result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            values.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, values: values, affectedRows: affected)
    }

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
        return String(cString: value)
    }

    private static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "unknown error" }
        return String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Lays the parameters out for libpq: one pointer, length and format per value.
    private func withParameters<R>(
        _ wire: [(bytes: [UInt8]?, binary: Bool)],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        var storage: [UInt8] = []
        var offsets: [Int?] = []
        for (bytes, binary) in wire {
            guard let bytes else {
                offsets.append(nil)
                continue
            }
            offsets.append(storage.count)
            storage.append(contentsOf: bytes)
            if !binary { storage.append(0) }  // text values are C strings
        }
        let lengths = wire.map { Int32($0.bytes?.count ?? 0) }
        let formats = wire.map { Int32($0.binary ? 1 : 0) }
        if storage.isEmpty { storage.append(0) }
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { $0.map { base + $0 } }
            return pointers.withUnsafeBufferPointer { p in
                lengths.withUnsafeBufferPointer { l in
                    formats.withUnsafeBufferPointer { f in
                        body(p.baseAddress, l.baseAddress, f.baseAddress)
                    }
                }
            }
        }
    }
}
