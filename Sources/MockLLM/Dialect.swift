/// Which provider's wire format a route speaks: the error bodies, the request-id header and the
/// names of things differ between OpenAI and Anthropic.
enum Dialect: Sendable {
    case openAI
    case anthropic
}
