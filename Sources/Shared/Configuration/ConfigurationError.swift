/// A configuration value that is missing or unusable. The message names the variable, so that an
/// operator reading a failed start knows what to fix.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(variable: String)
    case invalid(variable: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let variable): return "\(variable) is required but not set"
        case .invalid(let variable, let reason): return "\(variable) \(reason)"
        }
    }
}
