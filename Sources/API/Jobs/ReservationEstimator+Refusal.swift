import Shared

extension ReservationEstimator {
    /// The estimate, or the 422 that says why no model of the group can take the document.
    func estimate(_ work: JobWork, group: ModelGroup) throws(APIError) -> (Billing.Estimate, callsPlanned: Int) {
        switch estimate(work, group: group, document: nil) {
        case .success(let found): return (found.estimate, found.callsPlanned)
        case .failure(let refusal): throw .documentRefused(refusal.sentence)
        }
    }
}
