public import ServiceLifecycle

/// A service that does nothing until graceful shutdown, then runs `action` — how connection pools
/// are closed after the services that use them have stopped (a service group stops its services
/// in reverse order, so list this one first).
public struct ShutdownHook: Service {
    let action: @Sendable () async -> Void

    public init(_ action: @escaping @Sendable () async -> Void) {
        self.action = action
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}
