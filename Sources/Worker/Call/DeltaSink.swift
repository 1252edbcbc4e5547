/// Where a streaming call's text goes as it arrives from the upstream: the worker appends each
/// delta to the call's Redis stream, from which every API process relays it as server-sent events.
///
/// A sink is told only text the tenant may read (cleaned of what PostgreSQL cannot store), in
/// order, once per non-empty delta. It must not throw back into the call: a stream that cannot be
/// written loses its live view, never the call or its billing (the result is settled anyway).
protocol DeltaSink: Sendable {
    func delta(_ text: String) async
    /// The call is being made again from the start (a retry before any output reached the sink
    /// needs no reset; a redelivery after a worker died does): readers discard what they had.
    func reset() async
}
