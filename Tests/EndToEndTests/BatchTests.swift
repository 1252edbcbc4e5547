import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Testing

extension EndToEnd {
    @Test("a batch of 200 jobs: one request, every job runs and settles, the ledger adds up")
    func batchCompletes() async throws {
        let mock = try await MockUpstream(name: "mock-batch")
        let worker = try await ManagedProcess.worker("worker-batch")
        defer {
            Task {
                await worker.stop()
                await mock.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 1_000)
            let jobs = (0..<200).map { index in
                #"{"team_id":"\#(team.teamID)","job_type":"document_analysis","model":"\#(team.group)","messages":[{"role":"user","content":"Summarise item \#(index)."}]}"#
            }
            let body = #"{"jobs":[\#(jobs.joined(separator: ","))]}"#
            let (status, answer) = try await client.execute(
                uri: "/api/jobs/batch",
                method: .post,
                headers: [.authorization: "Bearer \(team.key)", Fixture.idempotency: "e2e-batch-\(UUID().uuidString)"],
                body: ByteBuffer(string: body)
            ) { response in
                (response.status, (try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]) ?? [:])
            }
            #expect(status == .accepted)
            let entries = answer["jobs"] as? [[String: Any]] ?? []
            #expect(entries.count == 200)
            let ids = entries.compactMap { $0["job_id"] as? String }
            #expect(ids.count == 200, "\(entries.filter { $0["error"] != nil }.prefix(3))")

            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(120))
            let rows = try await postgres.query(
                "SELECT status, count(*) AS n, sum(credits_charged) AS charged FROM jobs WHERE team_id = $1 GROUP BY status",
                [.text(team.teamID)]
            )
            let byStatus = Dictionary(
                uniqueKeysWithValues: try rows.map { (try $0.decode("status", as: String.self), try $0.decode("n", as: Int.self)) }
            )
            #expect(byStatus == ["completed": 200], "\(byStatus)")
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_used"] as? Int == 200)
            #expect(balance["credits_reserved"] as? Int == 0)
            #expect(balance["credits_remaining"] as? Int == 800)
        }
        try await Fixture.checkLedger(postgres)
    }
}
