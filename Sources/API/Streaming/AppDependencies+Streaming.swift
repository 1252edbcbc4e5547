import Shared

/// The two SSE feeds, built from the dependencies the routes share.
extension AppDependencies {
    private var keepAlive: Duration {
        .milliseconds(Int64(configuration.streamKeepAliveSeconds * 1000))
    }

    /// Streaming calls (`create-and-call-stream`, `llm-call-stream`): see ``CallEventFeed``.
    var callEventFeed: CallEventFeed {
        CallEventFeed(streams: callStreams, relay: streamRelay, keepAlive: keepAlive)
    }

    /// `GET /api/jobs/{job_id}/events`: see ``JobEventFeed``.
    var jobEventFeed: JobEventFeed {
        JobEventFeed(jobs: jobs, relay: streamRelay, keepAlive: keepAlive)
    }
}
