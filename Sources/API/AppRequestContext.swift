import Foundation
import Hummingbird
import NIOCore
import Shared

/// The request context of every route: the caller's identity (``Identity``, hummingbird-auth's
/// `AuthRequestContext`) and address, and this API's JSON conventions (strict bodies, RFC 3339
/// timestamps with milliseconds, in UTC).
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var identity: Identity?
    let remoteAddress: SocketAddress?
    /// The HTTP connection the request came on, for waits that end when its client goes
    /// (``ClientDepartures``).
    let connection: ObjectIdentifier

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.connection = ObjectIdentifier(source.channel)
    }

    /// The limit of bodies whose type does not set its own (``LimitedRequestBody``).
    var maxUploadSize: Int { BodyLimit.default }

    /// `request.decode(as:context:)` with the API's strictness (``StrictJSONDecoder``).
    var requestDecoder: StrictJSONDecoder { StrictJSONDecoder() }
    var responseEncoder: JSONEncoder { JSONCoding.encoder() }

    /// The team of a team-authenticated request.
    var team: TeamIdentity? {
        if case .team(let team) = identity { return team }
        return nil
    }

    var isAdmin: Bool {
        if case .admin = identity { return true }
        return false
    }

    /// The caller's address without its port, for aggregating failed authentications.
    var sourceAddress: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}
