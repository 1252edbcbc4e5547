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
    func query(_ sql: String, _ binds: [PostgresBind]) throws(PostgresError) -> PostgresRows {
        thread.assertCurrent()
        if binds.contains(where: \.containsNUL) { throw .invalidParameter("text must not contain NUL characters") }
        try connectIfNeeded()
        guard let connection else { throw .connectionLost("no connection") }
        let wire = binds.map(\.wire)
        let result: OpaquePointer? = withParameters(wire) { values, lengths, formats in
            if let name = prepared[sql] {
                return PQexecPrepared(connection, name, Int32(binds.count), values, lengths, formats, 0)
            }
            if prepared.count < maxPrepared {
                let name = "s\(prepared.count)"
                let types = binds.map { Oid($0.typeOID) }
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
