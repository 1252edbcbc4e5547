import Configuration
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Redis
import Shared

@testable import API

#if canImport(Glibc)
import Glibc
#endif

/// The end-to-end stack: the API in-process over real HTTP, real `saas-worker` and
/// `saas-mock-llm` processes, and a database and Redis db of their own (`saas_e2e`, db 3), so
/// that workers here never meet other suites' jobs.
enum E2E {
    static let databaseURL = ProcessInfo.processInfo.environment["E2E_DATABASE_URL"] ?? "postgresql://saas:saas@127.0.0.1:5433/saas_e2e"
    static let redisURL = ProcessInfo.processInfo.environment["E2E_REDIS_URL"] ?? "redis://127.0.0.1:6381/3"
    static let adminKey = AppConfiguration.developmentMasterKey

    /// Short lease, sweep and heartbeat periods so that recovery happens within a test.
    static let environment: [String: String] = [
        "ENVIRONMENT": "test", "DATABASE_URL": databaseURL, "REDIS_URL": redisURL, "LOG_LEVEL": "warning",
        "LEASE_SECONDS": "3", "SWEEP_INTERVAL_SECONDS": "1", "HEARTBEAT_SECONDS": "1",
        "RETRY_BASE_SECONDS": "0.05", "RETRY_CAP_SECONDS": "0.3", "WORKER_SHUTDOWN_GRACE_SECONDS": "1",
        "DATABASE_POOL_SIZE": "8", "CIRCUIT_OPEN_SECONDS": "2", "CIRCUIT_FAILURE_THRESHOLD": "3",
        // Several workers run at once here: none serves /metrics unless a test gives it a port.
        "WORKER_METRICS_PORT": "0",
        // The test client holds one connection for a whole test and does not reconnect: the
        // server must not close it as idle while a test waits on its workers.
        "HTTP_IDLE_TIMEOUT_SECONDS": "3600",
    ]

    /// Where `swift build` put the executables: beside the test bundle.
    static var binDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    private static let prepared = PreparedOnce()

    /// Creates and migrates the e2e database once per test run.
    static func prepare() async throws {
        try await prepared.run {
            // The database is the URL's last path component (another checkout or a parallel run
            // may name its own); it is created from the server's `postgres` database if missing.
            let name = String(databaseURL.split(separator: "/").last ?? "saas_e2e")
            precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "E2E database name must be an identifier")
            let admin = PostgresClient(
                configuration: PostgresConfiguration(
                    url: databaseURL.replacingOccurrences(of: "/\(name)", with: "/postgres"),
                    poolSize: 1
                )
            )
            defer { admin.shutdown() }
            let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(name)])
            if exists.isEmpty {
                // CREATE DATABASE takes no parameters; the name was checked to be an identifier above.
                _ = try? await admin.withConnection { try await $0.executeScript("CREATE DATABASE \(name)") }
            }
            let client = PostgresClient(configuration: PostgresConfiguration(url: databaseURL, poolSize: 1))
            defer { client.shutdown() }
            try await Migrator(client: client).migrate()
            // A run killed while its fleet was paused must not leave the next one paused: the
            // sweeper would set every run's fresh queue from this record.
            try await client.query("DELETE FROM fleet_pause")
        }
    }

    static func postgres() -> PostgresClient {
        PostgresClient(configuration: PostgresConfiguration(url: databaseURL, poolSize: 4, applicationName: "e2e-tests"))
    }

    static func redis() throws -> RedisClient {
        RedisClient(configuration: try RedisConfiguration(url: redisURL))
    }

    /// Runs `body` against the API served over HTTP on a free port, with its sweeper and
    /// completion listener running; `extra` overrides the configuration (e.g. `MAX_DOCUMENT_BYTES`).
    static func withAPI<T: Sendable>(
        environment extra: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        try await prepare()
        var logger = Logger(label: "e2e-api")
        logger.logLevel = .warning
        let settings = environment.merging(extra) { $1 }
        let configuration = try AppConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: settings)))
        let dependencies = try AppDependencies(configuration: configuration, logger: logger)
        return try await buildApplication(dependencies, logger: logger).test(.live) { client in try await body(client) }
    }
}

/// A child process of the test: a worker or the mock upstream.
final class ManagedProcess: @unchecked Sendable {
    let process = Process()
    let name: String

    init(_ executable: String, arguments: [String] = [], environment: [String: String], name: String) throws {
        self.name = name
        process.executableURL = E2E.binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let logs = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".data/test-logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let logFile = logs.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func kill9() { kill(pid, SIGKILL) }
    func terminate() { kill(pid, SIGTERM) }

    /// Waits for the process to exit, up to `timeout`; true when it did.
    @discardableResult
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return !process.isRunning
    }

    /// SIGTERM, then SIGKILL if it does not exit within `grace`.
    func stop(grace: Duration = .seconds(10)) async {
        guard process.isRunning else { return }
        terminate()
        if !(await waitForExit(timeout: grace)) {
            kill9()
            await waitForExit(timeout: .seconds(5))
        }
    }

    static func worker(_ name: String, concurrency: Int = 16, environment extra: [String: String] = [:]) async throws -> ManagedProcess {
        try await E2E.prepare()
        var environment = E2E.environment
        environment["WORKER_CONCURRENCY"] = String(concurrency)
        environment.merge(extra) { $1 }
        return try ManagedProcess("saas-worker", environment: environment, name: name)
    }
}

/// The mock upstream, on a free port.
final class MockUpstream: @unchecked Sendable {
    let process: ManagedProcess
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(name: String) async throws {
        port = MockUpstream.freePort()
        process = try ManagedProcess("saas-mock-llm", arguments: ["--host", "127.0.0.1", "--port", String(port)], environment: [:], name: name)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if (try? await MockUpstream.httpGet(port: port, path: "/health")) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.mockDidNotStart
    }

    /// Changes how the mock answers (`latency_ms`, `mode`, `failure_rate`, …).
    func behave(_ json: String) async throws {
        _ = try await MockUpstream.httpRequest(port: port, method: "PUT", path: "/_mock/behaviour", body: json)
    }

    func stats() async throws -> [String: Any] {
        let data = try await MockUpstream.httpGet(port: port, path: "/_mock/stats")
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func stop() async { await process.stop() }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func httpGet(port: Int, path: String) async throws -> Data {
        try await httpRequest(port: port, method: "GET", path: path, body: nil)
    }

    /// A minimal HTTP/1.1 exchange over a socket, enough to drive the mock's control routes.
    static func httpRequest(port: Int, method: String, path: String, body: String?) async throws -> Data {
        try await Task.detached {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw HarnessError.http("socket") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw HarnessError.http("connect") }
            // Polling a port nothing listens on yet can connect the socket to itself (Linux's
            // simultaneous open when the ephemeral source port is that port): the read below
            // would then wait for itself forever. CI once hung 80 minutes here.
            var local = sockaddr_in()
            var localLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
            }
            guard Int(UInt16(bigEndian: local.sin_port)) != port else { throw HarnessError.http("connected to itself") }
            // And whatever answers, a read never waits past 10 s.
            var limit = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            let payload = body ?? ""
            let request =
                "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var response = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                response.append(contentsOf: buffer[0..<n])
            }
            guard let separator = response.range(of: Data("\r\n\r\n".utf8)) else { throw HarnessError.http("no response") }
            let head = String(decoding: response[..<separator.lowerBound], as: UTF8.self)
            guard head.hasPrefix("HTTP/1.1 2") else { throw HarnessError.http(head) }
            return Data(response[separator.upperBound...])
        }.value
    }
}

enum HarnessError: Error {
    case mockDidNotStart
    case http(String)
    case timeout(String)
}

/// Runs a piece of set-up once, however many tests ask for it concurrently.
actor PreparedOnce {
    private var task: Task<Void, any Error>?

    func run(_ body: @escaping @Sendable () async throws -> Void) async throws {
        if let task { return try await task.value }
        let task = Task { try await body() }
        self.task = task
        try await task.value
    }
}
