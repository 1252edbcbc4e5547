import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ProcessLimits
import Synchronization

/// `saas-bench webhook-receiver`: the receiving end of `scripts/bench-webhooks.sh` — answers
/// every POST at once with 204, and counts what it got: requests, distinct `webhook-id`s (the rest
/// are duplicates, which at-least-once allows), bytes. `GET /stats` answers the counts as one
/// JSON line; so does stdout when SIGTERM ends it.
struct WebhookReceiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook-receiver",
        abstract: "A webhook receiver that answers at once and counts deliveries."
    )

    @Option(help: "The port to listen on (127.0.0.1).")
    var port: Int = 8192

    /// What has arrived.
    final class Counts: Sendable {
        private struct State {
            var requests = 0
            var bytes = 0
            var ids: Set<String> = []
        }

        private let state = Mutex(State())

        func add(id: String?, bytes: Int) {
            state.withLock { state in
                state.requests += 1
                state.bytes += bytes
                if let id { state.ids.insert(id) }
            }
        }

        var json: String {
            state.withLock { state in
                #"{"bench":"webhook-receiver","requests":\#(state.requests),"distinct_ids":\#(state.ids.count),"bytes":\#(state.bytes)}"#
            }
        }
    }

    func run() async throws {
        _ = FileDescriptorLimit.raise()
        let counts = Counts()
        let router = Router()
        router.post("/{path}") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            counts.add(id: request.headers.first { $0.name.canonicalName == "webhook-id" }?.value, bytes: body.readableBytes)
            return .noContent
        }
        router.get("/stats") { _, _ -> String in counts.json }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            logger: logger
        )
        try await app.runService()
        print(counts.json)
    }
}
