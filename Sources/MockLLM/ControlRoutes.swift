import Hummingbird
import NIOCore

/// The routes that steer and observe the mock, and `/health`.
///
/// - `GET /health` → `{"status":"ok"}`
/// - `GET /_mock/behaviour` → the behaviour; `PUT /_mock/behaviour` replaces the fields it lists,
///   restarts the call counter, and answers the new behaviour (400 for an unknown field or a bad value)
/// - `POST /_mock/reset` → back to the behaviour given at start
/// - `GET /_mock/stats` → the counters; `POST /_mock/stats/reset` zeroes them
struct ControlRoutes: Sendable {
    let state: MockState

    func add(to router: Router<MockRequestContext>) {
        router.get("/health") { _, _ in
            Self.json { $0.raw("{\"status\":\"ok\"}") }
        }
        router.get("/_mock/behaviour") { _, _ in
            Self.behaviourResponse(self.state.behaviour.current)
        }
        router.put("/_mock/behaviour") { request, context in
            switch await JSONBody.decode(BehaviourUpdate.self, from: request.body, context: context) {
            case .failure(let error):
                return error.response(.openAI, requestID: context.requestID)
            case .success(let update):
                switch self.state.behaviour.apply(update) {
                case .success(let behaviour):
                    context.logger.info("behaviour changed", metadata: ["behaviour": "\(behaviour.json)"])
                    return Self.behaviourResponse(behaviour)
                case .failure(let problem):
                    return UpstreamError.invalidRequest(problem.message).response(.openAI, requestID: context.requestID)
                }
            }
        }
        router.post("/_mock/reset") { _, context in
            let behaviour = self.state.behaviour.reset()
            context.logger.info("behaviour reset", metadata: ["behaviour": "\(behaviour.json)"])
            return Self.behaviourResponse(behaviour)
        }
        router.get("/_mock/stats") { _, _ in
            self.statsResponse()
        }
        router.post("/_mock/stats/reset") { _, _ in
            self.state.stats.reset()
            return self.statsResponse()
        }
    }

    private static func behaviourResponse(_ behaviour: MockBehaviour) -> Response {
        json { behaviour.write(into: &$0) }
    }

    /// `{"total","by_status":{"200":…},"by_path":{…},"in_flight","max_in_flight","behaviour_calls","behaviour_failures"}`
    private func statsResponse() -> Response {
        let stats = self.state.stats.snapshot
        let counters = self.state.behaviour.counters
        return Self.json { writer in
            writer.raw("{\"total\":")
            writer.int(stats.total)
            writer.raw(",\"by_status\":{")
            for (index, status) in stats.byStatus.keys.sorted().enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(String(status))
                writer.raw(":")
                writer.int(stats.byStatus[status]!)
            }
            writer.raw("},\"by_path\":{")
            for (index, path) in stats.byPath.keys.sorted().enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(path)
                writer.raw(":")
                writer.int(stats.byPath[path]!)
            }
            writer.raw("},\"in_flight\":")
            writer.int(stats.inFlight)
            writer.raw(",\"max_in_flight\":")
            writer.int(stats.maxInFlight)
            writer.raw(",\"behaviour_calls\":")
            writer.int(counters.calls)
            writer.raw(",\"behaviour_failures\":")
            writer.int(counters.failures)
            writer.raw("}")
        }
    }

    private static func json(_ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(capacity: 256)
        write(&writer)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: writer.buffer))
    }
}
