public import Logging

extension LoggingSystem {
    /// Logs to standard output at `level`, once per process.
    public static func bootstrapOnce(level: Logger.Level) {
        LoggingBootstrap.once(level: level)
    }
}

private enum LoggingBootstrap {
    nonisolated(unsafe) static var done = false
    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
