public import Logging

/// `LOG_FORMAT`: how a process writes its log lines. `text` is swift-log's own line shape (written
/// by ``TextLogHandler``, which formats it more cheaply), for people;
/// `json` is one ``JSONLogLine`` object per line, for log shippers (no parsing rules to keep).
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json

    /// A handler writing this format to `stream` at `level`: what a process passes to
    /// `LoggingSystem.bootstrap`.
    public func handler(label: String, level: Logger.Level, stream: JSONLogHandler.Stream = .standardOutput) -> any LogHandler {
        switch self {
        case .text:
            var handler = TextLogHandler(label: label, stream: stream)
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler(label: label, stream: stream)
            handler.logLevel = level
            return handler
        }
    }
}
