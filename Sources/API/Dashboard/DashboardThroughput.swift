import Foundation
import Postgres

/// Jobs ended per second over the last ten minutes, in 10-second buckets, from PostgreSQL (every
/// API process sees the same numbers, whichever worker ended the jobs).
///
/// One bounded read: the jobs whose `completed_at` falls in the 60 complete buckets before the
/// current one, newest first, at most `cap` of them (index `jobs_completed_at`, 0019). Past the
/// cap the oldest buckets are undercounted, and the chart says so.
struct DashboardThroughput: Sendable {
    static let bucketSeconds = 10
    static let buckets = 60

    let postgres: PostgresClient
    /// The most ended jobs one read counts: 200 jobs/s sustained over the ten minutes.
    var cap = 120_000

    struct Reading: Sendable, Equatable {
        /// Jobs ended in each bucket, oldest first (`buckets` of them).
        var counts: [Int]
        /// True when the read stopped at `cap`.
        var capped: Bool
    }

    func read() async throws -> Reading {
        let rows = try await postgres.query(
            """
            WITH edge AS (SELECT to_timestamp(floor(extract(epoch FROM now()) / \(Self.bucketSeconds)) * \(Self.bucketSeconds)) AS t)
            SELECT floor(extract(epoch FROM (edge.t - recent.completed_at)) / \(Self.bucketSeconds))::int AS ago, count(*)::int AS n
            FROM edge, LATERAL (
                SELECT completed_at FROM jobs
                WHERE completed_at >= edge.t - make_interval(secs => \(Self.bucketSeconds * Self.buckets)) AND completed_at < edge.t
                ORDER BY completed_at DESC
                LIMIT $1
            ) recent
            GROUP BY 1
            """,
            [.int(cap)]
        )
        var counts = [Int](repeating: 0, count: Self.buckets)
        var total = 0
        for row in rows {
            let ago = try row.decode("ago", as: Int.self)
            let n = try row.decode("n", as: Int.self)
            total += n
            guard (0..<Self.buckets).contains(ago) else { continue }
            counts[Self.buckets - 1 - ago] = n
        }
        return Reading(counts: counts, capped: total >= cap)
    }
}

/// The chart as the template draws it: one `<rect>` per bucket in a 600×120 SVG, heights scaled
/// to the busiest bucket. Computed here so the template only places numbers.
struct ThroughputChart: Sendable {
    struct Bar: Sendable {
        var x: Int
        var y: Int
        var width: Int
        var height: Int
        /// The bar's tooltip: "1.3 jobs/s, 4 min ago".
        var label: String
    }

    static let width = 600
    static let height = 120

    var bars: [Bar]
    var peak: String
    var latest: String
    var total: Int
    /// "1 job ended", "42 jobs ended".
    var totalText: String
    /// False when no job ended in the ten minutes: the template says so instead of a flat chart.
    var ended: Bool
    var capped: Bool

    init(_ reading: DashboardThroughput.Reading) {
        let seconds = Double(DashboardThroughput.bucketSeconds)
        let count = max(reading.counts.count, 1)
        let slot = Self.width / count
        let highest = max(reading.counts.max() ?? 0, 1)
        bars = reading.counts.enumerated().map { index, n in
            let height = n == 0 ? 0 : max(1, Int((Double(n) / Double(highest) * Double(Self.height - 4)).rounded()))
            let ago = (count - index) * DashboardThroughput.bucketSeconds
            return Bar(
                x: index * slot,
                y: Self.height - height,
                width: max(slot - 2, 1),
                height: height,
                label: "\(DashboardFormat.rate(Double(n) / seconds)) jobs/s, \(DashboardFormat.ago(seconds: Double(ago))) ago"
            )
        }
        peak = DashboardFormat.rate(Double(reading.counts.max() ?? 0) / seconds)
        latest = DashboardFormat.rate(Double(reading.counts.last ?? 0) / seconds)
        total = reading.counts.reduce(0, +)
        ended = total > 0
        totalText = "\(DashboardFormat.number(total)) \(total == 1 ? "job" : "jobs") ended"
        capped = reading.capped
    }
}
