#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open files, raised once at start by every executable that holds many
/// connections: the worker (one per in-flight call), the mock upstream (the benchmarks keep 1,000
/// connections open at once), the API and the load generators.
///
/// The usual soft limit of 1,024 leaves no margin for that, while the hard limit is usually far
/// higher, and an unprivileged process may raise its soft limit up to its hard one.
public enum FileDescriptorLimit {
    /// Raises the soft limit to `wanted`, or to the hard limit when `wanted` is nil; never lowers
    /// it and never goes above the hard limit.
    ///
    /// - Returns: the soft limit now in force (compare it with `wanted`: the hard limit may be
    ///   lower), or nil when it could not be read.
    @discardableResult
    public static func raise(to wanted: Int? = nil) -> Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return nil }
        let target = wanted.map { min(rlim_t(clamping: max(0, $0)), limit.rlim_max) } ?? limit.rlim_max
        if target > limit.rlim_cur {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // unlimited (all ones) clamps to Int.max
    }
}
