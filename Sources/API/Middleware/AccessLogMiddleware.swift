import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// One log line per answer, written when its head is known: method, path, status and how long it
/// took to get there (a streamed body, `/events` or a call's stream, goes on after the line).
///
/// Every answer of 400 or more, and every one slower than ``slow``, is logged at `info`, since
/// those are what an operator looks for. Of the other answers one in `sample` is logged at
/// `info` and the rest at `debug`: a line per request cost the API about 5 % of its CPU under
/// submits (formatting and a `write` each), and `saas_http_requests_total` already counts every
/// request by route and status. `LOG_LEVEL=debug` logs them all.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Answers slower than this are always logged.
    static var slow: Duration { .seconds(1) }

    private let sample: Int
    private let counter = Counter()

    /// - Parameter sample: one successful answer in this many at `info` (`ACCESS_LOG_SAMPLE`);
    ///   0: none.
    init(sample: Int) {
        self.sample = sample
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, status: response.status.code, since: started, context.logger)
            return response
        } catch {
            // The error middleware turns errors into answers inside this one; what still arrives
            // here is Hummingbird's own (an unmatched route) or a broken connection.
            log(request, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started, context.logger)
            throw error
        }
    }

    private func log(_ request: Request, status: Int, since started: ContinuousClock.Instant, _ logger: Logger) {
        let elapsed = ContinuousClock.now - started
        let level: Logger.Level = status >= 400 || elapsed >= Self.slow || isSampled() ? .info : .debug
        guard logger.logLevel <= level else { return }
        logger.log(
            level: level,
            "Answered",
            metadata: [
                "hb.request.method": .string(request.method.rawValue),
                "hb.request.path": .string(request.uri.path),
                "http.status": .stringConvertible(status),
                "duration_ms": .stringConvertible(Self.milliseconds(elapsed)),
            ]
        )
    }

    private func isSampled() -> Bool {
        sample > 0 && counter.next() % sample == 0
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return (Double(seconds) * 1_000 + Double(attoseconds / 1_000_000_000_000) / 1_000).rounded(toPlaces: 3)
    }

    /// Shared by every copy of the middleware (routers copy it into each route's chain).
    private final class Counter: Sendable {
        private let value = Atomic<Int>(0)

        func next() -> Int {
            value.wrappingAdd(1, ordering: .relaxed).newValue
        }
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
