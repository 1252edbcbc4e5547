import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run of an extractor binary, held to a wall-clock timeout, a memory limit and an output cap,
/// without network, with a minimal environment (`PATH`, `HOME` and `TMPDIR` = the workspace,
/// `LANG=C.UTF-8`), in the workspace, in a process group of its own. Past the timeout or the cap
/// the whole group is killed (SIGKILL) and reaped before ``run`` returns: no orphan is left.
struct ExtractorCommand: Sendable {
    /// How a run ended.
    enum Ending: Sendable, Hashable {
        case exited(Int32)
        case signaled(Int32)
        /// Killed at the timeout.
        case timedOut
        /// Killed when its output passed the cap (``Result/output`` holds what came before).
        case outputTooLarge
    }

    struct Result: Sendable {
        var ending: Ending
        var output: [UInt8]
        /// The start of its standard error (at most ``errorOutputLimit`` bytes), for diagnostics.
        var errorOutput: String
    }

    /// Standard error kept for classification and logs; the rest is read and dropped so the child
    /// never blocks on a full pipe.
    static let errorOutputLimit = 16 << 10

    var sandbox: Sandbox
    var timeout: Duration
    var memoryLimitBytes: Int
    var outputLimit: Int

    func run(_ executable: String, _ arguments: [String], in directory: FilePath) async throws(ExtractionError) -> Result {
        let line = sandbox.commandLine(executable, arguments, memoryLimitBytes: memoryLimitBytes)
        let environment = Environment.custom([
            "PATH": ExecutableLookup.defaultPath, "HOME": directory.string, "TMPDIR": directory.string, "LANG": "C.UTF-8",
        ])
        let options = {
            var options = PlatformOptions()
            options.processGroupID = 0  // a group of its own, whose id is the child's pid
            return options
        }()
        let child = ChildControl()
        let (timeout, outputLimit) = (self.timeout, self.outputLimit)
        do {
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask {
                    let execution = try await Subprocess.run(
                        .path(FilePath(line[0])),
                        arguments: Arguments(Array(line.dropFirst())),
                        environment: environment,
                        workingDirectory: directory,
                        platformOptions: options,
                        input: .none,
                        output: .sequence,
                        error: .sequence
                    ) { execution in
                        child.started(execution.processIdentifier.value)
                        async let errorOutput = Self.collect(execution.standardError, limit: Self.errorOutputLimit, stopAtLimit: false)
                        let output = try await Self.collect(execution.standardOutput, limit: outputLimit, stopAtLimit: true)
                        if output.overflowed { child.stop(because: .outputTooLarge) }
                        return (output.bytes, try await errorOutput.bytes)
                    }
                    let killedBecause = child.finished()
                    let (output, errorOutput) = execution.closureResult
                    let ending: Ending =
                        switch (killedBecause, execution.terminationStatus) {
                        case (.some(let reason), _): reason
                        case (nil, .exited(let code)): .exited(code)
                        case (nil, .signaled(let signal)): .signaled(signal)
                        }
                    return Result(ending: ending, output: output, errorOutput: String(decoding: errorOutput, as: UTF8.self))
                }
                group.addTask {
                    do {
                        try await Task.sleep(for: timeout)
                        child.stop(because: .timedOut)
                    } catch {
                        child.stop(because: nil)  // the caller was cancelled: the child goes too
                    }
                    return nil
                }
                var result: Result?
                while let next = try await group.next() {
                    if let next {
                        result = next
                        group.cancelAll()  // the timer
                    }
                }
                // A cancelled caller's child was killed: its ending says nothing of the document.
                guard let result, !Task.isCancelled else { throw CancellationError() }
                return result
            }
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .extractorUnusable("\(line[0]): \(error)")
        }
    }

    /// Reads a pipe to its end, keeping up to `limit` bytes. With `stopAtLimit` it returns as soon
    /// as more than `limit` arrived (the caller kills the child); otherwise it drains the rest.
    private static func collect(
        _ sequence: SubprocessOutputSequence,
        limit: Int,
        stopAtLimit: Bool
    ) async throws -> (bytes: [UInt8], overflowed: Bool) {
        var bytes: [UInt8] = []
        var overflowed = false
        for try await buffer in sequence {
            if bytes.count + buffer.count > limit {
                overflowed = true
                if stopAtLimit { break }
                let room = limit - bytes.count
                if room > 0 { buffer.withUnsafeBytes { bytes.append(contentsOf: $0.prefix(room)) } }
                continue
            }
            buffer.withUnsafeBytes { bytes.append(contentsOf: $0) }
        }
        return (bytes, overflowed)
    }
}

/// The running child's process group, shared by the reader (output cap), the timer and
/// cancellation: whoever kills first records why; nobody signals a group once it is reaped.
private final class ChildControl: Sendable {
    private enum State {
        case starting
        case running(pid_t)
        case finished
    }

    private struct Guarded {
        var state = State.starting
        var reason: ExtractorCommand.Ending?
        /// A kill asked for before the pid was known (or without a reason: cancellation).
        var pending = false
    }

    private let guarded = Mutex(Guarded())

    func started(_ pid: pid_t) {
        guarded.withLock { value in
            value.state = .running(pid)
            if value.pending { kill(-pid, SIGKILL) }
        }
    }

    /// Kills the group if it runs; `reason` nil (cancellation) records none.
    func stop(because reason: ExtractorCommand.Ending?) {
        guarded.withLock { value in
            switch value.state {
            case .finished: return
            case .starting: value.pending = true
            case .running(let pid): kill(-pid, SIGKILL)
            }
            if value.reason == nil { value.reason = reason }
        }
    }

    /// The child was reaped; returns why it was killed, if it was.
    func finished() -> ExtractorCommand.Ending? {
        guarded.withLock { value in
            value.state = .finished
            return value.reason
        }
    }
}
