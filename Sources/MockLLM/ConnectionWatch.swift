import Hummingbird

/// Ends calls held by the `timeout` mode when their client leaves.
///
/// A held call must end when the client gives up, or a benchmark of timeouts would pile up
/// thousands of sleeping calls (and `in_flight` would lie). Hummingbird sees the client leave only
/// while something reads the connection, which `consumeWithCancellationOnInboundClose` does; it
/// must wrap the handler from the start (it feeds the body to it), and it closes the connection
/// after the answer. So it is used only while the mode is `timeout`: every LLM answer given in that
/// mode carries `Connection: close`, and a call whose client left is counted with status 499
/// ("client closed request", as nginx names it).
enum ConnectionWatch {
    static let clientClosedRequest = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")

    static func answer(
        _ request: Request,
        state: MockState,
        _ handler: (RequestBody) async -> Response
    ) async -> Response {
        guard state.behaviour.current.mode == .timeout else {
            return await handler(request.body)
        }
        do {
            var response = try await request.body.consumeWithCancellationOnInboundClose { body in
                await handler(body)
            }
            response.headers[.connection] = "close"
            return response
        } catch {
            // the client left: nobody reads this answer, only the counters see it
            return Response(status: clientClosedRequest, headers: [.connection: "close"])
        }
    }
}
