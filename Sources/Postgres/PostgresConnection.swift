import CLibPQ
import DedicatedThreads
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One libpq connection in non-blocking mode, used by one task at a time (the one its pool lent
/// it to; asserted in debug builds). A statement is sent and its answer read by that task itself;
/// when the socket is not ready it suspends on ``PostgresReactor`` rather than blocking a thread of
/// the Swift pool. Only connecting blocks (name lookup, TLS, authentication, all inside libpq), so
/// it runs on a thread of its own that ends with it. The only file that touches libpq's C types.
final class PostgresConnection: @unchecked Sendable {
    private let reactor = PostgresReactor.shared
    private let configuration: PostgresConfiguration
    private var connection: OpaquePointer?
    /// Set while a caller uses the connection: two at once would interleave libpq's protocol state.
    private let inUse = Atomic<Bool>(false)
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

    init(configuration: PostgresConfiguration) {
        self.configuration = configuration
    }

    deinit {
        close()
    }

    /// Whether the server may have closed the connection since it was last used: true when a
    /// caller takes it up, so that only the first statement of each use looks (a `poll`).
    private var mayHaveIdled = true

    /// Marks the start of one caller's use; debug builds trap if another caller is inside.
    func enter() {
        let wasInUse = inUse.exchange(true, ordering: .acquiring)
        assert(!wasInUse, "two tasks used one PostgreSQL connection at once")
        mayHaveIdled = true
    }

    func leave() {
        inUse.store(false, ordering: .releasing)
    }

    /// Connects, or replaces a connection the server closed while it sat idle
    /// (`pg_terminate_backend`, a restart): an idle connection has nothing to read, so a readable
    /// socket means the server said goodbye.
    func connectIfNeeded() async throws(PostgresError) {
        if let connection {
            if PQstatus(connection) == CONNECTION_OK && !(mayHaveIdled && socketHasInput(connection)) {
                mayHaveIdled = false
                return
            }
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
        // Connecting blocks (name lookup, TLS, authentication, up to `connect_timeout`), so it
        // happens on a short-lived thread of its own — connections connect in parallel, and a
        // slow one holds up no other; everything after it is non-blocking.
        let connector = DedicatedThread(name: "postgres-connect")
        defer { connector.stop() }
        let outcome: Result<LibPQHandle, PostgresError>
        do {
            outcome = try await connector.run { () -> Result<LibPQHandle, PostgresError> in
                let newConnection: OpaquePointer? = Self.withCStrings(keywords) { k in
                    Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
                }
                guard let newConnection else {
                    return .failure(.connectFailed("cannot allocate a libpq connection"))
                }
                guard PQstatus(newConnection) == CONNECTION_OK else {
                    let message = Self.message(PQerrorMessage(newConnection))
                    PQfinish(newConnection)
                    return .failure(.connectFailed(message))
                }
                guard PQsetnonblocking(newConnection, 1) == 0 else {
                    let message = Self.message(PQerrorMessage(newConnection))
                    PQfinish(newConnection)
                    return .failure(.connectFailed(message))
                }
                return .success(LibPQHandle(pointer: newConnection))
            }
        } catch {
            throw .connectFailed("the connecting thread stopped: \(error)")
        }
        connection = try outcome.get().pointer
    }

    /// A connection made on the connecting thread, handed to the task that asked for it.
    private struct LibPQHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// A NULL-terminated array of C strings, as libpq's `*Params` functions want.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    func close() {
        if let connection {
            reactor.forget(socket: PQsocket(connection))
            PQfinish(connection)
        }
        connection = nil
        prepared.removeAll()
        transactionOpen = false
    }

    /// Runs one statement with bound parameters (prepared once per connection, then executed).
    /// With `begin`, the transaction's `BEGIN` goes first, in the same round trip.
    func query(_ sql: String, _ binds: [PostgresBind], begin: String? = nil) async throws(PostgresError) -> PostgresRows {
        if binds.contains(where: \.containsNUL) {
            // The transaction starts even so: its owner sees the error and rolls it back.
            if let begin { try await self.begin(begin) }
            throw .invalidParameter("text must not contain NUL characters")
        }
        if let begin { return try await pipeline([PostgresStatement(sql, binds)], begin: begin)[0] }
        try await connectIfNeeded()
        guard let connection else { throw .connectionLost("no connection") }
        let wire = binds.map(\.wire)
        let count = Int32(binds.count)
        roundTrips += 1
        var name = prepared[sql]
        if name == nil, prepared.count < maxPrepared {
            let newName = "s\(prepared.count)"
            roundTrips += 1
            let types = binds.map { Oid($0.typeOID) }
            guard PQsendPrepare(connection, newName, sql, count, types) == 1 else { throw lost(connection) }
            try await flush(connection)
            _ = try await finish(connection)
            prepared[sql] = newName
            name = newName
        }
        let sent: Int32 = withParameters(wire) { values, lengths, formats in
            if let name { return PQsendQueryPrepared(connection, name, count, values, lengths, formats, 0) }
            let types = binds.map { Oid($0.typeOID) }
            return PQsendQueryParams(connection, sql, count, types, values, lengths, formats, 0)
        }
        guard sent == 1 else { throw lost(connection) }
        try await flush(connection)
        return try await finish(connection)
    }

    /// Runs SQL text without parameters, possibly several statements (migrations, `BEGIN`,
    /// `COMMIT`). Never used for values: those are bound with ``query(_:_:)``.
    @discardableResult
    func executeSimple(_ sql: String) async throws(PostgresError) -> PostgresRows {
        guard let connection else { throw .connectionLost("no connection") }
        roundTrips += 1
        guard PQsendQuery(connection, sql) == 1 else { throw lost(connection) }
        try await flush(connection)
        return try await finish(connection)
    }

    func begin(_ sql: String) async throws(PostgresError) {
        try await connectIfNeeded()
        try await executeSimple(sql)
        transactionOpen = true
    }

    /// The connection broke: closes it and says why.
    private func lost(_ connection: OpaquePointer) -> PostgresError {
        let message = Self.message(PQerrorMessage(connection))
        close()
        return .connectionLost(message)
    }

    /// Sends what libpq holds in its output buffer, waiting for the socket when it is full (and
    /// reading meanwhile, so a server blocked writing answers is never deadlocked with us).
    private func flush(_ connection: OpaquePointer) async throws(PostgresError) {
        while true {
            let flushed = PQflush(connection)
            if flushed == 0 { return }
            guard flushed == 1 else { throw lost(connection) }
            let ready = await reactor.wait(socket: PQsocket(connection), for: [.readable, .writable])
            if !ready.isDisjoint(with: PostgresReactor.Readiness.readable.union(.failed)), PQconsumeInput(connection) == 0 { throw lost(connection) }
        }
    }

    /// The next result, reading from the socket (suspended on the reactor) until libpq has all of
    /// it; nil at the end of a command's results.
    private func nextResult(_ connection: OpaquePointer) async throws(PostgresError) -> OpaquePointer? {
        while PQisBusy(connection) == 1 {
            _ = await reactor.wait(socket: PQsocket(connection), for: .readable)
            guard PQconsumeInput(connection) == 1 else { throw lost(connection) }
        }
        return PQgetResult(connection)
    }

    /// Reads a command's results to their end, as `PQexec` would: the first failure is thrown,
    /// otherwise the last result's rows are returned.
    private func finish(_ connection: OpaquePointer) async throws(PostgresError) -> PostgresRows {
        var last: OpaquePointer?
        var failure: OpaquePointer?
        while let result = try await nextResult(connection) {
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                if let last { PQclear(last) }
                last = result
            default:
                if failure == nil { failure = result } else { PQclear(result) }
            }
        }
        if let failure {
            if let last { PQclear(last) }
            return try consume(failure, connection: connection)
        }
        guard let last else { throw lost(connection) }
        return try consume(last, connection: connection)
    }

    /// Commits. A broken connection here leaves the outcome unknown, which callers must not guess.
    func commit() async throws(PostgresError) {
        defer { transactionOpen = false }
        guard let connection else { throw .connectionLost("no connection") }
        if PQtransactionStatus(connection) == PQTRANS_INERROR {
            // COMMIT of an aborted transaction "succeeds" as a rollback; say what happened.
            _ = try? await executeSimple("ROLLBACK")
            throw .server(sqlState: "25P02", message: "current transaction is aborted, commit was a rollback", detail: nil)
        }
        do {
            try await executeSimple("COMMIT")
        } catch .connectionLost(let message) {
            throw .commitOutcomeUnknown(message)
        }
    }

    /// Rolls back, dropping the connection if even that fails.
    func rollback() async {
        transactionOpen = false
        guard connection != nil else { return }
        if (try? await executeSimple("ROLLBACK")) == nil { close() }
    }

    /// Runs `statements` as one pipeline: every statement (prepared like ``query(_:_:)``, a new
    /// one prepared within the pipeline) is sent before the first answer is read, so they cost one
    /// round trip together. Inside a transaction they run in it, and a failure leaves it aborted
    /// for its owner to roll back; outside one, they are one implicit transaction (all or none).
    ///
    /// With `begin`, the transaction's `BEGIN` goes first in the same pipeline (see
    /// ``PostgresSession``: a transaction's first statement carries it).
    func pipeline(_ statements: [PostgresStatement], begin: String? = nil) async throws(PostgresError) -> [PostgresRows] {
        do {
            try Self.refuseNUL(statements)
        } catch {
            if let begin { try await self.begin(begin) }
            throw error
        }
        try await connectIfNeeded()
        guard let connection else { throw .connectionLost("no connection") }
        if begin != nil { transactionOpen = true }
        return try await runPipeline(statements, begin: begin, commit: false, connection)
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
    func commit(pipelining statements: [PostgresStatement], begin: String? = nil) async throws(PostgresError) -> [PostgresRows] {
        defer { transactionOpen = false }
        do {
            try Self.refuseNUL(statements)
            try await connectIfNeeded()
        } catch {
            if begin == nil { await rollback() }  // else nothing was sent: there is no transaction to end
            throw error
        }
        guard let connection else { throw .connectionLost("no connection") }
        if begin != nil {
            transactionOpen = true
        } else if PQtransactionStatus(connection) == PQTRANS_INERROR {
            await rollback()
            throw .server(sqlState: "25P02", message: "current transaction is aborted, commit was a rollback", detail: nil)
        }
        do {
            return try await runPipeline(statements, begin: begin, commit: true, connection)
        } catch {
            // A statement failed, so COMMIT was skipped and the transaction is aborted, still open:
            // end it now, since its owner sees a failed commit and will not.
            if let open = self.connection, PQtransactionStatus(open) != PQTRANS_IDLE { await rollback() }
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
    /// pipeline mode — or closes the connection: it is never left in pipeline mode. Sending drains
    /// answers meanwhile (``flush(_:)``), so a large pipeline cannot deadlock with a server that is
    /// blocked writing answers nobody reads.
    private func runPipeline(
        _ statements: [PostgresStatement],
        begin: String? = nil,
        commit: Bool,
        _ connection: OpaquePointer
    ) async throws(PostgresError) -> [PostgresRows] {
        roundTrips += 1
        var commitSent = false
        var committed = false
        /// The connection broke: whether COMMIT may have run decides what the caller may do.
        func lost(_ message: String) -> PostgresError {
            close()
            return commitSent && !committed ? .commitOutcomeUnknown(message) : .connectionLost(message)
        }
        /// The same for a failure ``flush(_:)`` or ``nextResult(_:)`` met (they closed the
        /// connection already: only their message is left).
        func lost(_ error: PostgresError) -> PostgresError {
            if case .connectionLost(let message) = error { return lost(message) }
            return lost(error.description)
        }
        /// The pipeline's next result, read as it arrives.
        func next() async throws(PostgresError) -> OpaquePointer? {
            do {
                return try await nextResult(connection)
            } catch {
                throw lost(error)
            }
        }
        guard PQenterPipelineMode(connection) == 1 else { throw lost(Self.message(PQerrorMessage(connection))) }
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
        do {
            try await flush(connection)
        } catch {
            throw lost(error)
        }

        var rows: [PostgresRows] = []
        rows.reserveCapacity(statements.count)
        var firstError: PostgresError?
        for step in steps {
            guard let result = try await next() else { throw lost(Self.message(PQerrorMessage(connection))) }
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
            while let extra = try await next() { PQclear(extra) }
        }
        // A connection lost here, after COMMIT answered, still committed: nextResult closed it,
        // and `connection` must not be touched again.
        let sync = (try? await nextResult(connection)) ?? nil
        let open = self.connection != nil
        let synced = sync.map { PQresultStatus($0) == PGRES_PIPELINE_SYNC } ?? false
        if let sync { PQclear(sync) }
        guard open, synced, PQexitPipelineMode(connection) == 1 else {
            if committed {
                // COMMIT answered: the transaction is durable whatever became of the connection.
                close()
                return rows
            }
            throw lost(open ? Self.message(PQerrorMessage(connection)) : "connection lost at the pipeline's sync point")
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
