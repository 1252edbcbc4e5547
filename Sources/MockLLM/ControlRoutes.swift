import Hummingbird
import Logging
import NIOCore

/// The routes that steer and observe the mock, and `/health`.
///
/// - `GET /health` → `{"status":"ok"}`
/// - `GET /_mock/behaviour` → the behaviour; `PUT /_mock/behaviour` replaces the fields it lists,
///   restarts the call counter, and answers the new behaviour (400 for an unknown field or a bad value)
/// - `POST /_mock/reset` → back to the behaviour given at start
/// - `GET /_mock/stats` → the counters; `POST /_mock/stats/reset` zeroes them
/// - `/_mock/redirect-target` (any method) → 200, counted: where the hostile mode's redirects
///   point, so that a client that follows them is caught
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
            self.state.hostile.reset()
            return self.statsResponse()
        }
        for method in [HTTPRequest.Method.get, .post, .put, .head, .delete, .patch] {
            router.on(RouterPath(HostileAnswer.redirectTargetPath), method: method) { _, context in
                self.state.hostile.redirectFollowed()
                context.logger.warning("a client followed a hostile redirect", metadata: ["method": "\(method)"])
                return Self.json { $0.raw("{\"redirect_followed\":true}") }
            }
        }
    }

    private static func behaviourResponse(_ behaviour: MockBehaviour) -> Response {
        json { behaviour.write(into: &$0) }
    }

    /// `{"total","by_status":{"200":…},"by_path":{…},"in_flight","max_in_flight","behaviour_calls","behaviour_failures",
    /// "hostile":{"<kind>":…},"redirect_target_hits"}`
    private func statsResponse() -> Response {
        let stats = self.state.stats.snapshot
        let counters = self.state.behaviour.counters
        let hostile = self.state.hostile.snapshot
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
            writer.raw(",\"hostile\":{")
            for (index, (kind, count)) in hostile.byKind.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(kind.rawValue)
                writer.raw(":")
                writer.int(count)
            }
            writer.raw("},\"redirect_target_hits\":")
            writer.int(hostile.redirectTargetHits)
            writer.raw("}")
        }
    }

    private static func json(_ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(capacity: 256)
        write(&writer)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: writer.buffer))
    }
}
