import Hummingbird
import NIOCore

/// The request context of every route.
///
/// Raises the body limit to 4 MiB (Hummingbird's default is 2 MiB, and prompts built from documents
/// are larger) and carries the request id the answer will show.
struct MockRequestContext: RequestContext {
    /// Bodies above this size get 413.
    static let maximumBodySize = 4 * 1024 * 1024

    var coreContext: CoreRequestContextStorage
    /// 32 hex digits, set by `RequestIDMiddleware`; also the random part of reply and tool-call ids.
    var requestID = ""
    /// The connection, for the one answer that must end it abruptly (`reset_mid_body`).
    let channel: any Channel

    init(source: Source) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    var maxUploadSize: Int { Self.maximumBodySize }
}
