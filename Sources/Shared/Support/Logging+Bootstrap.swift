public import Logging
public import Telemetry

extension LoggingSystem {
    /// Logs to standard output at `level`, as `format` (`LOG_FORMAT`), once per process.
    public static func bootstrapOnce(level: Logger.Level, format: LogFormat = .text) {
        LoggingBootstrap.once(level: level, format: format)
    }
}

private enum LoggingBootstrap {
    nonisolated(unsafe) static var done = false
    static func once(level: Logger.Level, format: LogFormat) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in format.handler(label: label, level: level) }
    }
}
