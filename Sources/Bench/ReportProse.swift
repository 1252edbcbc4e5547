import DocumentFixtures

/// Prose for generated documents: a company report's sentences, their names and figures drawn
/// from a generator seeded with the page number, so every page reads differently (a map call has
/// something to summarise, a finding can be traced to its page) and page N is the same text in a
/// 200-page document and in a 16,000-page one.
enum ReportProse {
    /// Page `number` (1-based): a heading and paragraphs of five sentences, one paragraph per
    /// line, at most `bytes` UTF-8 bytes (ASCII only, so what a PDF's WinAnsi font shows as is).
    static func page(_ number: Int, bytes: Int) -> String {
        var random = SplitMix64(seed: UInt64(number))
        var text = "Page \(number). \(random.pick(sections))"
        var sentences = 0
        while true {
            let sentence = Self.sentence(&random)
            let separator = sentences % 5 == 0 ? "\n" : " "
            guard text.utf8.count + separator.utf8.count + sentence.utf8.count <= bytes else { return text }
            text += separator + sentence
            sentences += 1
        }
    }

    private static func sentence(_ random: inout SplitMix64) -> String {
        let percent = random.next(in: 1...40)
        let other = random.next(in: 1...40)
        let millions = random.next(in: 2...900)
        switch random.next(in: 0...9) {
        case 0:
            return "Revenue in the \(random.pick(regions)) region rose \(percent) percent to \(millions) million euros "
                + "in the \(random.pick(quarters)) quarter."
        case 1:
            return "Operating costs at the \(random.pick(sites)) site fell by \(percent) percent after the new "
                + "\(random.pick(systems)) came online."
        case 2:
            return "The board approved a capital budget of \(millions) million euros for \(random.pick(projects)), "
                + "to be spent over \(random.next(in: 2...7)) years."
        case 3:
            return "Headcount in \(random.pick(departments)) reached \(random.next(in: 20...4000)) people, "
                + "\(percent) percent more than a year earlier."
        case 4:
            return "Risks include \(random.pick(risks)), which management rates as \(random.pick(levels)) for the coming year."
        case 5:
            return "Customer churn in the \(random.pick(segments)) segment was \(percent) percent, against a target of \(other) percent."
        case 6:
            return "Supplier \(random.pick(suppliers)) delivered \(95 - percent) percent of orders on time, "
                + "below the contractual \(96 + other % 4) percent."
        case 7:
            return "Inventory turnover improved to \(random.next(in: 3...19)) times a year as the \(random.pick(sites)) "
                + "warehouse adopted the new \(random.pick(systems))."
        case 8:
            let findings = random.next(in: 2...30)
            return "The audit committee noted \(findings) findings in \(random.pick(departments)), of which "
                + "\(random.next(in: 0...findings)) were closed by the end of the \(random.pick(quarters)) quarter."
        default:
            return "Cash from operations was \(millions) million euros, leaving net debt at \(random.next(in: 10...3000)) million euros."
        }
    }

    private static let sections = [
        "Financial review", "Operations", "Risk report", "Outlook", "Governance", "Customers and markets",
        "Supply chain", "People", "Investments", "Sustainability",
    ]
    private static let regions = ["Nordic", "Iberian", "Central European", "Baltic", "Alpine", "Benelux", "North American", "Pacific"]
    private static let quarters = ["first", "second", "third", "fourth"]
    private static let sites = ["Rotterdam", "Lyon", "Gdansk", "Porto", "Tampere", "Graz", "Leipzig", "Bilbao"]
    private static let systems = ["planning system", "sorting line", "billing platform", "logistics centre", "data warehouse"]
    private static let projects = ["the Lyon plant expansion", "a new distribution hub", "the fleet renewal", "the ERP migration"]
    private static let departments = ["engineering", "sales", "customer service", "procurement", "finance", "logistics"]
    private static let risks = [
        "currency movements", "the renegotiation of two supplier contracts", "rising energy prices",
        "a pending tax audit", "staff turnover in engineering", "new packaging regulation",
    ]
    private static let levels = ["low", "moderate", "elevated", "high"]
    private static let segments = ["retail", "small business", "enterprise", "public sector"]
    private static let suppliers = ["Alvar Metals", "Brennan Freight", "Castell Plastics", "Dunmore Chemicals", "Eskola Paper"]
}

extension SplitMix64 {
    fileprivate mutating func pick(_ choices: [String]) -> String {
        choices[next(in: 0...(choices.count - 1))]
    }
}
