import ServiceLifecycle

/// Routes each announcement stream this worker subscribes to — a pub/sub channel behind an
/// `AsyncStream` — to its handler: a cancel from a job's owner to the job running here
/// (``InFlight/cancel(_:)``), a cool-down another worker learnt of to the providers' health
/// (``ProviderHealth/applyAnnouncement(_:)``). The handlers own what an announcement means; the
/// router only subscribes when it starts, delivers in order, and unsubscribes at graceful
/// shutdown. Announcements are hints: one lost is learnt again (lease renewal stops a cancelled
/// job, the next 429 cools a model down).
struct AnnouncementRouter: Service {
    /// One channel and its handler.
    struct Route: Sendable {
        let channel: String
        fileprivate let deliver: @Sendable () async -> Void

        /// Hands each element of the stream `subscribe` opens to `handler`, in order.
        init<Element: Sendable>(
            _ channel: String,
            _ subscribe: @escaping @Sendable () -> AsyncStream<Element>,
            to handler: @escaping @Sendable (Element) -> Void
        ) {
            self.channel = channel
            deliver = {
                for await element in subscribe().cancelOnGracefulShutdown() { handler(element) }
            }
        }
    }

    let routes: [Route]

    /// Delivers until graceful shutdown (or cancellation), each route in a task of its own.
    func run() async {
        await withDiscardingTaskGroup { group in
            for route in routes { group.addTask { await route.deliver() } }
        }
    }
}
