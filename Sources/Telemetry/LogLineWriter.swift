import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole log lines to a file descriptor: one `write` per line (more only when the kernel
/// takes part of it), under one lock per process so that concurrent lines never interleave even
/// when a write is partial.
enum LogLineWriter {
    private static let lock = Mutex<Void>(())

    /// `line` must end with its newline.
    static func write(_ line: [UInt8], to descriptor: Int32) {
        line.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            lock.withLock { _ in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(descriptor, base + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return  // a closed stream: the line is lost, as swift-log's own handler loses it
                    }
                }
            }
        }
    }

    private static func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(descriptor, pointer, count)
        #else
        Darwin.write(descriptor, pointer, count)
        #endif
    }
}

extension JSONLogHandler.Stream {
    /// Standard output is descriptor 1, standard error 2.
    var descriptor: Int32 { self == .standardOutput ? 1 : 2 }
}
