import Logging
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The wrappers an extractor runs under, found once per process by probing: `unshare -n` (no
/// network: a new, empty network namespace; needs root or CAP_SYS_ADMIN), else `unshare -rn`
/// (the same inside a new user namespace, for unprivileged workers where the kernel allows it),
/// else nothing — logged once, as a warning. `prlimit --data=<bytes> --core=0` holds the child's
/// memory and writes no core file; without prlimit the run has no memory limit (also logged
/// once). Both wrappers exec the extractor in their own process, so the child's pid is the
/// extractor's and a kill reaches it.
///
/// Why `--data` (RLIMIT_DATA: private writable memory, heap and anonymous maps alike) and not
/// `--as` (address space): pandoc's GHC runtime reserves its heap's address space up front,
/// trying 1 TiB and shrinking by an eighth until it fits, and then needs a little more for its
/// threads' stacks. Under an address-space limit that leftover is a matter of luck: pandoc
/// 2.17 (GHC 9.0) could not start at all under `--as` of 448, 544, 576, 600 or 976 MiB, but did
/// at 512, 640 or 1024. Its reservation is not writable, so RLIMIT_DATA ignores it and limits what
/// is really used: pandoc fails with "Unable to commit … bytes of memory", C/C++ extractors
/// with a failed allocation.
struct Sandbox: Sendable, Hashable {
    /// `["/usr/bin/unshare", "-n", "--"]`, `["/usr/bin/unshare", "-rn", "--"]` or empty.
    var network: [String]
    /// prlimit's path, nil when absent.
    var prlimit: String?

    /// The command line that runs `executable` under the wrappers.
    func commandLine(_ executable: String, _ arguments: [String], memoryLimitBytes: Int) -> [String] {
        var line = network
        if let prlimit { line += [prlimit, "--data=\(memoryLimitBytes)", "--core=0", "--"] }
        return line + [executable] + arguments
    }

    /// Tries the wrappers once each (`unshare -n true`, …) and keeps what works.
    static func probe(logger: Logger) async -> Sandbox {
        var sandbox = Sandbox(network: [], prlimit: ExecutableLookup.find("prlimit"))
        if let unshare = ExecutableLookup.find("unshare") {
            for flag in ["-n", "-rn"] where await succeeds([unshare, flag, "--", "true"]) {
                sandbox.network = [unshare, flag, "--"]
                break
            }
        }
        if sandbox.network.isEmpty {
            logger.warning("document extractors run WITH network access: neither `unshare -n` nor `unshare -rn` works here")
        }
        if let prlimit = sandbox.prlimit, !(await succeeds([prlimit, "--data=\(1 << 30)", "--core=0", "--", "true"])) {
            sandbox.prlimit = nil
        }
        if sandbox.prlimit == nil {
            logger.warning("document extractors run WITHOUT a memory limit: prlimit (util-linux) is missing or does not work")
        }
        return sandbox
    }

    private static func succeeds(_ command: [String]) async -> Bool {
        do {
            let result = try await Subprocess.run(
                .path(FilePath(command[0])),
                arguments: Arguments(Array(command.dropFirst())),
                environment: .custom(["PATH": ExecutableLookup.defaultPath]),
                output: .discarded,
                error: .discarded
            )
            return result.terminationStatus.isSuccess
        } catch {
            return false
        }
    }
}

/// Finds executables the way a shell would, without one.
enum ExecutableLookup {
    /// The `PATH` extractors get, and the one searched when the worker's own has none.
    static let defaultPath = "/usr/local/bin:/usr/bin:/bin"

    /// `name` when it holds a slash and is executable; otherwise the first executable `name` in
    /// `PATH`. Nil when there is none.
    static func find(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let searched = path ?? getenv("PATH").map { String(cString: $0) } ?? defaultPath
        for directory in searched.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
