/// The hostile mode's settings: `{"seed": 42, "kinds": ["ok", "trickle", …], "exclude": […]}` in
/// `PUT /_mock/behaviour`'s `"hostile"` field (`null` turns the mode off). `kinds` defaults to the
/// whole catalogue; `exclude` takes kinds out of it (a run that must keep an upstream talking
/// leaves out the answers that tell a client to wait for hours).
///
/// Call `n` (counted from 1 since the behaviour last changed, over both dialects) gets the kind the
/// `n`-th output of `SplitMix64(seed)` picks from `kinds`. SplitMix64's state advances by a constant,
/// so the `n`-th output is computed from the counter alone: no generator state to share between
/// concurrent calls, and the same seed gives the same sequence in any process.
struct HostileSettings: Sendable, Equatable, Decodable {
    var seed: UInt64
    /// What to draw from, in catalogue order; every kind by default. A subset narrows a run to the
    /// answers under study (one kind makes a reproducer).
    var kinds: [HostileKind]

    init(seed: UInt64, kinds: [HostileKind] = HostileKind.allCases) {
        self.seed = seed
        self.kinds = kinds
    }

    /// The kind of call `callNumber` (1-based).
    func kind(forCall callNumber: Int) -> HostileKind {
        guard !self.kinds.isEmpty else { return .ok }
        // the generator's state after `callNumber - 1` steps, then one step: its callNumber-th output
        let steps = UInt64(truncatingIfNeeded: max(callNumber, 1) - 1)
        var generator = SplitMix64(seed: self.seed &+ steps &* 0x9E37_79B9_7F4A_7C15)
        return self.kinds[Int(generator.next() % UInt64(self.kinds.count))]
    }

    /// The JSON form; `kinds` only when it is not the whole catalogue.
    func write(into writer: inout JSONWriter) {
        writer.raw("{\"seed\":")
        writer.raw(String(self.seed))
        if self.kinds != HostileKind.allCases {
            writer.raw(",\"kinds\":[")
            for (index, kind) in self.kinds.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(kind.rawValue)
            }
            writer.raw("]")
        }
        writer.raw("}")
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seed, kinds, exclude
    }

    /// Refuses unknown fields, unknown kind names and an empty list, naming them: a misspelt kind
    /// silently dropped would make a run study something else than intended.
    init(from decoder: any Decoder) throws {
        let names = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = names.first(where: { CodingKeys(rawValue: $0) == nil }) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "unknown field 'hostile.\(unknown)'; the fields are seed, kinds, exclude"
                )
            )
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let seed = try? container.decode(UInt64.self, forKey: .seed) else {
            throw DecodingError.dataCorruptedError(
                forKey: .seed,
                in: container,
                debugDescription: "hostile.seed must be an integer from 0 to \(UInt64.max)"
            )
        }
        self.seed = seed
        let kinds = try Self.kinds(.kinds, in: container) ?? HostileKind.allCases
        let excluded = try Self.kinds(.exclude, in: container) ?? []
        // catalogue order, so that the same set draws the same sequence however it was listed
        self.kinds = HostileKind.allCases.filter { kinds.contains($0) && !excluded.contains($0) }
        guard !self.kinds.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .kinds, in: container, debugDescription: "hostile mode needs at least one kind")
        }
    }

    /// The kinds a list names; nil when the list is absent.
    private static func kinds(_ key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>) throws -> [HostileKind]? {
        guard let names = try container.decodeIfPresent([String].self, forKey: key) else { return nil }
        return try names.map { name in
            guard let kind = HostileKind(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key,
                    in: container,
                    debugDescription: "unknown kind '\(name)'; the kinds are \(HostileKind.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return kind
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
