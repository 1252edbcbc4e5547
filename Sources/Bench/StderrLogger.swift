import Logging

/// A logger for the clients under test that writes to stderr: stdout carries only the JSON line.
func stderrLogger(_ label: String) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}
