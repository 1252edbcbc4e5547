/// What every page's template gets: the layout's parts (title, navigation, the sign-out form's
/// CSRF token, the flash message) around the page's own `body`.
struct DashboardPage<Body> {
    struct NavItem {
        var label: String
        var href: String
        var current: Bool
    }

    var title: String
    var nav: [NavItem]
    var csrf: String
    var flash: DashboardFlash?
    var signedIn: Bool
    /// Seconds after which the browser reloads the page (the overview's `<meta http-equiv>`:
    /// fresh numbers without JavaScript); nil for pages with forms.
    var refreshSeconds: Int?
    var body: Body

    /// The sections of the navigation, in order; `section` is the current one.
    static func nav(current section: DashboardSection?) -> [NavItem] {
        DashboardSection.allCases.map { NavItem(label: $0.label, href: $0.path, current: $0 == section) }
    }

    init(_ section: DashboardSection?, title: String, session: DashboardSession?, refreshSeconds: Int? = nil, body: Body) {
        self.title = title
        self.nav = session == nil ? [] : Self.nav(current: section)
        self.csrf = session?.csrf ?? ""
        self.flash = session?.flash
        self.signedIn = session != nil
        self.refreshSeconds = refreshSeconds
        self.body = body
    }
}

/// The dashboard's page groups, as the navigation lists them.
enum DashboardSection: CaseIterable, Sendable {
    case overview, teams, jobs, workers, providers, audit

    var label: String {
        switch self {
        case .overview: return "Overview"
        case .teams: return "Teams"
        case .jobs: return "Jobs"
        case .workers: return "Workers"
        case .providers: return "Providers"
        case .audit: return "Audit"
        }
    }

    var path: String {
        switch self {
        case .overview: return "/admin"
        case .teams: return "/admin/teams"
        case .jobs: return "/admin/jobs"
        case .workers: return "/admin/workers"
        case .providers: return "/admin/providers"
        case .audit: return "/admin/audit"
        }
    }
}
