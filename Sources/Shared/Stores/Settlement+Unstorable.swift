extension Settlement {
    /// This delivery as it settles when PostgreSQL refused what it carried: the job fails with
    /// a fixed message, and its calls are recorded with their numbers but none of their text.
    /// Nothing from outside is left in it, so it settles (and the job ends) instead of being
    /// delivered again, paying the upstream again, forever.
    public func unstorable(because error: any Error) -> Settlement {
        var settlement = self
        settlement.outcome = .failed(code: .upstreamError, message: "The upstream's answer could not be stored")
        settlement.calls = calls.map { call in
            var call = call
            call.error = call.error == nil ? nil : "the call's error text could not be stored"
            call.upstreamRequestID = nil
            return call
        }
        return settlement
    }
}
